"""advlab.attacks.spsa: the attack contract for SPSA and random noise, and SPSA without gradients."""

from __future__ import annotations

import pytest
import torch
from conftest import accuracy, images, tiny_conv

import advlab
from advlab.attacks import ATTACKS, random_noise, spsa

# --- SPSA and random noise: the attack contract --------------------------------------------------


NEW_ATTACKS = {
    "spsa": lambda m, x, y=None, **kw: spsa(
        m, x, y, **{"eps": 0.1, "steps": 3, "samples": 4, "seed": 0, **kw}
    ),
    "random_noise": lambda m, x, y=None, **kw: random_noise(
        m, x, y, **{"eps": 0.1, "seed": 0, **kw}
    ),
}


@pytest.mark.parametrize("name", list(NEW_ATTACKS))
def test_new_attacks_are_pure_bounded_and_deterministic(name: str) -> None:
    attack = NEW_ATTACKS[name]
    model = tiny_conv()
    model.train()
    buffers = [b.clone() for b in model.buffers()]
    x = images()
    x_before = x.clone()
    x_adv = attack(model, x)
    assert torch.equal(x, x_before) and model.training
    assert all(p.requires_grad for p in model.parameters())
    assert all(map(torch.equal, model.buffers(), buffers)), "ran in train mode"
    assert x_adv.shape == x.shape and not x_adv.requires_grad and not torch.equal(x_adv, x)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert torch.equal(attack(model, x), x_adv)
    assert not torch.equal(attack(model, x, seed=1), x_adv)
    assert torch.equal(attack(model, x, eps=0.0), x)
    assert attack(model.double(), x.double()).dtype == torch.float64
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        attack(model.float(), x * 2)
    with pytest.raises(ValueError, match="pass either generator= or seed="):
        attack(model, x, generator=torch.Generator())
    assert ATTACKS[name].fn is (spsa if name == "spsa" else random_noise)


def test_spsa_lowers_accuracy_without_gradients(digits, digits_model) -> None:
    x, y = digits.x_test[:60], digits.y_test[:60]
    x_adv = spsa(digits_model, x, y, eps=0.2, steps=10, samples=8, seed=0)
    noise = random_noise(digits_model, x, y, eps=0.2, seed=0)
    assert accuracy(digits_model, x_adv, y) < accuracy(digits_model, noise, y) - 0.4
    targets = (y + 1) % 10
    hit = spsa(digits_model, x, targets, eps=0.3, steps=10, samples=8, seed=0, targeted=True)
    assert float((advlab.predict(digits_model, hit).argmax(1) == targets).float().mean()) > 0.3


# --- issue 18 item 3: labels beyond the model's classes get a clear error -------------------------


def test_spsa_refuses_labels_beyond_the_model() -> None:
    model, x = tiny_conv(num_classes=3), images(4)
    y = torch.tensor([0, 1, 2, 5])
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        spsa(model, x, y, eps=0.05, steps=1, samples=2, seed=0)
