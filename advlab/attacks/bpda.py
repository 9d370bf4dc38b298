"""Backward Pass Differentiable Approximation (Athalye, Carlini & Wagner, 2018).

A defense that puts a non-differentiable step ``g`` in front of a model
(quantisation, thresholding, JPEG, ...) leaves the attacker a gradient of
zero, or none at all. BPDA keeps the forward pass exactly as it is and, on
the backward pass only, replaces ``g`` by a differentiable ``h`` with
``h(x) ≈ g(x)``; for most preprocessing the identity ``h(x) = x`` is good
enough. One identity does it:

    y = h(x) + (g(x) - h(x)).detach()

has the value ``g(x)`` and the derivative of ``h``. :class:`BPDA` wraps a
transformation this way, and :func:`bpda` rebuilds a defended model
(:class:`advlab.defenses.masking.InputTransform`) around it, so that any
gradient attack of advlab runs against ``bpda(defended)`` and its adversarial
examples are, by construction, evaluated on the very same forward function.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from .._validate import ArgumentError, ArgumentTypeError

__all__ = ["BPDA", "bpda"]


def _identity(x: Tensor) -> Tensor:
    return x


class BPDA(nn.Module):
    """A transformation whose forward pass is ``forward_fn`` and backward pass ``backward_fn``'s.

    Parameters
    ----------
    forward_fn:
        The real (possibly non-differentiable) transformation ``g``.
    backward_fn:
        A differentiable approximation ``h`` of ``g`` with the same output
        shape; the identity by default.

    Raises
    ------
    TypeError
        If either function is not callable.
    """

    def __init__(
        self,
        forward_fn: Callable[[Tensor], Tensor],
        backward_fn: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__()
        for name, fn in (("forward_fn", forward_fn), ("backward_fn", backward_fn)):
            if fn is not None and not callable(fn):
                raise ArgumentTypeError(
                    f"{name} must be callable (images -> images), got {type(fn).__name__}"
                )
        self.forward_fn = forward_fn
        self.backward_fn = backward_fn or _identity

    def forward(self, x: Tensor) -> Tensor:
        """Return ``forward_fn(x)``, differentiated as ``backward_fn(x)``."""
        approx = self.backward_fn(x)
        real = self.forward_fn(x)
        if real.shape != approx.shape:
            raise ArgumentError(
                f"backward_fn must return the shape of forward_fn's output {tuple(real.shape)}, "
                f"got {tuple(approx.shape)}"
            )
        return approx + (real - approx).detach()


def bpda(defended: nn.Module, backward_fn: Callable[[Tensor], Tensor] | None = None) -> nn.Module:
    """Wrap the defended model so its preprocessing is differentiated through ``backward_fn``.

    Threat model: white box; the attacker knows the preprocessing and the
    model behind it. The returned model computes exactly ``defended(x)`` (same
    forward pass), so an attack run on it, e.g. ``pgd(bpda(defended), x, y,
    eps=0.1)``, produces adversarial examples for ``defended`` itself.

    Parameters
    ----------
    defended:
        An :class:`advlab.defenses.masking.InputTransform` (``model(transform(x))``).
    backward_fn:
        The approximation used on the backward pass; the identity by default.

    Returns
    -------
    nn.Module
        ``nn.Sequential(BPDA(transform, backward_fn), model)``, sharing the
        defended model's parameters.

    Raises
    ------
    TypeError
        If ``defended`` is not an ``InputTransform`` (for another layout, build
        ``nn.Sequential(BPDA(g), model)`` yourself).
    """
    # Read structurally (a ``transform`` callable in front of a ``model`` module), so the attack
    # layer does not import the defenses built on it.
    transform = getattr(defended, "transform", None)
    model = getattr(defended, "model", None)
    if not (
        isinstance(defended, nn.Module) and callable(transform) and isinstance(model, nn.Module)
    ):
        raise ArgumentTypeError(
            "bpda expects a model built by advlab.defenses (InputTransform: model(transform(x))), "
            f"got {type(defended).__name__}; for another model, use "
            "nn.Sequential(BPDA(transform), model)"
        )
    return nn.Sequential(BPDA(transform, backward_fn), model)
