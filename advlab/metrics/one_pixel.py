"""The one-pixel paper's four metrics (Su, Vargas and Sakurai), from :class:`OnePixelResult` objects.

1. :func:`success_rate`: the fraction of attacked images (non-targeted) or of
   (image, target) pairs (targeted) where the attack succeeded.
2. :func:`adversarial_probability_label`: the mean probability of the
   adversarial class over the successful cases (how confident the fooled model is).
3. :func:`target_class_counts`: from a targeted run against every other class,
   how many images can be turned into 0, 1, ..., K - 1 other classes.
4. :func:`class_pair_counts`: original → adversarial class counts of the
   successful cases (the paper's heat-maps); :func:`class_pair_success`
   divides by the attempts per pair.

Plus :func:`adversarial_class_counts`, the distribution of successes over the
adversarial classes, and :func:`all_targets`, which builds the every-target
batch that metric 3 needs. Every function checks its input and raises
``ValueError`` for a result of the wrong kind.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._validate import ArgumentError, check_count, check_label_range, check_labels
from ..attacks.one_pixel import OnePixelResult

__all__ = [
    "adversarial_class_counts",
    "adversarial_probability_label",
    "all_targets",
    "class_pair_counts",
    "class_pair_success",
    "one_pixel_summary",
    "success_rate",
    "target_class_counts",
]


def _check(result: object) -> OnePixelResult:
    if not isinstance(result, OnePixelResult):
        raise ArgumentError(
            f"expected a OnePixelResult (from one_pixel), got {type(result).__name__}"
        )
    if len(result) == 0:
        raise ArgumentError("the result holds no images")
    return result


def _sources(result: OnePixelResult) -> Tensor:
    """Return each case's source class: true label (non-targeted) or original prediction."""
    return result.original if result.targeted else result.labels


def success_rate(result: OnePixelResult) -> float:
    """Fraction of cases (images, or image-target pairs) where the attack succeeded."""
    r = _check(result)
    return float(r.success.float().mean())


def adversarial_probability_label(result: OnePixelResult) -> float:
    """Mean probability of the adversarial (predicted) class over the successful cases; NaN if none."""
    r = _check(result)
    if not bool(r.success.any()):
        return math.nan
    return float(r.adversarial_probability[r.success].double().mean())


def all_targets(x: Tensor, original: Tensor, num_classes: int) -> tuple[Tensor, Tensor, Tensor]:
    """Every image paired with every class other than its ``original`` one, for metric 3.

    Returns ``(x_rep, targets, image_ids)``: ``num_classes - 1`` rows per image,
    ``image_ids[r]`` the index into ``x`` of row ``r``. Attack ``x_rep`` with
    ``one_pixel(..., targeted=True)`` and ``targets`` in one batched call.

    Raises
    ------
    ValueError
        If ``x`` is not a (N, C, H, W) tensor, ``original`` not N integer classes in
        [0, num_classes) on x's device, or ``num_classes`` not an integer >= 2.
    """
    num_classes = check_count(num_classes, "num_classes", minimum=2)
    if not isinstance(x, Tensor) or x.ndim != 4:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ArgumentError(f"x must be a (N, C, H, W) tensor of images, got {got}")
    original = check_labels(original, x, what="original")
    check_label_range(original, num_classes, what="original")
    n = x.shape[0]
    offsets = torch.arange(1, num_classes, device=original.device)
    targets = (original[:, None] + offsets[None, :]) % num_classes  # (n, K - 1)
    image_ids = torch.arange(n, device=original.device).repeat_interleave(num_classes - 1)
    return x[image_ids], targets.flatten(), image_ids


def target_class_counts(result: OnePixelResult, image_ids: Tensor) -> Tensor:
    """How many images reach exactly 0, 1, ..., K - 1 target classes: an int64 (K,) tensor.

    ``result`` must come from a targeted run, ``image_ids`` saying which
    image each row is (as :func:`all_targets` returns).

    Raises
    ------
    ValueError
        For a result that is not targeted, or ``image_ids`` that are not one
        non-negative integer per case.
    """
    r = _check(result)
    if not r.targeted:
        raise ArgumentError("target_class_counts needs a targeted result (see all_targets)")
    if (
        not isinstance(image_ids, Tensor)
        or image_ids.is_floating_point()
        or image_ids.is_complex()
        or image_ids.dtype == torch.bool
        or image_ids.shape != r.success.shape
    ):
        raise ArgumentError(
            f"image_ids must be an integer tensor with one entry per case, shape "
            f"{tuple(r.success.shape)} (as all_targets returns)"
        )
    if int(image_ids.min()) < 0:
        raise ArgumentError("image_ids must hold non-negative image indices")
    k = r.probs.shape[1]
    ids = image_ids.to(r.success.device).long()
    per_image = torch.zeros(int(ids.max()) + 1, dtype=torch.long, device=ids.device)
    per_image.index_add_(0, ids, r.success.long())
    present = torch.zeros_like(per_image, dtype=torch.bool)
    present[ids] = True
    return torch.bincount(per_image[present], minlength=k)[:k].cpu()


def class_pair_counts(result: OnePixelResult) -> Tensor:
    """(K, K) int64: entry [s, a] counts successful cases from class ``s`` to adversarial class ``a``."""
    r = _check(result)
    k = r.probs.shape[1]
    src, adv = _sources(r)[r.success], r.predicted[r.success]
    return torch.bincount(src * k + adv, minlength=k * k).view(k, k).cpu()


def class_pair_success(result: OnePixelResult) -> Tensor:
    """(K, K) float64 success rate per (original, target) pair of a targeted run; NaN if untried."""
    r = _check(result)
    if not r.targeted:
        raise ArgumentError("class_pair_success needs a targeted result; use class_pair_counts")
    k = r.probs.shape[1]
    key = r.original * k + r.labels
    tried = torch.bincount(key, minlength=k * k).double()
    hit = torch.bincount(key[r.success], minlength=k * k).double()
    rate = torch.where(tried > 0, hit / tried.clamp_min(1), torch.full_like(tried, math.nan))
    return rate.view(k, k).cpu()


def adversarial_class_counts(result: OnePixelResult) -> Tensor:
    """(K,) int64: how many successful cases ended in each adversarial class."""
    r = _check(result)
    k = r.probs.shape[1]
    return torch.bincount(r.predicted[r.success], minlength=k).cpu()


def one_pixel_summary(result: OnePixelResult) -> dict[str, float]:
    """Success rate, adversarial probability label, mean and max queries, mean pixels changed."""
    r = _check(result)
    return {
        "success_rate": success_rate(r),
        "adversarial_probability": adversarial_probability_label(r),
        "mean_queries": float(r.queries.double().mean()),
        "max_queries": int(r.queries.max()),
        "mean_pixels_changed": float(r.pixels_changed.double().mean()),
        "cases": len(r),
    }
