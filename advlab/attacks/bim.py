"""Basic iterative method, iterative FGSM (Kurakin, Goodfellow & Bengio, 2017).

FGSM takes one step of size ``eps``. BIM takes ``steps`` smaller steps of size
``alpha`` and, after each one, projects back onto the set of allowed images:
the L∞ ball of radius ``eps`` around ``x``, intersected with [0, 1]. It starts
at ``x`` itself, so it is deterministic. PGD (:mod:`advlab.attacks.pgd`) is the
same loop started from a random point of the ball; :func:`bim` is
:func:`~advlab.attacks.pgd.pgd` with ``norm="inf"`` and ``random_start=False``.
"""

from __future__ import annotations

from torch import Tensor, nn

from ._common import Loss
from .pgd import pgd
from .registry import register

__all__ = ["bim"]


@register(norm="inf", title="BIM")
def bim(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    alpha: float | None = None,
    steps: int = 10,
    targeted: bool = False,
    loss: Loss = "ce",
) -> Tensor:
    """Take iterated FGSM steps of size ``alpha``, each projected onto the L∞ ball and [0, 1].

    Threat model: white box, L∞. The attacker knows the model and its gradients
    and may change every pixel by at most ``eps`` (pixel units, images in
    [0, 1]). Starting from ``x``, each step is
    ``x' = clip(x' + alpha * sign(∇ objective), x - eps, x + eps) ∩ [0, 1]``;
    untargeted it increases the loss of the true label, targeted it decreases
    the loss of the target. The last iterate is returned.

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
        (untargeted only) the model's predictions are used (no label leaking).
    eps:
        L∞ budget in pixel units (0 returns ``x``).
    alpha:
        Step size in pixel units. A step longer than ``eps`` is cut back to the
        radius by the projection (BIM starts at ``x``). Default
        ``min(eps, 2.5 * eps / steps)``. (Kurakin et al. used ``1/255`` with
        ``min(255 * eps + 4, 1.25 * 255 * eps)`` steps.)
    steps:
        Number of gradient steps (forward and backward passes), at least 1.
    targeted:
        Move towards the classes in ``y``. Every target must differ from the
        model's prediction on the clean image.
    loss:
        ``"ce"`` (cross-entropy on logits) or ``"margin"`` (Carlini–Wagner logit margin).

    Returns
    -------
    Tensor
        Adversarial images, detached, same shape, dtype and device as ``x``;
        ``|x_adv - x| <= eps`` per pixel and ``0 <= x_adv <= 1``.

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps`` or ``alpha``, ``steps < 1``, an
        unknown ``loss``, a ``targeted`` that is not a boolean, bad images or
        labels, a model whose output is not (N, K) float logits, inference
        mode, or (targeted) a target the model already predicts.
    """
    return pgd(
        model,
        x,
        y,
        eps=eps,
        alpha=alpha,
        steps=steps,
        norm="inf",
        random_start=False,
        targeted=targeted,
        loss=loss,
    )
