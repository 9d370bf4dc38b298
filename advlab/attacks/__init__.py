"""Attacks. Every one takes ``(model, x, y=None, *, eps=..., targeted=False, ...)``.

Gradient attacks, in the book's order: :func:`fgsm` (one step), :func:`bim`
(iterated steps), :func:`pgd` (random start, L∞ or L2, restarts) and
:func:`cw_l2` (smallest L2 perturbation; it has no ``eps``). Each returns the
adversarial images as a tensor. See :mod:`advlab.attacks._common` for the
contract they all keep.
"""

from .bim import bim
from .cw import cw_l2
from .fgsm import fgsm
from .pgd import pgd

__all__ = ["bim", "cw_l2", "fgsm", "pgd"]
