"""Robustness metrics: accuracy under attack, margins, the smallest budget that fools, success by class pair.

Every function here takes images in [0, 1] (N, C, H, W) on the model's device
and measures budgets in pixel units, like the attacks. The model is run in eval
mode (its mode is restored) and without gradients.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_budgets,
    check_count,
    check_flag,
    check_images,
    check_label_range,
    check_labels,
    check_norm,
)
from ..attacks.registry import attack_info
from ..attacks.result import adversarial_images
from ..train import predict
from ._predictions import labelled_predictions

__all__ = ["first_success", "margin_at", "robust_accuracy", "robust_mask", "success_matrix"]


def margin_at(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Compute the logit margin ``z_y(x) - max_{j != y} z_j(x)`` of each image.

    Positive exactly when the model classifies the image as ``y`` (ties aside);
    its size is how far, in logits, the image is from being misclassified.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    x:
        Images (N, C, H, W) in [0, 1] on the model's device.
    y:
        Labels (N,), integer class indices on x's device.

    Returns
    -------
    Tensor
        Margins (N,), float, detached, on x's device.

    Raises
    ------
    ValueError
        For images outside [0, 1] or of the wrong shape, device or dtype, labels of
        the wrong shape or dtype, or labels outside the model's classes.
    """
    check_images(model, x)
    y = check_labels(y, x)
    z = predict(model, x)
    check_label_range(y, z.shape[1])
    if z.shape[1] < 2:
        raise ArgumentError("a margin needs a model with at least two classes")
    true = z.gather(1, y[:, None]).squeeze(1)
    best_other = z.scatter(1, y[:, None], -math.inf).amax(dim=1)
    return (true - best_other).detach()


def robust_accuracy(
    model: nn.Module,
    attack: Callable[..., Any] | str,
    x: Tensor,
    y: Tensor,
    **kwargs: Any,
) -> float:
    """Accuracy of ``model`` on ``attack(model, x, y, **kwargs)``: the robust accuracy at that budget.

    The attack is untargeted (it tries to move each image away from its true
    label ``y``); an image counts as robust if the model still predicts ``y`` on
    its adversarial version. ``robust_accuracy(model, pgd, x, y, eps=0.1)`` is
    the accuracy under PGD within the L∞ ball of radius 0.1 (pixel units).
    It is the mean of :func:`robust_mask`, which keeps the per-image outcome
    (what :mod:`advlab.stats` needs for intervals and paired tests).

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    attack:
        An attack with advlab's call shape, or its registry name (``"pgd"``).
        It may return the adversarial images or a result with ``x_adv``.
    x, y:
        Images (N, C, H, W) in [0, 1] on the model's device, and their true labels (N,).
    **kwargs:
        Passed to the attack (``eps=``, ``steps=``, ``seed=`` ...).

    Returns
    -------
    float
        The fraction of images classified correctly after the attack, in [0, 1].

    Raises
    ------
    ValueError
        For bad images or labels, an unknown attack name, or ``targeted=True``
        (robust accuracy is an untargeted measure); the attack's own errors pass through.
    TypeError
        If ``attack`` is not callable or returns neither a tensor nor a result with ``x_adv``.
        A ``ValueError`` if what it returns is not shaped like ``x``.
    """
    return float(robust_mask(model, attack, x, y, **kwargs).float().mean())


def robust_mask(
    model: nn.Module,
    attack: Callable[..., Any] | str,
    x: Tensor,
    y: Tensor,
    **kwargs: Any,
) -> Tensor:
    """Say per image whether ``model`` still classifies ``attack(model, x, y, **kwargs)`` as ``y``.

    The same measurement as :func:`robust_accuracy` (same arguments, same checks and
    errors), kept per image: a boolean tensor (N,) on ``x``'s device, True where the
    image resisted. Two masks on the same images feed
    :func:`advlab.stats.paired_test`; one feeds :func:`advlab.stats.rate_of`.
    """
    if isinstance(attack, str):
        attack = attack_info(attack).fn
    if not callable(attack):
        raise ArgumentTypeError(
            f"attack must be an attack function or its name, got {type(attack)}"
        )
    # untargeted by definition: targeted=False is accepted and not passed on (label-blind
    # attacks such as random_noise take no targeted argument)
    if check_flag(kwargs.pop("targeted", False), "targeted"):
        raise ArgumentError("robust_accuracy measures untargeted attacks; drop targeted=True")
    check_images(model, x)
    y = check_labels(y, x)
    x_adv = adversarial_images(attack(model, x, y, **kwargs), x)
    return labelled_predictions(model, x_adv, y) == y


def first_success(
    model: nn.Module,
    attack: Callable[[Tensor, Tensor, float], Any],
    x: Tensor,
    y: Tensor,
    budgets: Sequence[float],
    *,
    norm: str | float = 2,
) -> tuple[Tensor, Tensor]:
    """Per image, the first budget in ``budgets`` at which ``attack`` fools the model.

    The budgets are tried in order; each is run only on the images not fooled
    yet, so a grid of 40 budgets costs much less than 40 full attacks once most
    images have fallen. With an increasing grid this is, per image, the smallest
    budget of the grid that succeeds (for attacks whose success grows with the budget).

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    attack:
        ``attack(x, y, budget)`` → adversarial images (or a result with ``x_adv``),
        e.g. ``lambda x, y, e: pgd(model, x, y, eps=e, steps=10, seed=0)``.
    x, y:
        Images (N, C, H, W) in [0, 1] on the model's device, and their true labels (N,).
    budgets:
        The budgets to try, in order (pixel units of the attack's norm).
    norm:
        The norm in which to report the size of the successful perturbation:
        ``2`` (default) or ``"inf"``.

    Returns
    -------
    (size, budget)
        Two float tensors (N,) on the CPU: the norm of the perturbation found at
        the first successful budget, and that budget; NaN where no budget fooled
        the model.

    Raises
    ------
    ValueError
        For bad images or labels, an empty or non-finite or negative ``budgets``,
        an unknown ``norm``, or an attack whose images are not shaped like its input.
    TypeError
        If ``attack`` is not callable or returns neither a tensor nor a result with ``x_adv``.
    """
    check_images(model, x)
    y = check_labels(y, x)
    if not callable(attack):
        raise ArgumentTypeError(
            "attack must be a function attack(x, y, budget) -> adversarial images"
        )
    grid = check_budgets(budgets, "budgets")
    p = check_norm(norm)
    size = torch.full((len(x),), float("nan"))
    found = torch.full((len(x),), float("nan"))
    for b in grid:
        todo = torch.where(size.isnan())[0]  # images not fooled yet
        if len(todo) == 0:
            break
        idx = todo.to(x.device)
        x_adv = adversarial_images(attack(x[idx], y[idx], b), x[idx])
        fooled = (labelled_predictions(model, x_adv, y[idx]) != y[idx]).cpu()
        delta = (x_adv - x[idx]).flatten(1)
        norms = (delta.abs().amax(dim=1) if p == "inf" else delta.norm(dim=1)).detach().cpu()
        size[todo[fooled]] = norms[fooled].float()
        found[todo[fooled]] = b
    return size, found


def success_matrix(
    model: nn.Module,
    x_adv: Tensor,
    sources: Tensor,
    targets: Tensor,
    num_classes: int | None = None,
) -> np.ndarray:
    """Targeted success by class pair: ``[s, t]`` is the fraction of attempts s → t that reached t.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    x_adv:
        The adversarial images of every attempt (N, C, H, W), on the model's device.
    sources:
        The true class of each attempt's clean image (N,).
    targets:
        The class each attempt aimed at (N,).
    num_classes:
        Size of the matrix, an integer from 1 to the model's number of logits
        (the default).

    Returns
    -------
    numpy.ndarray
        A (K, K) float array; NaN where no attempt was made (e.g. the diagonal).

    Raises
    ------
    ValueError
        For bad images, ``sources``/``targets`` of the wrong shape or dtype,
        classes outside ``[0, num_classes)``, or a ``num_classes`` that is not an
        integer from 1 to the model's number of logits.
    """
    check_images(model, x_adv)
    s = check_labels(sources, x_adv, "sources")
    t = check_labels(targets, x_adv, "targets")
    logits = predict(model, x_adv)
    pred, model_k = logits.argmax(dim=1), int(logits.shape[1])
    k = model_k if num_classes is None else check_count(num_classes, "num_classes")
    if k > model_k:
        raise ArgumentError(
            f"num_classes={k} exceeds the model's {model_k} classes; leave it None for a "
            f"{model_k} x {model_k} matrix"
        )
    check_label_range(s, k, "sources")
    check_label_range(t, k, "targets")
    hit = (pred == t).double().cpu().numpy()
    s_np, t_np = s.cpu().numpy(), t.cpu().numpy()
    total, count = np.zeros((k, k)), np.zeros((k, k))
    np.add.at(total, (s_np, t_np), hit)
    np.add.at(count, (s_np, t_np), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
