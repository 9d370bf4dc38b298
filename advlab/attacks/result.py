"""One result contract for every attack: the images, or a result object that extends one base.

Gradient attacks (FGSM, BIM, PGD, CW, SPSA) return the adversarial images as a
tensor. Attacks that report more than the images (JSMA, the one-pixel attack
and its random-pixels control) return a dataclass that extends
:class:`AttackResult`, so code that drives any attack reads the same four
fields from each: ``x_adv``, ``success``, ``labels`` and ``targeted``.
:func:`adversarial_images` reads the images from either kind of return value.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .._validate import ArgumentError, ArgumentTypeError

__all__ = ["AttackResult", "adversarial_images"]


@dataclass
class AttackResult:
    """What every attack result holds, whatever else its attack reports.

    Attributes
    ----------
    x_adv:
        The adversarial images (N, C, H, W) in [0, 1], detached, on the input's
        device and dtype.
    success:
        (N,) bool: with ``targeted``, the model predicts ``labels`` on ``x_adv``;
        without, it no longer predicts ``labels`` (the true classes).
    labels:
        (N,) int64: the labels the attack worked with, true classes or targets.
    targeted:
        Whether ``labels`` are targets.
    """

    x_adv: Tensor
    success: Tensor
    labels: Tensor
    targeted: bool


def adversarial_images(out: object, x: Tensor | None = None) -> Tensor:
    """Return the adversarial images of an attack's output: a tensor, or a result's ``x_adv``.

    Parameters
    ----------
    out:
        What an attack returned: a tensor of images, or an :class:`AttackResult`
        (or any object with an ``x_adv`` tensor).
    x:
        The images the attack was given. When passed, the images returned must
        have its shape and lie on its device (one adversarial image per input).

    Returns
    -------
    Tensor
        The adversarial images, as returned (not copied).

    Raises
    ------
    ArgumentTypeError
        If ``out`` is neither a tensor nor a result with an ``x_adv`` tensor.
    ArgumentError
        If ``x`` is given and the images do not match its shape or device.
    """
    x_adv = out.x_adv if isinstance(out, AttackResult) else getattr(out, "x_adv", out)
    if not isinstance(x_adv, Tensor):
        raise ArgumentTypeError(
            "the attack must return a tensor of images or a result with x_adv, got "
            f"{type(out).__name__}"
        )
    if x is not None and (x_adv.shape != x.shape or x_adv.device != x.device):
        raise ArgumentError(
            "the attack must return one adversarial image per input image, shaped like its "
            f"input {tuple(x.shape)} on {x.device}; it returned {tuple(x_adv.shape)} on "
            f"{x_adv.device}"
        )
    return x_adv
