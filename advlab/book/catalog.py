"""The book's defended models, in one catalogue, so Part III can put every one of them to the test.

Each :class:`DefenseSpec` says how to obtain one defended model from a
dataset: a zoo recipe (trained once, then cached) or a wrapper around the
undefended model (:mod:`advlab.defenses.masking`). :func:`build_defenses`
builds all of them (or those named) on the *defender's half* of the training
set, so that the attacker's own half (``TrainConfig(recipe="split",
extra={"part": 1})``) stays disjoint from everything the defender saw.

New defenses join the comparison of chapter 6 with :func:`register_defense`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from .._validate import ArgumentError, ArgumentTypeError
from ..data import Dataset
from ..defenses.masking import LabelOnly, quantized
from ..zoo import TrainConfig, pretrained

__all__ = [
    "DEFENSES",
    "DefenseSpec",
    "attacker_config",
    "build_defenses",
    "defender_config",
    "register_defense",
]

Kind = Literal["baseline", "training", "masking"]


@dataclass(frozen=True)
class DefenseSpec:
    """One defense of the book.

    Attributes
    ----------
    name:
        Key, e.g. ``"label_only"``.
    title:
        How tables and figures name it.
    kind:
        ``"baseline"`` (no defense), ``"training"`` (changes the weights) or
        ``"masking"`` (hides the gradient of an unchanged model).
    recipe, extra:
        For ``"baseline"``/``"training"``: the zoo recipe and its ``extra`` settings.
    wrap:
        For ``"masking"``: ``wrap(undefended_model) -> defended model``.
    """

    name: str
    title: str
    kind: Kind
    recipe: str = "standard"
    extra: dict[str, Any] | None = None
    wrap: Callable[[nn.Module], nn.Module] | None = None


_DEFENSES: dict[str, DefenseSpec] = {}
#: The registered defenses, in registration order.
DEFENSES = _DEFENSES


def register_defense(spec: DefenseSpec) -> DefenseSpec:
    """Add ``spec`` to :data:`DEFENSES` (replacing one of the same name); returns it."""
    if not isinstance(spec, DefenseSpec):
        raise ArgumentTypeError(f"register_defense takes a DefenseSpec, got {type(spec).__name__}")
    if spec.kind == "masking" and spec.wrap is None:
        raise ArgumentError(f"masking defense {spec.name!r} needs wrap=")
    _DEFENSES[spec.name] = spec
    return spec


def defender_config(
    dataset: str,
    epochs: int,
    recipe: str = "standard",
    extra: dict[str, Any] | None = None,
    *,
    seed: int = 0,
) -> TrainConfig:
    """Return the zoo config of ``recipe`` trained on the defender's half (0 of 2) of ``dataset``.

    Raises
    ------
    TypeError
        If ``recipe`` is not a string or ``extra`` not a dict.
    ValueError
        For what :class:`~advlab.zoo.TrainConfig` refuses (dataset, epochs).
    """
    if not isinstance(recipe, str) or not recipe:
        raise ArgumentTypeError(f"recipe must be a recipe name, got {recipe!r}")
    if extra is not None and not isinstance(extra, dict):
        raise ArgumentTypeError(
            f"extra must be a dict of the recipe's settings, got {type(extra).__name__}"
        )
    inner = {"recipe": recipe, "recipe_extra": dict(extra or {})} if recipe != "standard" else {}
    return TrainConfig(
        dataset=dataset,
        epochs=epochs,
        seed=seed,
        recipe="split",
        extra={"part": 0, "parts": 2, **inner},
    )


def attacker_config(dataset: str, epochs: int, seed: int = 0) -> TrainConfig:
    """Return the zoo config of the attacker's own model: standard training on part 1 of 2."""
    return TrainConfig(
        dataset=dataset, epochs=epochs, seed=seed, recipe="split", extra={"part": 1, "parts": 2}
    )


register_defense(DefenseSpec("none", "none", "baseline"))
register_defense(
    DefenseSpec(
        "adv_fgsm",
        "FGSM adv. training",
        "training",
        "adversarial",
        {"method": "fgsm", "eps": 0.1, "clean_weight": 0.5, "labels": "true"},
    )
)
register_defense(
    DefenseSpec(
        "adv_pgd",
        "PGD adv. training",
        "training",
        "adversarial",
        {
            "method": "pgd",
            "eps": 0.1,
            "clean_weight": 0.0,
            "steps": 7,
            "step_size": 2.5 * 0.1 / 7,
            "labels": "true",
        },
    )
)
register_defense(
    DefenseSpec(
        "distillation", "distillation (T=100)", "training", "distillation", {"temperature": 100.0}
    )
)
register_defense(DefenseSpec("label_only", "label-only output", "masking", wrap=LabelOnly))
register_defense(
    DefenseSpec("quantized", "2-bit input quantisation", "masking", wrap=lambda m: quantized(m, 2))
)


def build_defenses(
    data: Dataset,
    *,
    epochs: int,
    names: Sequence[str] | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
    seed: int = 0,
) -> dict[str, nn.Module]:
    """Every registered defense (or those in ``names``), trained on the defender's half of ``data``.

    Trained models come from :func:`advlab.zoo.pretrained` (cached); masking
    defenses wrap the undefended model. ``seed`` is every trained model's training
    seed (the chapters pass ``ADVLAB_SEED``). Returns title → model, in eval mode.

    Raises
    ------
    ValueError
        For an unknown name or ``epochs < 1``.
    """
    if not isinstance(data, Dataset):
        raise ArgumentTypeError(
            f"data must be an advlab Dataset (load_dataset(...)), got {type(data).__name__}"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ArgumentError(f"epochs must be an integer >= 1, got {epochs!r}")
    if names is not None and (isinstance(names, str) or not isinstance(names, Sequence)):
        raise ArgumentTypeError("names must be a list of registered defense names")
    chosen = list(_DEFENSES) if names is None else list(names)
    for n in chosen:
        if n not in _DEFENSES:
            raise ArgumentError(f"unknown defense {n!r}; registered: {', '.join(_DEFENSES)}")
    trained: dict[tuple[str, str], nn.Module] = {}

    def model_for(recipe: str, extra: dict[str, Any] | None) -> nn.Module:
        key = (recipe, repr(sorted((extra or {}).items())))
        if key not in trained:
            cfg = defender_config(data.name, epochs, recipe, extra, seed=seed)
            trained[key] = pretrained(cfg, data=data, device=device, progress=progress).model
        return trained[key]

    out: dict[str, nn.Module] = {}
    for n in chosen:
        spec = _DEFENSES[n]
        if spec.kind == "masking":
            assert spec.wrap is not None
            out[spec.title] = spec.wrap(model_for("standard", None)).eval()
        else:
            out[spec.title] = model_for(spec.recipe, spec.extra)
    return out
