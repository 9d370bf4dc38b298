"""Gradient-masking "defenses": models that hide their gradient without becoming robust.

Part III of the book studies these as failures, so they are built to be honest
about what they do:

:class:`LabelOnly`
    The model answers with a one-hot vector of its most likely class and
    nothing else (Papernot et al.'s *label mode*). Its predictions are the
    wrapped model's predictions; its input gradient is exactly zero, so every
    gradient attack is blind, yet every point the model misclassifies is still
    misclassified.
:class:`InputTransform`
    A non-differentiable transformation in front of a model:
    :func:`quantize` (bit-depth reduction, Xu et al.'s feature squeezing) or
    :func:`threshold` (binarisation). Their derivative is zero almost
    everywhere, so the gradient that reaches the input is zero too.

Two more show the other kinds of Athalye et al.'s taxonomy:

:class:`NoisyInput`
    Gaussian noise added to the input at every call: a *randomised* defense,
    whose output (and gradient) changes between two identical calls. Attack it
    with expectation over transformation, ``pgd(..., eot=k)``.
:class:`LogitWiggle`
    A small, deterministic, high-frequency wiggle added to the logits: the
    predictions barely move, but the input gradient is dominated by the wiggle
    and points nowhere useful. Put on top of a robust model, it makes every
    gradient and score-based attack report more robustness than there is.

All keep the wrapped model's output shape, so any advlab attack runs against
them unchanged (and fails, which is the point); :mod:`advlab.attacks.bpda`
and :mod:`advlab.attacks.transfer` are the attacks that see through them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_module,
    check_pixel_values,
    check_real,
)

__all__ = [
    "InputTransform",
    "LabelOnly",
    "LogitWiggle",
    "NoisyInput",
    "ScaledLogits",
    "quantize",
    "quantized",
    "threshold",
    "thresholded",
]


class LabelOnly(nn.Module):
    """Answer with a one-hot vector of the wrapped model's predicted class.

    Threat model of the "defense": an API that reveals only the label. The
    output has the wrapped model's shape ``(N, K)``: 1.0 at the arg-max, 0
    elsewhere, so ``LabelOnly(m)(x).argmax(1)`` equals ``m(x).argmax(1)``.
    The output stays attached to the autograd graph with a gradient that is
    exactly zero, so gradient attacks run (no "does not require grad" error)
    and see nothing.

    Parameters
    ----------
    model:
        A classifier returning logits.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = check_module(model)

    def forward(self, x: Tensor) -> Tensor:
        """Return the one-hot vector of the predicted class, with an exactly zero gradient."""
        logits = self.model(x)
        onehot = F.one_hot(logits.argmax(dim=1), logits.shape[1]).to(logits.dtype)
        # attached to the graph (so autograd runs) with an exactly zero derivative
        return onehot + 0.0 * logits


class ScaledLogits(nn.Module):
    """Multiply the wrapped model's logits by ``factor`` (same predictions, saturated softmax).

    A large factor reproduces what defensive distillation does at test time: a
    network trained at temperature T learns logits about T times larger than
    usual, and deployed at T = 1 its softmax saturates to exactly 0 and 1 in
    floating point, so the cross-entropy gradient vanishes while the order of
    the logits, hence every prediction, is unchanged.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    ValueError
        If ``factor`` is not a finite number > 0.
    """

    def __init__(self, model: nn.Module, factor: float) -> None:
        super().__init__()
        self.model = check_module(model)
        self.factor = check_real(factor, "factor", positive=True)

    def forward(self, x: Tensor) -> Tensor:
        """Return the wrapped model's logits multiplied by ``factor``."""
        return self.model(x) * self.factor

    def extra_repr(self) -> str:
        """Return ``factor=...`` for the module's repr."""
        return f"factor={self.factor:g}"


class NoisyInput(nn.Module):
    """Add Gaussian noise of standard deviation ``sigma`` to the input at every call (a randomised defense).

    The noisy image is clipped to [0, 1] before the wrapped model sees it. The
    noise comes from the module's own generator (seeded by ``seed``, drawn on
    the CPU and moved to the input's device), so a fresh module gives the same
    sequence of outputs on every machine; two calls on the same input differ.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    ValueError
        If ``sigma`` is not a finite number > 0.
    """

    def __init__(self, model: nn.Module, sigma: float, *, seed: int = 0) -> None:
        super().__init__()
        self.model = check_module(model)
        self.sigma = check_real(sigma, "sigma", positive=True)
        self.generator = torch.Generator().manual_seed(check_count(seed, "seed", minimum=0))

    def forward(self, x: Tensor) -> Tensor:
        """Return the wrapped model's logits on ``clip(x + sigma * noise, 0, 1)``."""
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return self.model((x + self.sigma * noise.to(x.device)).clamp(0.0, 1.0))

    def extra_repr(self) -> str:
        """Return ``sigma=...`` for the module's repr."""
        return f"sigma={self.sigma:g}"


class LogitWiggle(nn.Module):
    """Add ``amplitude * sin(frequency * x @ R)`` to the logits: masking on top of any model.

    ``R`` is a fixed random matrix (pixels × classes, entries of size about
    ``1 / sqrt(pixels)``, from ``seed``). For a small ``amplitude`` the
    predictions are almost unchanged, but for a large ``frequency`` the input
    gradient is ``amplitude * frequency`` times a rapidly oscillating term, so a
    step along it does not raise the loss the way the gradient promises. The
    loss the attack should have followed, the wrapped model's, is untouched.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    ValueError
        If ``amplitude`` or ``frequency`` is not a finite number > 0.
    """

    def __init__(
        self, model: nn.Module, *, amplitude: float = 0.5, frequency: float = 300.0, seed: int = 0
    ) -> None:
        super().__init__()
        self.model = check_module(model)
        self.amplitude = check_real(amplitude, "amplitude", positive=True)
        self.frequency = check_real(frequency, "frequency", positive=True)
        self.seed = check_count(seed, "seed", minimum=0)
        self._r: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Return the wrapped model's logits plus the wiggle."""
        logits = self.model(x)
        pixels, classes = x[0].numel(), logits.shape[1]
        if self._r is None or self._r.shape != (pixels, classes):
            g = torch.Generator().manual_seed(self.seed)
            self._r = torch.randn(pixels, classes, generator=g) / pixels**0.5
        r = self._r.to(device=x.device, dtype=logits.dtype)
        return logits + self.amplitude * torch.sin(self.frequency * (x.flatten(1).to(r.dtype) @ r))

    def extra_repr(self) -> str:
        """Return ``amplitude=..., frequency=...`` for the module's repr."""
        return f"amplitude={self.amplitude:g}, frequency={self.frequency:g}"


def _check_float_tensor(x: object) -> None:
    """Check float images with finite values in [0, 1] (one read-back), as the transforms need."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ArgumentTypeError(
            f"x must be a floating-point tensor of images in [0, 1], got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, Tensor) else "")
        )
    check_pixel_values(x)


def _check_level(level: object) -> float:
    level = check_real(level, "level", positive=True)
    if level >= 1:
        raise ArgumentError(f"level must lie strictly between 0 and 1 (pixel units), got {level}")
    return level


def _check_bits(bits: object) -> int:
    bits = check_count(bits, "bits")
    if bits > 8:
        raise ArgumentError(f"bits must be an integer in 1..8 (8 bits is 256 levels), got {bits}")
    return bits


def quantize(x: Tensor, bits: int) -> Tensor:
    """Round each pixel of ``x`` (in [0, 1]) to the nearest of ``2**bits`` evenly spaced levels.

    Its derivative is zero almost everywhere (``torch.round``'s gradient is 0).

    Raises
    ------
    ValueError
        If ``bits`` is not an integer in 1..8, or ``x`` has values outside [0, 1]
        (or NaN): the levels cover [0, 1] only.
    """
    bits = _check_bits(bits)
    _check_float_tensor(x)
    return _round_to_levels(x, bits=bits)


def threshold(x: Tensor, level: float = 0.5) -> Tensor:
    """1 where a pixel exceeds ``level``, else 0; attached to the graph with a zero gradient.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``level`` is not a finite number, or ``x`` has values outside [0, 1] (or NaN).
    """
    _check_float_tensor(x)
    return _binarise(x, level=_check_level(level))


# The transforms as layers of a model. A model takes any float input, as every layer must:
# score-based attacks probe just outside the box (SPSA evaluates x ± delta·v unclipped), so
# inside quantized()/thresholded() the arithmetic runs on checked settings without the [0, 1]
# check that the public functions make on what a caller hands them.


def _floats(x: object) -> Tensor:
    """Return ``x`` if it is a floating-point tensor (type and dtype only: no read-back)."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ArgumentTypeError(
            f"x must be a floating-point tensor of images, got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, Tensor) else "")
        )
    return x


def _round_to_levels(x: Tensor, *, bits: int) -> Tensor:
    """Round ``x`` to the nearest of ``2**bits`` levels in [0, 1] (``bits`` checked)."""
    levels = 2**bits - 1
    return torch.round(_floats(x) * levels) / levels


def _binarise(x: Tensor, *, level: float) -> Tensor:
    """Return 1 where ``x`` exceeds ``level`` (checked), else 0, with a zero gradient."""
    x = _floats(x)
    return (x > level).to(x.dtype) + 0.0 * x


class InputTransform(nn.Module):
    """``model(transform(x))``: a preprocessing step in front of a classifier.

    With a non-differentiable ``transform`` (:func:`quantize`,
    :func:`threshold`) the gradient reaching ``x`` is zero almost everywhere:
    gradient attacks stall although the decision regions barely moved. Use
    :func:`quantized` or :func:`thresholded` to build the common ones, and
    :class:`advlab.attacks.bpda.BPDA` to attack them.

    Parameters
    ----------
    model:
        A classifier returning logits.
    transform:
        A function from images in [0, 1] to images in [0, 1] of the same shape.
    name:
        How it prints, e.g. ``"quantize(bits=2)"``.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module`` or ``transform`` is not callable.
    """

    def __init__(
        self, model: nn.Module, transform: Callable[[Tensor], Tensor], name: str = ""
    ) -> None:
        super().__init__()
        self.model = check_module(model)
        if not callable(transform):
            raise ArgumentTypeError(
                f"transform must be callable (images -> images), got {type(transform).__name__}"
            )
        self.transform = transform
        self.name = name or getattr(transform, "__name__", "transform")

    def forward(self, x: Tensor) -> Tensor:
        """Return the wrapped model's logits on ``transform(x)``."""
        return self.model(self.transform(x))

    def extra_repr(self) -> str:
        """Return ``transform=NAME`` for the module's repr."""
        return f"transform={self.name}"


def quantized(model: nn.Module, bits: int = 2) -> InputTransform:
    """``model`` behind bit-depth reduction to ``bits`` bits per pixel (1 to 8).

    As a layer of a model the rounding takes any float input, as every layer must
    (score-based attacks such as :func:`advlab.attacks.spsa` probe just outside
    [0, 1]); :func:`quantize` called directly checks that its images lie in [0, 1].

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    ValueError
        If ``bits`` is not an integer in 1..8.
    """
    check_module(model)
    bits = _check_bits(bits)
    return InputTransform(model, partial(_round_to_levels, bits=bits), f"quantize(bits={bits})")


def thresholded(model: nn.Module, level: float = 0.5) -> InputTransform:
    """``model`` behind binarisation of each pixel at ``level`` (strictly inside (0, 1)).

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    ValueError
        If ``level`` is not a number strictly between 0 and 1.
    """
    check_module(model)
    level = _check_level(level)
    return InputTransform(model, partial(_binarise, level=level), f"threshold({level:g})")
