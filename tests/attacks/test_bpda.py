"""advlab.attacks.bpda: the straight-through estimator keeps the forward pass; BPDA beats plain
PGD on the quantised model."""

from __future__ import annotations

import torch
from conftest import accuracy, images

from advlab.attacks import BPDA, bpda, pgd
from advlab.defenses import quantize, quantized

# --- BPDA ----------------------------------------------------------------------------------------


def test_bpda_keeps_the_forward_pass_and_uses_the_approximation_backwards() -> None:
    layer = BPDA(lambda t: quantize(t, 1))
    x = images().requires_grad_(True)
    out = layer(x)
    assert torch.equal(out, quantize(x.detach(), 1))
    (grad,) = torch.autograd.grad((out * 3).sum(), x)
    assert torch.equal(grad, torch.full_like(x, 3.0))  # the identity's derivative
    square = BPDA(lambda t: quantize(t, 1), backward_fn=lambda t: t * t)
    (grad,) = torch.autograd.grad(square(x).sum(), x)
    assert torch.allclose(grad, 2 * x.detach())


def test_bpda_beats_plain_pgd_on_the_quantised_model(digits, digits_model) -> None:
    x, y = digits.x_test[:120], digits.y_test[:120]
    defended = quantized(digits_model, 2)
    wrapped = bpda(defended)
    assert torch.equal(wrapped(x), defended(x))  # same forward: its adversarials are defended's
    plain = accuracy(defended, pgd(defended, x, y, eps=0.2, steps=10, seed=0), y)
    broken = accuracy(defended, pgd(wrapped, x, y, eps=0.2, steps=10, seed=0), y)
    assert plain > 0.8  # the gradient is zero: PGD is only noise
    assert broken < plain - 0.5, (plain, broken)
