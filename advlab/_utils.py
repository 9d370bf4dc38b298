"""Small helpers shared by training, attacks and defenses."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

__all__ = ["atomic_write", "eval_mode", "frozen_eval", "model_device", "model_dtype"]


def model_device(model: nn.Module) -> torch.device | None:
    """Return the device of the model's first parameter or buffer; None for a model with neither."""
    for t in model.parameters():
        return t.device
    for b in model.buffers():
        return b.device
    return None


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """Return the dtype of the model's first floating parameter; None when it has none."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    return None


class _ModelState:
    """What advlab changed on one model, and how many callers are inside a mode right now."""

    __slots__ = ("eval_users", "frozen_users", "params", "requires_grad", "training")

    def __init__(self) -> None:
        self.eval_users = 0
        self.frozen_users = 0
        self.training: list[tuple[nn.Module, bool]] = []
        self.params: list[nn.Parameter] = []
        self.requires_grad: list[bool] = []


#: One lock for the bookkeeping below; it is held only while flags are saved or restored.
_LOCK = threading.Lock()
_STATES: dict[int, tuple[nn.Module, _ModelState]] = {}


def _state(model: nn.Module) -> _ModelState:
    entry = _STATES.get(id(model))
    if entry is None or entry[0] is not model:
        entry = (model, _ModelState())
        _STATES[id(model)] = entry
    return entry[1]


def _release(model: nn.Module, state: _ModelState) -> None:
    if state.eval_users == 0 and state.frozen_users == 0:
        _STATES.pop(id(model), None)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode; restore each one's own flag afterwards.

    Thread-safe and re-entrant: the flags are saved by the first caller to
    enter and restored by the last one to leave (a count per model, kept under
    a lock), so two threads evaluating or attacking one model at once leave it
    as it was before either started. Changing the model's mode yourself while
    another thread is inside is not supported.
    """
    with _LOCK:
        state = _state(model)
        if state.eval_users == 0:
            state.training = [(m, m.training) for m in model.modules()]
            model.eval()
        state.eval_users += 1
    try:
        yield model
    finally:
        with _LOCK:
            state.eval_users -= 1
            if state.eval_users == 0:
                for m, was_training in state.training:
                    m.training = was_training
                state.training = []
            _release(model, state)


@contextmanager
def frozen_eval(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no parameter gradients (attacks need only input gradients); both restored.

    Thread-safe and re-entrant in the same way as :func:`eval_mode`: the
    ``requires_grad`` flags are saved by the first caller and restored by the
    last, so concurrent attacks on one model from several threads restore it.
    """
    with _LOCK:
        state = _state(model)
        if state.frozen_users == 0:
            state.params = list(model.parameters())
            state.requires_grad = [p.requires_grad for p in state.params]
            for p in state.params:
                p.requires_grad_(False)
        state.frozen_users += 1
    try:
        with eval_mode(model):
            yield model
    finally:
        with _LOCK:
            state.frozen_users -= 1
            if state.frozen_users == 0:
                for p, flag in zip(state.params, state.requires_grad, strict=True):
                    p.requires_grad_(flag)
                state.params, state.requires_grad = [], []
            _release(model, state)


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[str], None], *, mode: int | None = None
) -> Path:
    """Call ``write(tmp_path)`` then move the file into place, so readers never see half a file.

    The temporary file is private (0600) while written; ``mode`` (e.g. 0o644)
    sets the permissions of the finished file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
