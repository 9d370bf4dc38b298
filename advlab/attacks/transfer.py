"""Transfer attacks: craft adversarial examples on a model you own, use them on one you do not.

Threat model: black box, no queries at all while crafting. The attacker has
data of its own, trains a *substitute* on it, runs any white-box attack of
advlab against the substitute, and submits the result to the target. Many
adversarial examples transfer between models trained on similar data
(Szegedy et al., 2014; Papernot, McDaniel & Goodfellow, 2016), which is why a
model that merely hides its gradient (:mod:`advlab.defenses.masking`) is not
protected.

The attacker's data must not be the defender's: :func:`disjoint_split` cuts a
training set into stratified, disjoint parts, and the zoo recipe ``"split"``
(``TrainConfig(recipe="split", extra={"part": 1, "parts": 2})``) trains a
model on one part only, with any other recipe inside, so the book trains its
defended models on part 0 and the attacker's substitute on part 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_flag,
    check_images,
    check_labels,
    check_logits,
    check_seed,
)
from ..data import Dataset
from ..zoo import TrainConfig, register_recipe
from .registry import attack_info
from .result import adversarial_images

__all__ = ["TransferResult", "disjoint_split", "transfer_attack"]


def disjoint_split(y: Tensor, parts: int = 2, *, seed: int = 0) -> list[Tensor]:
    """Split indices ``0..len(y)-1`` into ``parts`` disjoint sets with the same class mix.

    Each class's indices are shuffled (generator seeded with ``seed``) and
    dealt round-robin, so the parts differ in size by at most one image per class.

    Parameters
    ----------
    y:
        Integer labels (N,).
    parts:
        Number of parts, at least 2.
    seed:
        Seed of the shuffle.

    Returns
    -------
    list[Tensor]
        ``parts`` sorted int64 index tensors that together cover every index once.

    Raises
    ------
    ValueError
        If ``y`` is not a 1-D integer tensor, ``parts < 2`` or ``parts > len(y)``.
    """
    if not isinstance(y, Tensor) or y.ndim != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise ArgumentError("y must be a 1-D tensor of integer class labels")
    parts = check_count(parts, "parts", minimum=2)
    if parts > max(len(y), 2):
        raise ArgumentError(f"parts must be at most the number of labels ({len(y)}), got {parts}")
    gen = torch.Generator().manual_seed(check_seed(seed))
    y = y.cpu()
    chosen: list[list[Tensor]] = [[] for _ in range(parts)]
    for label in torch.unique(y).tolist():
        idx = (y == label).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        for p in range(parts):
            chosen[p].append(idx[p::parts])
    return [torch.sort(torch.cat(c)).values for c in chosen]


def _split_recipe(
    model: nn.Module, data: Dataset, cfg: TrainConfig, device: torch.device, progress: bool
) -> None:
    """Any recipe, on one part of the training set.

    ``extra``: ``part`` (default 0), ``parts`` (default 2), ``split_seed``
    (default 0), and optionally ``recipe`` (default ``"standard"``) with its own
    ``recipe_extra``: e.g. ``{"part": 0, "recipe": "distillation",
    "recipe_extra": {"temperature": 100}}`` distils on the defender's half.
    """
    from ..zoo import RECIPES

    known = {"part", "parts", "split_seed", "recipe", "recipe_extra"}
    if set(cfg.extra) - known:
        raise ArgumentError(
            f"the 'split' recipe takes extra keys {sorted(known)}, got {sorted(cfg.extra)}"
        )
    parts = int(cfg.extra.get("parts", 2))
    part = int(cfg.extra.get("part", 0))
    if not 0 <= part < parts:
        raise ArgumentError(f"split recipe: part must be in 0..{parts - 1}, got {part}")
    inner = str(cfg.extra.get("recipe", "standard"))
    if inner == "split" or inner not in RECIPES:
        raise ArgumentError(f"split recipe: unknown inner recipe {inner!r}; known: {list(RECIPES)}")
    idx = disjoint_split(data.y_train, parts, seed=int(cfg.extra.get("split_seed", 0)))[part]
    half = replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx])
    inner_cfg = replace(cfg, recipe=inner, extra=dict(cfg.extra.get("recipe_extra", {})))
    RECIPES[inner](model, half, inner_cfg, device, progress)


register_recipe("split", _split_recipe)


@dataclass
class TransferResult:
    """What a transfer attack produced and how it fared.

    Attributes
    ----------
    x_adv:
        Adversarial images crafted on the substitute (N, C, H, W).
    success:
        Per image: the target misclassifies ``x_adv`` (untargeted), or predicts
        the target class (targeted).
    substitute_success:
        The same on the substitute, the model the attack actually saw.
    clean_correct:
        Per image: the target classifies the clean image correctly
        (untargeted; all True when targeted).
    queries:
        Forward passes of the target, counted per image: two (the clean image
        and ``x_adv``), both to measure the result; crafting made none.
    """

    x_adv: Tensor
    success: Tensor
    substitute_success: Tensor
    clean_correct: Tensor
    queries: int

    @property
    def success_rate(self) -> float:
        """Fraction of the images the target got right that the transferred attack fools."""
        n = int(self.clean_correct.sum())
        return float((self.success & self.clean_correct).sum()) / n if n else float("nan")

    @property
    def substitute_success_rate(self) -> float:
        """Fraction of all images on which the attack fooled the substitute."""
        return float(self.substitute_success.float().mean())


def transfer_attack(
    target: nn.Module,
    substitute: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    attack: str | Callable[..., Any] = "pgd",
    targeted: bool = False,
    **attack_kwargs: Any,
) -> TransferResult:
    """Attack ``substitute`` with any advlab attack and evaluate the result on ``target``.

    Threat model: black box (transfer). ``target`` is only evaluated, once per
    image, after crafting; its gradients and scores are never used.

    Parameters
    ----------
    target:
        The model under attack (any module whose arg-max is its prediction,
        e.g. a :class:`~advlab.defenses.masking.LabelOnly` model).
    substitute:
        The attacker's own differentiable classifier (logits), same classes.
    x:
        Images, float (N, C, H, W) in [0, 1], on both models' device.
    y:
        True labels (N,), or the targets with ``targeted=True``. Required: the
        attacker must not learn labels from the target.
    attack:
        A registered attack's name (``"pgd"``, ``"fgsm"``, ...) or the function itself.
    targeted:
        Passed to the attack.
    **attack_kwargs:
        The attack's own arguments, e.g. ``eps=0.1, steps=20, seed=0``.

    Returns
    -------
    TransferResult

    Raises
    ------
    TypeError
        If ``target`` or ``substitute`` is not an ``nn.Module``.
    ValueError
        For an unknown attack, bad images or labels, or whatever the attack
        itself rejects.
    """
    for name, m in (("target", target), ("substitute", substitute)):
        if not isinstance(m, nn.Module):
            raise ArgumentTypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")
    info = attack_info(attack)
    check_images(substitute, x, "substitute")
    check_images(target, x, "target")  # the target sees the same images
    y = check_labels(y, x)
    if targeted and not info.targeted:
        raise ArgumentError(f"attack {info.name!r} has no targeted mode; use targeted=False")
    if info.targeted:
        attack_kwargs["targeted"] = targeted
    out = info.fn(substitute, x, y, **attack_kwargs)
    x_adv = adversarial_images(out)
    targeted = check_flag(targeted, "targeted")
    if not isinstance(x_adv, Tensor) or x_adv.shape != x.shape:
        raise ArgumentError(f"attack {info.name!r} did not return images of x's shape")
    with torch.no_grad(), frozen_eval(substitute):
        sub_pred = check_logits(substitute(x_adv), len(x)).argmax(dim=1)
    with torch.no_grad(), frozen_eval(target):
        clean_pred = check_logits(target(x), len(x)).argmax(dim=1)
        adv_pred = check_logits(target(x_adv), len(x)).argmax(dim=1)
    if targeted:
        success, sub_success = adv_pred == y, sub_pred == y
        clean_correct = torch.ones_like(success)
    else:
        success, sub_success = adv_pred != y, sub_pred != y
        clean_correct = clean_pred == y
    return TransferResult(x_adv.detach(), success, sub_success, clean_correct, 2 * len(x))
