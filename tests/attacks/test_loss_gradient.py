"""advlab.attacks.loss_gradient: the objective each attack ascends, and its input gradient."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advlab.attacks import loss_gradient


def linear(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()


def test_the_margin_gradient_of_a_linear_model_is_a_difference_of_weight_rows() -> None:
    model = linear()
    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1])
    value, grad = loss_gradient(model, x, y, loss="margin")
    w = model[1].weight.detach()
    logits = model(x).detach()
    other = logits.scatter(1, y[:, None], float("-inf")).argmax(1)  # the best other class
    assert torch.allclose(
        value, logits.gather(1, other[:, None])[:, 0] - logits[torch.arange(5), y]
    )
    expected = (w[other] - w[y]).reshape(5, 1, 4, 4)
    assert torch.allclose(grad, expected, atol=1e-6)


def test_the_ce_value_is_the_cross_entropy_and_targeted_flips_its_sign() -> None:
    model = linear(2)
    x = torch.rand(4, 1, 4, 4, generator=torch.Generator().manual_seed(3))
    y = torch.tensor([2, 0, 1, 1])
    value, grad = loss_gradient(model, x, y)
    assert torch.allclose(value, F.cross_entropy(model(x), y, reduction="none").detach())
    t_value, t_grad = loss_gradient(model, x, y, targeted=True)
    assert torch.allclose(t_value, -value) and torch.allclose(t_grad, -grad)
    # each image's gradient does not depend on the batch it travels in
    _, alone = loss_gradient(model, x[:1], y[:1])
    assert torch.allclose(alone, grad[:1])


def test_bad_input_gets_clear_errors() -> None:
    model = linear()
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="loss"):
        loss_gradient(model, x, torch.tensor([0, 1]), loss="hinge")
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        loss_gradient(lambda v: v, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        loss_gradient(model, x, torch.tensor([0, 7]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        loss_gradient(model, x + 2, torch.tensor([0, 1]))
