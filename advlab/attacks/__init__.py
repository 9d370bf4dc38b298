"""Attacks. Every one takes ``(model, x, y=None, *, targeted=False, ...)`` and its own budget.

Gradient attacks, in the book's order: :func:`fgsm` (one step), :func:`bim`
(iterated steps), :func:`pgd` (random start, L∞ or L2, restarts), all three
with a budget ``eps`` in pixel units, and :func:`cw_l2` (smallest L2
perturbation; it has no ``eps``). Each returns the adversarial images as a
tensor. Attacks with an L0 budget return a result object with ``x_adv`` and
more: :func:`jsma` (the Jacobian saliency map attack, changing at most a
fraction ``gamma`` of the pixels, :class:`JSMAResult`), the black-box
:func:`one_pixel` (differential evolution over k pixels) and its control
:func:`random_pixels` (:class:`OnePixelResult`). :data:`ATTACKS` (see :mod:`advlab.attacks.registry`) says, for each
attack, its norm, whether it takes ``eps`` and ``steps``, whether it is
randomised and what it returns. See :mod:`advlab.attacks._common` for the
contract they all keep.
"""

from .bim import bim
from .cw import cw_l2
from .fgsm import fgsm
from .jsma import JSMAResult, jsma, saliency_map
from .one_pixel import OnePixelResult, one_pixel, random_pixels
from .pgd import pgd
from .registry import ATTACKS, AttackInfo, attack_info, register

register(AttackInfo("fgsm", fgsm, "inf", True, False, False, title="FGSM"))
register(AttackInfo("bim", bim, "inf", True, True, False, title="BIM"))
register(AttackInfo("pgd", pgd, "inf", True, True, True, title="PGD"))
register(AttackInfo("cw_l2", cw_l2, "2", False, True, False, title="CW-L2"))
register(
    AttackInfo(
        "one_pixel", one_pixel, "0", False, False, True, returns="result", title="One-pixel (DE)"
    )
)
register(
    AttackInfo(
        "random_pixels",
        random_pixels,
        "0",
        False,
        False,
        True,
        returns="result",
        title="Random pixels",
    )
)
register(AttackInfo("jsma", jsma, "0", False, False, False, returns="result", title="JSMA"))

__all__ = [
    "ATTACKS",
    "AttackInfo",
    "JSMAResult",
    "OnePixelResult",
    "attack_info",
    "bim",
    "cw_l2",
    "fgsm",
    "jsma",
    "one_pixel",
    "pgd",
    "random_pixels",
    "register",
    "saliency_map",
]
