"""Attacks. Every one takes ``(model, x, y=None, *, ...)`` and its own budget.

Gradient attacks, in the book's order: :func:`fgsm` (one step), :func:`bim`
(iterated steps), :func:`pgd` (random start, L∞ or L2, restarts), all three
with a budget ``eps`` in pixel units, and :func:`cw_l2` (smallest L2
perturbation; it has no ``eps``). Each returns the adversarial images as a
tensor. Attacks with an L0 budget return a result object with ``x_adv`` and
more: :func:`jsma` (the Jacobian saliency map attack, changing at most a
fraction ``gamma`` of the pixels, :class:`JSMAResult`), the black-box
:func:`one_pixel` (differential evolution over k pixels) and its control
:func:`random_pixels` (:class:`OnePixelResult`). Without gradients: :func:`spsa`
(scores only) and the :func:`random_noise` baseline. :data:`ATTACKS` (see
:mod:`advlab.attacks.registry`) says, for each
attack, its norm, whether it takes ``eps`` and ``steps``, whether it is
randomised and what it returns. See :mod:`advlab.attacks._common` for the
contract they all keep.

The standard evaluation's attacks (Part III): :func:`apgd` (Auto-PGD, with the
cross-entropy or the DLR loss and no step size to tune) and the black-box
:func:`square` (random search over square windows, scores only), run together by
:func:`advlab.metrics.evaluate_robustness`. They keep the same call shape but are
not in :data:`ATTACKS` yet, so the attack table does not run them. The decision-based
:func:`hop_skip_jump` (HopSkipJump) walks the decision boundary from labels alone, counting
every label it asks for.

Attacks that see through gradient masking (Part III): :class:`BPDA` /
:func:`bpda` (differentiate through an approximation of a non-differentiable
layer), :func:`transfer_attack` (craft on a substitute, evaluate on the
target) and :func:`train_substitute` (Papernot et al.'s substitute from label
queries with Jacobian-based augmentation).
"""

from .apgd import apgd, dlr_loss
from .bim import bim
from .bpda import BPDA, bpda
from .cw import cw_l2
from .fgsm import fgsm
from .gradient import loss_gradient
from .hop_skip_jump import HopSkipJumpResult, hop_skip_jump
from .jsma import JSMAResult, jsma, saliency_map
from .one_pixel import OnePixelResult, one_pixel, random_pixels
from .pgd import pgd
from .registry import ATTACKS, AttackInfo, attack_info, register
from .result import AttackResult, adversarial_images
from .spsa import random_noise, spsa
from .square import square
from .substitute import LabelOracle, SubstituteResult, jacobian_augment, train_substitute
from .transfer import TransferResult, disjoint_split, transfer_attack

__all__ = [
    "ATTACKS",
    "BPDA",
    "AttackInfo",
    "AttackResult",
    "HopSkipJumpResult",
    "JSMAResult",
    "LabelOracle",
    "OnePixelResult",
    "SubstituteResult",
    "TransferResult",
    "adversarial_images",
    "apgd",
    "attack_info",
    "bim",
    "bpda",
    "cw_l2",
    "disjoint_split",
    "dlr_loss",
    "fgsm",
    "hop_skip_jump",
    "jacobian_augment",
    "jsma",
    "loss_gradient",
    "one_pixel",
    "pgd",
    "random_noise",
    "random_pixels",
    "register",
    "saliency_map",
    "spsa",
    "square",
    "train_substitute",
    "transfer_attack",
]
