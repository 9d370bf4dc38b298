"""Defensive distillation (Papernot, McDaniel, Wu, Jha & Swami, 2016).

Hinton et al.'s distillation, put to a new use:

1. train a *teacher* at temperature ``T``: cross-entropy on ``softmax(z / T)``;
2. relabel the training set with the teacher's soft labels ``softmax(z_teacher / T)``;
3. train a *student* of the same architecture on those soft labels, also at ``T``;
4. deploy the student at ``T = 1``: its raw logits ``z`` are the deployed logits.

Trained at ``T``, the student's logits come out about ``T`` times larger than a
normally trained model's; at ``T = 1`` its softmax saturates to 0 and 1 in
floating point and the gradient of the cross-entropy with respect to the input
vanishes. Gradient attacks on the softmax (FGSM, JSMA on probabilities) then
find no direction; attacks on the logits, or on ``z / T``, still do
(Carlini & Wagner, 2016). :func:`logits_at` gives that view.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_image_batch,
    check_module,
    check_real,
    check_seed,
    check_targets,
)
from ..train import History, fit, predict, set_seed
from ..zoo import TrainConfig, register_recipe

__all__ = [
    "TemperatureScaled",
    "distill",
    "distillation_config",
    "logits_at",
    "soft_labels",
]


def _check_temperature(value: object) -> float:
    t = check_real(value, "temperature", positive=True)
    if t < 1:
        raise ArgumentError(f"temperature must be >= 1 (1 is ordinary training), got {t}")
    return t


class TemperatureScaled(nn.Module):
    """``model`` with its logits divided by ``temperature``: the view of a model at ``T``.

    ``softmax(TemperatureScaled(m, T)(x))`` is ``m``'s softmax at temperature T.
    Attacking this view of a distilled student with ``T`` its training
    temperature undoes the saturation that hides its gradients. The wrapped
    model's parameters are shared, not copied.
    """

    def __init__(self, model: nn.Module, temperature: float) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.temperature = _check_temperature(temperature)

    def forward(self, x: Tensor) -> Tensor:
        """Return the wrapped model's logits divided by the temperature."""
        return self.model(x) / self.temperature

    def extra_repr(self) -> str:
        """Return ``temperature=T`` for the module's repr."""
        return f"temperature={self.temperature:g}"


def logits_at(model: nn.Module, temperature: float) -> TemperatureScaled:
    """Return ``model`` viewed at ``temperature`` (logits divided by it); see :class:`TemperatureScaled`."""
    return TemperatureScaled(model, temperature)


@torch.no_grad()
def soft_labels(model: nn.Module, x: Tensor, temperature: float) -> Tensor:
    """``softmax(model(x) / T)``: the soft labels a teacher gives at temperature ``T``, (N, K).

    Returns
    -------
    Tensor
        Float (N, K) probabilities on x's device: finite, non-negative, rows summing to 1.

    Raises
    ------
    ValueError
        For ``temperature < 1`` or not finite, bad images (as :func:`~advlab.train.predict`),
        or a model whose logits are not finite (soft labels of NaN would train on NaN).
    """
    t = _check_temperature(temperature)
    logits = predict(model, x)  # refuses NaN or infinite logits (soft labels of NaN)
    return F.softmax(logits.float() / t, dim=1).to(logits.dtype)


def distill(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    temperature: float,
    teacher: nn.Module | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[nn.Module, History, History]:
    """Defensive distillation at ``temperature``: train a teacher, then ``model`` as the student.

    Threat model of the defense: a white-box gradient attacker (FGSM, JSMA)
    against the deployed student at ``T = 1``. The defense does not claim
    robustness to attacks on the logits.

    Parameters
    ----------
    model:
        The student, trained in place; deployed as is (its logits are the ``T = 1`` logits).
    x, y:
        Training images (N, C, H, W) in [0, 1] and integer labels (N,).
    temperature:
        ``T >= 1`` for both the teacher's training and the student's (1 gives
        ordinary training followed by self-distillation).
    teacher:
        A model of the same architecture to train as the teacher. Default: a
        copy of ``model`` re-initialised with ``seed + 1``.
    epochs, batch_size, lr, weight_decay, seed, device, progress:
        As in :func:`~advlab.train.fit`, for each of the two trainings.

    Returns
    -------
    (teacher, teacher_history, student_history)
        The trained teacher (in eval mode) and both histories.

    Raises
    ------
    ValueError
        For ``temperature < 1`` or not finite, or as :func:`~advlab.train.fit` does.
    TypeError
        If ``teacher`` is neither None nor a ``torch.nn.Module``.
    """
    t = _check_temperature(temperature)
    # what is used before fit's own checks is checked here, before any training
    check_module(model)
    x = check_image_batch(x, allow_empty=False)
    y = check_targets(y, x.shape[0])
    seed = check_seed(seed)
    if teacher is not None and not isinstance(teacher, nn.Module):
        raise ArgumentTypeError(
            f"teacher must be a torch.nn.Module (of the student's architecture) or None, got "
            f"{type(teacher).__name__}"
        )
    if teacher is None:
        teacher = copy.deepcopy(model)
        set_seed((seed + 1) % 2**64)
        for m in teacher.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset) and m is not teacher:
                reset()
    common: dict[str, Any] = dict(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        device=device,
        progress=progress,
    )

    def at_temperature(logits: Tensor, targets: Tensor) -> Tensor:
        # hard labels (N,) or soft labels (N, K): cross_entropy takes both
        return F.cross_entropy(logits / t, targets)

    teacher_history = fit(teacher, x, y, loss_fn=at_temperature, **common)
    teacher.eval()
    dev = next(teacher.parameters()).device
    soft = soft_labels(teacher, x.to(dev), t)
    student_history = fit(model, x, soft, loss_fn=at_temperature, **common)
    model.eval()
    return teacher, teacher_history, student_history


def distillation_config(base: TrainConfig | None = None, *, temperature: float) -> TrainConfig:
    """Build a :class:`~advlab.zoo.TrainConfig` for the ``"distillation"`` recipe at ``temperature``.

    The cached model is the student (deployed at ``T = 1``); teacher and student
    each train for ``base.epochs``.

        >>> student = advlab.zoo.pretrained(distillation_config(temperature=20)).model
    """
    base = TrainConfig() if base is None else base
    if not isinstance(base, TrainConfig):
        raise ArgumentTypeError(f"base must be a TrainConfig, got {type(base).__name__}")
    return replace(
        base, recipe="distillation", extra={"temperature": _check_temperature(temperature)}
    )


def _recipe(
    model: nn.Module, data: Any, cfg: TrainConfig, device: torch.device, progress: bool
) -> None:
    """Train by the zoo recipe ``"distillation"``: ``cfg.extra = {"temperature": T}``."""
    unknown = set(cfg.extra) - {"temperature"}
    if unknown or "temperature" not in cfg.extra:
        raise ArgumentError(
            "the 'distillation' recipe needs TrainConfig.extra = {'temperature': T} and "
            f"nothing else, got {cfg.extra}; use distillation_config(temperature=T)"
        )
    distill(
        model,
        data.x_train,
        data.y_train,
        temperature=cfg.extra["temperature"],
        device=device,
        progress=progress,
        **cfg.fit_kwargs(),
    )


register_recipe("distillation", _recipe)
