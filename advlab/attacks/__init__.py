"""Attacks. Every one takes ``(model, x, y=None, *, targeted=False, ...)`` and its own budget.

Gradient attacks, in the book's order: :func:`fgsm` (one step), :func:`bim`
(iterated steps), :func:`pgd` (random start, L∞ or L2, restarts), all three
with a budget ``eps`` in pixel units, and :func:`cw_l2` (smallest L2
perturbation; it has no ``eps``). Each returns the adversarial images as a
tensor. :func:`jsma` (the Jacobian saliency map attack, an L0 attack that
changes at most a fraction ``gamma`` of the pixels) returns a :class:`JSMAResult`. :data:`ATTACKS` (see :mod:`advlab.attacks.registry`) says, for each
attack, its norm, whether it takes ``eps`` and ``steps``, whether it is
randomised and what it returns. See :mod:`advlab.attacks._common` for the
contract they all keep.
"""

from .bim import bim
from .cw import cw_l2
from .fgsm import fgsm
from .jsma import JSMAResult, jsma, saliency_map
from .pgd import pgd
from .registry import ATTACKS, AttackInfo, attack_info, register

register(AttackInfo("fgsm", fgsm, "inf", True, False, False, title="FGSM"))
register(AttackInfo("bim", bim, "inf", True, True, False, title="BIM"))
register(AttackInfo("pgd", pgd, "inf", True, True, True, title="PGD"))
register(AttackInfo("cw_l2", cw_l2, "2", False, True, False, title="CW-L2"))
register(AttackInfo("jsma", jsma, "0", False, False, False, returns="result", title="JSMA"))

__all__ = [
    "ATTACKS",
    "AttackInfo",
    "JSMAResult",
    "attack_info",
    "bim",
    "cw_l2",
    "fgsm",
    "jsma",
    "pgd",
    "register",
    "saliency_map",
]
