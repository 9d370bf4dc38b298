"""Fast gradient sign method (Goodfellow, Shlens & Szegedy, 2015)."""

from __future__ import annotations

from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import check_eps, check_flag, check_images, check_loss
from ._common import Loss, input_gradient, prepare_labels
from .registry import register

__all__ = ["fgsm"]


@register(norm="inf", title="FGSM")
def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    eps: float,
    targeted: bool = False,
    loss: Loss = "ce",
) -> Tensor:
    """One step of size ``eps`` along the sign of the input gradient (an L∞ attack).

    Threat model: white box. The attacker knows the model and its gradients and
    may change every pixel by at most ``eps`` (pixel units, images in [0, 1]);
    the result is clipped back into [0, 1].

    Untargeted (default), the step *increases* the loss of the true label ``y``:
    ``x + eps * sign(∇x loss(x, y))``. Targeted, ``y`` holds the target classes and
    the step *decreases* their loss: ``x - eps * sign(∇x loss(x, y))``.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]. It is attacked in eval
        mode with frozen parameters; its own mode and ``requires_grad`` flags are
        restored afterwards, so a model handed over in train mode comes back in
        train mode.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device. Not modified.
    y:
        True labels (N,) — or targets when ``targeted=True``. If omitted
        (untargeted only) the model's own predictions are used. Prefer passing the
        true labels for evaluation; using predictions avoids *label leaking* (the
        true label leaking into adversarial training through the perturbation,
        Kurakin et al. 2017) and lets you attack unlabelled images.
    eps:
        L∞ budget in pixel units (0 returns ``x``; values above 1, which already
        reach every image, act as 1).
    targeted:
        Move towards the classes in ``y`` instead of away from them. Every target
        must differ from the model's prediction on the clean image.
    loss:
        ``"ce"`` (cross-entropy on logits) or ``"margin"`` (Carlini–Wagner logit margin).

    Returns
    -------
    Tensor
        Adversarial images, detached, same shape, dtype and device as ``x``.
        Pixels whose gradient is NaN do not move (see
        :func:`~advlab.attacks._common.safe_gradient`), so the result is never NaN.

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps``, an unknown ``loss``, a ``targeted``
        that is not a boolean, images that are not float (N, C, H, W) in [0, 1]
        on the model's device and dtype, labels of the wrong shape or type, a
        model whose output is not (N, K) float logits, inference mode, or
        (targeted) a target the model already predicts.
    """
    eps = min(check_eps(eps), 1.0)  # a step of 1 already reaches every image in [0, 1]
    targeted = check_flag(targeted, "targeted")
    check_loss(loss)
    check_images(model, x)
    with frozen_eval(model):
        y = prepare_labels(model, x, y, targeted=targeted)
        grad, _ = input_gradient(model, x, y, loss=loss, targeted=targeted)
    return (x.detach() + eps * grad.sign()).clamp_(0.0, 1.0)
