"""Defenses the book studies: adversarial training, defensive distillation, and the
gradient-masking defenses of Part III (label-only outputs, non-differentiable
preprocessing), with their training recipes registered in :mod:`advlab.zoo`.

Importing this package registers the zoo recipes ``"adversarial"``
(:func:`adversarial_config`) and ``"distillation"`` (:func:`distillation_config`).
"""

from .adversarial import (
    METHODS,
    AdversarialHistory,
    AdversarialTraining,
    CatastrophicOverfittingWarning,
    GuardRecord,
    OverfitGuard,
    adversarial_config,
    adversarial_fit,
    adversarial_perturbation,
    fgsm_rs,
)
from .distillation import TemperatureScaled, distill, distillation_config, logits_at, soft_labels

__all__ = [
    "METHODS",
    "AdversarialHistory",
    "AdversarialTraining",
    "CatastrophicOverfittingWarning",
    "GuardRecord",
    "OverfitGuard",
    "TemperatureScaled",
    "adversarial_config",
    "adversarial_fit",
    "adversarial_perturbation",
    "distill",
    "distillation_config",
    "fgsm_rs",
    "logits_at",
    "soft_labels",
]
