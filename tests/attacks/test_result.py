"""advlab.attacks.result: the one result contract (AttackResult) and adversarial_images."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_conv

from advlab import attacks
from advlab._validate import ArgumentError, ArgumentTypeError
from advlab.attacks import AttackResult, adversarial_images


def test_result_attacks_extend_the_one_base() -> None:
    model = tiny_conv().eval()
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        pred = model(x).argmax(1)
    y, target = pred, (pred + 1) % 3
    for out in (
        attacks.jsma(model, x, target),
        attacks.one_pixel(model, x, y, pixels=1, popsize=8, generations=2, seed=0),
        attacks.random_pixels(model, x, y, pixels=1, popsize=8, generations=2, seed=0),
    ):
        assert isinstance(out, AttackResult)
        assert out.x_adv.shape == x.shape and out.success.shape == (len(x),)
        assert out.labels.shape == (len(x),) and isinstance(out.targeted, bool)
        assert adversarial_images(out, x) is out.x_adv
    res = attacks.jsma(model, x, target)
    assert res.targeted is True and torch.equal(res.labels, target)


def test_adversarial_images_reads_tensors_and_refuses_the_rest() -> None:
    x = torch.rand(2, 1, 4, 4)
    assert adversarial_images(x, x) is x
    with pytest.raises(ArgumentTypeError, match="x_adv"):
        adversarial_images([x])
    with pytest.raises(ArgumentError, match="one adversarial image per input"):
        adversarial_images(x[:1], x)
