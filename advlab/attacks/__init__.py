"""Attacks. Every one takes ``(model, x, y=None, *, eps=..., targeted=False, ...)``.

See :mod:`advlab.attacks._common` for the contract they all keep.
"""

from .fgsm import fgsm

__all__ = ["fgsm"]
