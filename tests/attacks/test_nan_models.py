"""A diverged model (NaN logits) is an error for every attack that reads its output (issue 18, item 1).

Before, ``fgsm``, ``bim``, ``pgd`` and ``cw_l2`` returned images for such a model
(``x`` itself, or a step along a zeroed gradient), JSMA said the images were
"already classified as their target" (``argmax`` of NaN is 0), and the label
oracle of a transfer attack answered class 0 for every image.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import advlab
from advlab.attacks import ATTACKS, LabelOracle


def nan_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))
    return model.eval()


X, Y = torch.rand(3, 1, 4, 4), torch.tensor([0, 1, 2])

# one cheap call per registered attack; random_noise never reads the model's output
CALLS: dict[str, Callable[[nn.Module], object]] = {
    "fgsm": lambda m: advlab.fgsm(m, X, Y, eps=0.1),
    "bim": lambda m: advlab.bim(m, X, Y, eps=0.1, steps=2),
    "pgd": lambda m: advlab.pgd(m, X, Y, eps=0.1, steps=2, seed=0),
    "cw_l2": lambda m: advlab.cw_l2(m, X, Y, steps=2, binary_search_steps=1),
    "one_pixel": lambda m: advlab.attacks.one_pixel(m, X, Y, popsize=4, generations=1, seed=0),
    "random_pixels": lambda m: advlab.attacks.random_pixels(
        m, X, Y, popsize=4, generations=1, seed=0
    ),
    "jsma": lambda m: advlab.attacks.jsma(m, X, (Y + 1) % 3),
    "spsa": lambda m: advlab.attacks.spsa(m, X, Y, eps=0.1, steps=1, samples=2, seed=0),
    "apgd": lambda m: advlab.apgd(m, X, Y, eps=0.1, steps=2, seed=0),
    "square": lambda m: advlab.square(m, X, Y, eps=0.1, steps=2, seed=0),
}
# attacks outside the registry's table: the decision-based attack (L2, its own result)
CALLS_UNREGISTERED: dict[str, Callable[[nn.Module], object]] = {
    "hop_skip_jump": lambda m: advlab.attacks.hop_skip_jump(m, X, Y, steps=1, seed=0),
}
LABEL_BLIND = {"random_noise"}


def test_every_registered_attack_has_a_nan_case() -> None:
    assert set(ATTACKS) == set(CALLS) | LABEL_BLIND


@pytest.mark.parametrize("name", sorted(CALLS | CALLS_UNREGISTERED))
def test_an_attack_on_a_nan_model_is_an_error(name: str) -> None:
    with pytest.raises(advlab.ArgumentError, match="NaN or infinite logits"):
        (CALLS | CALLS_UNREGISTERED)[name](nan_model())


def test_untargeted_labels_from_a_nan_model_are_an_error() -> None:
    with pytest.raises(advlab.ArgumentError, match="NaN or infinite logits"):
        advlab.fgsm(nan_model(), X, None, eps=0.1)


def test_the_label_oracle_of_a_nan_target_is_an_error() -> None:
    with pytest.raises(advlab.ArgumentError, match="the target returned NaN or infinite logits"):
        LabelOracle(nan_model())(X)


def test_spsa_checks_the_label_range_at_eps_zero() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    with pytest.raises(advlab.ArgumentError, match=r"class indices in \[0, 2\]"):
        advlab.attacks.spsa(model, X, torch.tensor([0, 1, 7]), eps=0.0)
