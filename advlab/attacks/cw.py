"""Carlini–Wagner L2 attack (Carlini & Wagner, 2017).

Instead of searching inside a fixed ball, CW looks for the *smallest* L2
perturbation that changes the decision. It minimises

    ||x' - x||² + c · max(Z_y - max_{i≠y} Z_i + κ, 0)        (untargeted)
    ||x' - x||² + c · max(max_{i≠t} Z_i - Z_t + κ, 0)        (targeted at t)

over ``x' = (tanh(w) + 1) / 2``: the change of variables keeps ``x'`` in
[0, 1] without clipping, so Adam can optimise ``w`` freely. ``Z`` are the
logits, ``κ`` (``confidence``) asks for a margin beyond the decision boundary,
and ``c`` trades distance against success; a binary search per image finds
the smallest ``c`` that still succeeds, and the closest success found on the
way is returned.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    check_count,
    check_depends_on_input,
    check_finite_logits,
    check_flag,
    check_images,
    check_label_range,
    check_logits,
    check_real,
)
from ._common import objective, prepare_labels
from .registry import register

__all__ = ["cw_l2"]

#: Pixels at exactly 0 or 1 have w = ±atanh(1) = ±inf; they start this close to the bound instead
#: (or, in low precision, a few units in the last place, see :func:`_tanh_margin`).
_TANH_MARGIN = 1e-6
#: Binary search: an upper bound on c this large (or never found) means "not yet bounded".
#: The constants are kept in float32 whatever the images' dtype, so this never overflows float16.
_NO_UPPER = 1e10


def _tanh_margin(dtype: torch.dtype) -> float:
    """How far inside (-1, 1) the start ``2x - 1`` is pulled: 1e-6, or 4 ulps where that is more."""
    return max(_TANH_MARGIN, 4 * torch.finfo(dtype).eps)


@register(norm="2", title="CW-L2")
def cw_l2(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    targeted: bool = False,
    confidence: float = 0.0,
    c: float = 1.0,
    binary_search_steps: int = 5,
    steps: int = 100,
    lr: float = 0.05,
) -> Tensor:
    """Find the closest (in L2) adversarial image by the Carlini–Wagner optimisation.

    Threat model: white box, L2, *minimum distance*. The attacker knows the
    model's logits and gradients and wants the smallest Euclidean change (pixel
    units, images in [0, 1]) that fools it. There is no ``eps``: the budget is
    what the optimisation finds. Measure it afterwards with
    ``(x_adv - x).flatten(1).norm(dim=1)``; the success rate within a budget
    ``eps`` is the fraction of images fooled at a distance of at most ``eps``.

    Each image has its own constant, starting at ``c`` and refined by binary
    search over ``binary_search_steps`` rounds of ``steps`` Adam steps, each
    round restarting from ``x``: after a round that succeeded the constant moves
    halfway down to the largest value that failed (0 at first); after one that
    failed, halfway up to the smallest value that succeeded, or times 10 while
    none has. Every iterate that succeeds (logit margin at least
    ``confidence``) and is closer than the best so far is kept.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]. It is attacked in eval
        mode with frozen parameters; its mode and ``requires_grad`` flags are
        restored afterwards.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device. Not modified.
    y:
        True labels (N,) — or targets when ``targeted=True``. If omitted
        (untargeted only) the model's predictions are used.
    targeted:
        Reach the classes in ``y``. Every target must differ from the model's
        prediction on the clean image.
    confidence:
        κ >= 0: how far past the decision boundary (in logit units) a success
        must be. 0 finds the closest adversarial; larger values transfer better.
    c:
        Initial weight (> 0) of the classification term against the distance.
        Values above 1e10, the search's own upper bound, are used as 1e10 (the
        squared distance, at most the number of pixels, is already negligible
        beside the classification term at that weight).
    binary_search_steps:
        Rounds of the binary search on ``c``, at least 1.
    steps:
        Adam steps per round, at least 1. Cost: ``binary_search_steps * steps``
        forward and backward passes.
    lr:
        Adam's learning rate on ``w`` (> 0). Adam moves each coordinate of
        ``w`` by about ``lr`` per step only while its gradient is steady. Its
        step ``m̂ / sqrt(v̂)`` follows a change of the gradient with β1 = 0.9 in
        the numerator but only β2 = 0.999 in the denominator, so when a
        coordinate's gradient grows after a stretch of small values, which is
        exactly what happens to a pixel leaving tanh saturation (its gradient
        carries the factor ``1 - tanh(w)²``, about 2e-6 for a pixel starting at
        0 or 1), the step exceeds ``lr``: measured on a gradient jumping from
        1e-6 to 1, at most 1.6 ``lr`` after 50 small steps, 2.1 ``lr`` after 90,
        6.6 ``lr`` after 10,000. "At most about lr per step" is therefore not
        a bound. A pixel at exactly 0 or 1 starts at ``w = ∓7.25`` (float32),
        so with steady gradients ``steps * lr`` of a few units is
        needed before the attack can use such pixels. Carlini and Wagner used
        0.01 with up to 10,000 steps; 0.05 suits the default 100 steps (on the
        digits, where 61% of pixels are 0 or 1: 100% targeted success against
        52% with 0.01, and 25% smaller untargeted perturbations).

    Returns
    -------
    Tensor
        Detached images, same shape, dtype and device as ``x``, in [0, 1]: for
        each image the closest adversarial found, or **x itself, unchanged, where
        the attack failed**. Success is therefore ``model(x_adv).argmax(1) != y``
        (targeted: ``== y``); with ``confidence == 0`` a success can sit exactly
        on the boundary, so check it rather than assume it.

    Raises
    ------
    ValueError
        For a negative or non-finite ``confidence``, ``c`` or ``lr`` not > 0,
        ``binary_search_steps`` or ``steps`` below 1, a ``targeted`` that is not
        a boolean, bad images or labels, a model whose output is not (N, K)
        float logits, inference mode, or (targeted) a target the model already
        predicts.

    Notes
    -----
    Runs in the images' dtype, float16 included; the search over ``c`` is
    kept in float32, and in low precision the tanh start sits a few units in
    the last place inside the bounds (:func:`_tanh_margin`).
    """
    targeted = check_flag(targeted, "targeted")
    confidence = check_real(confidence, "confidence")
    c = check_real(c, "c", positive=True)
    binary_search_steps = check_count(binary_search_steps, "binary_search_steps")
    steps = check_count(steps, "steps")
    lr = check_real(lr, "lr", positive=True)
    check_images(model, x)
    x = x.detach()
    n = x.shape[0]
    with frozen_eval(model), torch.enable_grad():
        y = prepare_labels(model, x, y, targeted=targeted)
        w_start = torch.atanh((2 * x - 1) * (1 - _tanh_margin(x.dtype)))
        # the search over c runs in float32 (at least): 1e10 overflows float16
        cdtype = torch.promote_types(x.dtype, torch.float32)
        # c is capped at _NO_UPPER (1e10) first: a larger float would overflow float32
        const = torch.full((n,), min(c, _NO_UPPER), device=x.device, dtype=cdtype)
        lower = torch.zeros_like(const)
        upper = torch.full_like(const, _NO_UPPER)
        best_dist = torch.full_like(const, float("inf"))
        best = x.clone()
        for round_ in range(binary_search_steps):
            w = w_start.clone()
            adam = _Adam(w, lr=lr)
            succeeded = torch.zeros(n, dtype=torch.bool, device=x.device)
            for step in range(steps):
                w.requires_grad_(True)
                x_new = (torch.tanh(w) + 1) / 2
                logits = model(x_new)
                if round_ == 0 and step == 0:
                    check_finite_logits(check_logits(logits, n))
                    check_depends_on_input(logits)
                    check_label_range(y, logits.shape[1])
                margin = objective(logits, y, loss="margin", targeted=targeted)
                dist_sq = (x_new - x).flatten(1).pow(2).sum(dim=1)
                total = (dist_sq + const * (confidence - margin).clamp_min(0.0)).sum()
                (grad,) = torch.autograd.grad(total, w)
                grad.nan_to_num_(nan=0.0)  # a NaN gradient moves nothing (never a NaN image)
                with torch.no_grad():
                    w = adam.step(w.detach(), grad)
                    # score the iterate just evaluated (before this step's update)
                    x_new, margin, dist_sq = x_new.detach(), margin.detach(), dist_sq.detach()
                    hit = (logits.argmax(dim=1) == y) == targeted
                    success = hit & (margin >= confidence) & x_new.isfinite().flatten(1).all(1)
                    dist = dist_sq.to(cdtype).sqrt()
                    closer = success & (dist < best_dist)
                    best_dist = torch.where(closer, dist, best_dist)
                    best = torch.where(closer[:, None, None, None], x_new, best)
                    succeeded |= success
            with torch.no_grad():
                upper = torch.where(succeeded, torch.minimum(upper, const), upper)
                lower = torch.where(succeeded, lower, torch.maximum(lower, const))
                bounded = upper < _NO_UPPER
                const = torch.where(bounded, (lower + upper) / 2, const * 10).clamp_(max=_NO_UPPER)
    return best.detach()


class _Adam:
    """Adam (Kingma & Ba, 2015) on one tensor, as Carlini and Wagner use it.

    Written out rather than ``torch.optim.Adam``: the update is elementwise, so
    each image's trajectory is independent of the batch it travels in, and it
    avoids the optimizer's start-up cost on the first call.
    """

    def __init__(self, w: Tensor, *, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.lr, (self.beta1, self.beta2) = lr, betas
        self.m = torch.zeros_like(w)
        self.v = torch.zeros_like(w)
        self.t = 0

    def step(self, w: Tensor, grad: Tensor) -> Tensor:
        """Return ``w`` after one step against ``grad`` (``w`` is updated in place)."""
        self.t += 1
        self.m.lerp_(grad, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        correction1 = 1 - self.beta1**self.t
        correction2 = 1 - self.beta2**self.t
        denom = (self.v / correction2).sqrt_().add_(1e-8)
        return w.addcdiv_(self.m, denom, value=-self.lr / correction1)
