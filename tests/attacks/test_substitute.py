"""advlab.attacks.substitute: Papernot's substitute from label queries; query counts are exact."""

from __future__ import annotations

import pytest
import torch
from conftest import accuracy
from torch import Tensor, nn

from advlab.attacks import (
    LabelOracle,
    disjoint_split,
    jacobian_augment,
    random_noise,
    train_substitute,
    transfer_attack,
)
from advlab.defenses import LabelOnly


class Counting(nn.Module):
    """Counts every image that goes through the wrapped model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.seen = 0

    def forward(self, x: Tensor) -> Tensor:
        self.seen += len(x)
        return self.model(x)


@pytest.mark.parametrize("rounds", [1, 3])
def test_substitute_query_counts_are_exact(digits, split_models, rounds: int) -> None:
    target, _ = split_models
    counted = Counting(LabelOnly(target))
    seed = digits.x_train[disjoint_split(digits.y_train, 2)[1][:30]]
    result = train_substitute(counted, seed, rounds=rounds, lam=0.1, epochs=2)
    assert result.queries == 30 * 2 ** (rounds - 1)
    assert counted.seen == result.queries + 1  # + the one pass that reads the output width
    # each round labels only its new points: the set doubles, and so do the cumulative queries
    assert result.set_sizes == result.queries_per_round == [30 * 2**r for r in range(rounds)]
    assert len(result.x_train) == len(result.y_train) == result.queries
    # the labels it trained on are the target's
    assert torch.equal(result.y_train, target(result.x_train).argmax(1))


def test_label_oracle_counts_and_jacobian_augmentation_moves_by_lam(digits, split_models) -> None:
    target, substitute = split_models
    oracle = LabelOracle(target, batch_size=7)
    x = digits.x_test[:20]
    labels = oracle(x)
    assert oracle.queries == 20 and torch.equal(labels, target(x).argmax(1))
    new = jacobian_augment(substitute, x, labels, 0.1)
    step = (new - x).abs()
    inside = (x > 0.1) & (x < 0.9)  # no clipping there
    assert torch.allclose(step[inside], torch.full_like(step[inside], 0.1), atol=1e-6)


def test_substitute_from_label_queries_learns_and_transfers(digits, split_models) -> None:
    target, _ = split_models
    masked = LabelOnly(target)
    seed = digits.x_train[disjoint_split(digits.y_train, 2)[1][:100]]
    x, y = digits.x_test, digits.y_test
    result = train_substitute(masked, seed, rounds=3, lam=0.1, epochs=5, x_eval=x, y_eval=y)
    assert result.agreement[-1] > 0.6 and result.accuracy[-1] > 0.6
    transfer = transfer_attack(masked, result.substitute, x, y, eps=0.2, steps=10, seed=0)
    noise = 1 - accuracy(masked, random_noise(masked, x, y, eps=0.2, seed=0), y) / accuracy(
        masked, x, y
    )
    assert transfer.success_rate > noise + 0.2, (transfer.success_rate, noise)
