"""Defenses the book studies, with their training recipes registered in :mod:`advlab.zoo`.

Adversarial training, defensive distillation, the gradient-masking defenses
of Part III (label-only outputs, non-differentiable preprocessing), and one certified
defense, randomized smoothing (:func:`certify`).

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
from .masking import (
    InputTransform,
    LabelOnly,
    LogitWiggle,
    NoisyInput,
    ScaledLogits,
    quantize,
    quantized,
    threshold,
    thresholded,
)
from .smoothing import ABSTAIN, Certificate, certify

__all__ = [
    "ABSTAIN",
    "METHODS",
    "AdversarialHistory",
    "AdversarialTraining",
    "CatastrophicOverfittingWarning",
    "Certificate",
    "GuardRecord",
    "InputTransform",
    "LabelOnly",
    "LogitWiggle",
    "NoisyInput",
    "OverfitGuard",
    "ScaledLogits",
    "TemperatureScaled",
    "adversarial_config",
    "adversarial_fit",
    "adversarial_perturbation",
    "certify",
    "distill",
    "distillation_config",
    "fgsm_rs",
    "logits_at",
    "quantize",
    "quantized",
    "soft_labels",
    "threshold",
    "thresholded",
]


# the catalogue of the book's defenses moved to advlab.book.catalog in 0.2 (it is the book's, and
# the book layer sits above this one): its names still resolve here, for one release, with a
# DeprecationWarning naming the new path
_MOVED = (
    "DEFENSES",
    "DefenseSpec",
    "attacker_config",
    "build_defenses",
    "defender_config",
    "register_defense",
)


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"advlab.defenses.{name} moved to advlab.book.catalog.{name}; import it from there "
            "(the old path will be removed in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("advlab.book.catalog"), name)
    raise AttributeError(f"module 'advlab.defenses' has no attribute {name!r}")
