"""Defenses the book studies, with their training recipes registered in :mod:`advlab.zoo`.

Adversarial training, defensive distillation, and the gradient-masking defenses
of Part III (label-only outputs, non-differentiable preprocessing).

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
from .catalog import (
    DEFENSES,
    DefenseSpec,
    attacker_config,
    build_defenses,
    defender_config,
    register_defense,
)
from .distillation import TemperatureScaled, distill, distillation_config, logits_at, soft_labels
from .masking import (
    InputTransform,
    LabelOnly,
    ScaledLogits,
    quantize,
    quantized,
    threshold,
    thresholded,
)

__all__ = [
    "DEFENSES",
    "METHODS",
    "AdversarialHistory",
    "AdversarialTraining",
    "CatastrophicOverfittingWarning",
    "DefenseSpec",
    "GuardRecord",
    "InputTransform",
    "LabelOnly",
    "OverfitGuard",
    "ScaledLogits",
    "TemperatureScaled",
    "adversarial_config",
    "adversarial_fit",
    "adversarial_perturbation",
    "attacker_config",
    "build_defenses",
    "defender_config",
    "distill",
    "distillation_config",
    "fgsm_rs",
    "logits_at",
    "quantize",
    "quantized",
    "register_defense",
    "soft_labels",
    "threshold",
    "thresholded",
]
