"""advlab.attacks.transfer: the disjoint split, and transfer from a substitute succeeds well above
chance against the label-only model."""

from __future__ import annotations

import torch
from conftest import accuracy

from advlab.attacks import disjoint_split, pgd, random_noise, transfer_attack
from advlab.defenses import LabelOnly

# --- transfer and Papernot's substitute ----------------------------------------------------------


def test_disjoint_split_is_a_stratified_partition(digits) -> None:
    parts = disjoint_split(digits.y_train, 3, seed=1)
    together = torch.cat(parts)
    assert len(together) == len(digits.y_train) == len(together.unique())
    for p in parts:
        counts = torch.bincount(digits.y_train[p], minlength=10)
        assert counts.min() >= torch.bincount(digits.y_train).min() // 3
    assert all(
        torch.equal(a, b)
        for a, b in zip(parts, disjoint_split(digits.y_train, 3, seed=1), strict=True)
    )


def test_transfer_from_a_substitute_beats_the_label_only_model(digits, split_models) -> None:
    target, substitute = split_models
    x, y = digits.x_test, digits.y_test
    masked = LabelOnly(target)
    white_box = accuracy(masked, pgd(masked, x, y, eps=0.2, steps=10, seed=0), y)
    result = transfer_attack(masked, substitute, x, y, attack="pgd", eps=0.2, steps=10, seed=0)
    noise = accuracy(masked, random_noise(masked, x, y, eps=0.2, seed=0), y)
    chance = 1 - noise / accuracy(masked, x, y)  # success rate of noise of the same size
    assert result.success_rate > 0.5 and result.success_rate > chance + 0.4, (
        result.success_rate,
        chance,
    )
    assert 1 - accuracy(masked, result.x_adv, y) > 1 - white_box + 0.3  # transfer >> white box
    assert result.queries == 2 * len(x)
    assert result.substitute_success_rate > result.success_rate
