"""The loss every gradient attack ascends, per image, and its input gradient: one public call.

:func:`loss_gradient` is what FGSM, PGD and their family compute at each step
(the objective of :func:`advlab.attacks.pgd`'s ``loss``), for readers and for
checks that need the gradient itself, such as
:func:`advlab.metrics.masking_report`'s "the gradient predicts the loss".
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import Loss, check_flag, check_images, check_labels, check_loss, check_module
from ._common import input_gradient, objective

__all__ = ["loss_gradient"]


def loss_gradient(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    loss: Loss = "ce",
    targeted: bool = False,
) -> tuple[Tensor, Tensor]:
    """Return the attack objective per image and its gradient with respect to ``x``.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1]. Evaluated in eval mode with
        frozen parameters; its mode and flags are restored.
    x:
        Images, float (N, C, H, W) in [0, 1], on the model's device.
    y:
        True labels (N,), or targets with ``targeted=True``.
    loss:
        ``"ce"`` (cross-entropy) or ``"margin"`` (best other logit minus the label's).
    targeted:
        The objective of a targeted attack (towards ``y``) instead.

    Returns
    -------
    (value, grad)
        ``value`` (N,), the objective each attack increases, and ``grad``, shaped like
        ``x``: its input gradient, each image's independent of the batch (the sum over
        images is differentiated). Non-finite gradient entries are made safe as in
        every attack (:func:`~advlab.attacks._common.safe_gradient`).

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    ValueError
        For bad images or labels, an unknown loss, or a model with non-finite outputs.
    """
    check_module(model)
    check_loss(loss)
    check_images(model, x)
    targeted = check_flag(targeted, "targeted")
    y = check_labels(y, x)
    with frozen_eval(model):
        grad, logits = input_gradient(model, x, y, loss=loss, targeted=targeted)
        with torch.no_grad():
            value = objective(logits, y, loss=loss, targeted=targeted)
    return value, grad
