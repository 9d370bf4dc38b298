"""Defenses the book studies: adversarial training, defensive distillation, and the
gradient-masking defenses of Part III (label-only outputs, non-differentiable
preprocessing), with their training recipes registered in :mod:`advlab.zoo`."""

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
    "InputTransform",
    "LabelOnly",
    "ScaledLogits",
    "quantize",
    "quantized",
    "threshold",
    "thresholded",
]
