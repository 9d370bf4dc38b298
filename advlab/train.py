"""Training and evaluation loops, small and explicit, with hooks for the defense chapters.

:func:`fit` trains any classifier on in-memory tensors. Two hooks let later
chapters reuse it unchanged:

``perturb(model, x, y) -> x'`` or ``-> (x', y')``
    replaces (or augments) each batch before the update: adversarial training
    passes an attack here. Returning images only keeps the batch's labels;
    returning a pair lets the batch change size, e.g. clean and adversarial
    images stacked for Goodfellow et al.'s mixed objective.
``loss_fn(logits, targets) -> loss``
    replaces cross-entropy: defensive distillation trains on soft labels at a
    temperature this way (``targets`` may then be probabilities).

A third, ``on_epoch_end(epoch, history) -> bool | None``, is called after each
epoch and may stop training by returning True: the catastrophic-overfitting
guard of adversarial training checks the model there and stops a collapsing run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ._utils import eval_mode, model_device, model_dtype
from ._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_classes,
    check_count,
    check_finite_logits,
    check_flag,
    check_image_batch,
    check_label_range,
    check_labels,
    check_logits,
    check_module,
    check_real,
    check_seed,
    check_targets,
)
from .device import resolve_device

__all__ = ["History", "accuracy", "evaluate", "fit", "predict", "set_seed"]

Perturb = Callable[[nn.Module, Tensor, Tensor], "Tensor | tuple[Tensor, Tensor]"]
LossFn = Callable[[Tensor, Tensor], Tensor]
#: ``on_epoch_end(epoch, history)``: called after each epoch; True stops training.
EpochEnd = Callable[[int, "History"], "bool | None"]


@dataclass
class History:
    """Per-epoch training loss and accuracy (on the batches the model trained on)."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def set_seed(seed: int) -> None:
    """Seed PyTorch's global generators (CPU and every CUDA device).

    Raises
    ------
    ValueError
        If ``seed`` is not an integer in 0 … 2**64 - 1 (NumPy integers are accepted).
    """
    torch.manual_seed(check_seed(seed))


def fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    perturb: Perturb | None = None,
    loss_fn: LossFn | None = None,
    on_epoch_end: EpochEnd | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` in place with Adam on ``(x, y)``; return the per-epoch history.

    Parameters
    ----------
    model:
        Any classifier returning logits of shape (N, K); it is moved to
        ``device`` and left in train mode.
    x:
        Float images in [0, 1], shape (N, C, H, W) with N >= 1, finite; moved
        to ``device`` and converted to the model's dtype.
    y:
        Integer class labels in [0, K), shape (N,), or soft targets (N, K)
        (float, finite, non-negative; e.g. for distillation).
    epochs, batch_size:
        Integers >= 1 (Python or NumPy).
    lr, weight_decay:
        Adam's step size (finite, > 0) and weight decay (finite, >= 0).
    seed:
        Seeds the generator that reshuffles the data each epoch (0 … 2**64 - 1).
    device:
        Where to train, checked like ``ADVLAB_DEVICE`` (see
        :func:`advlab.device.check_device`); defaults to
        :func:`advlab.device.default_device`.
    perturb:
        Optional ``perturb(model, xb, yb)`` applied to each batch before the step; it
        returns the new images (same labels) or a pair ``(images, labels)``.
    loss_fn:
        Optional ``loss_fn(logits, targets)``; defaults to mean cross-entropy.
    on_epoch_end:
        Optional ``on_epoch_end(epoch, history)``, called after every epoch once its
        loss and accuracy are in ``history``: ``epoch`` counts the epochs trained so far
        (1, 2, ..., so ``epoch == len(history.loss)``) and ``history`` is the
        :class:`History` that ``fit`` will return (read it; do not change it). The
        model is the one passed in, trained in place, so a callback that checks it
        holds it already. Return True to stop training after this epoch, False or
        None to go on. The shuffling generator is ``fit``'s own, so a callback that
        only measures the model (:func:`evaluate`, an attack with a ``seed``) changes
        nothing in training; one that draws from PyTorch's global generator shifts
        what dropout layers draw next.
    progress:
        Show a tqdm progress bar over epochs (a boolean).

    Returns
    -------
    History
        Mean loss and accuracy per epoch, on the batches the model trained on (one
        entry per epoch trained: fewer than ``epochs`` when ``on_epoch_end`` stopped it).

    Raises
    ------
    ValueError
        For any argument outside the ranges above, before training starts; a
        model whose output is not (N, K) float logits, or labels outside
        [0, K), are found at the first forward pass, before any update; ``perturb`` output
        whose sizes disagree is reported at the batch where it happens, and an
        ``on_epoch_end`` that returns anything but True, False or None at the epoch
        where it does.
    """
    model = check_module(model)
    x = check_image_batch(x, allow_empty=False)
    y = check_targets(y, x.shape[0])
    epochs = check_count(epochs, "epochs")
    batch_size = check_count(batch_size, "batch_size")
    lr = check_real(lr, "lr", positive=True)
    weight_decay = check_real(weight_decay, "weight_decay")
    seed = check_seed(seed)
    progress = check_flag(progress, "progress")
    _check_hooks(model, perturb=perturb, loss_fn=loss_fn, on_epoch_end=on_epoch_end)
    dev = resolve_device(device)
    model.to(dev)
    x, y = x.to(device=dev, dtype=model_dtype(model) or x.dtype), y.to(dev)
    loss_fn = loss_fn or (lambda logits, t: F.cross_entropy(logits, t))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    checked: int | None = None
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x), generator=gen).to(dev)
        loss, acc, checked = _train_epoch(
            model,
            x,
            y,
            order,
            batch_size=batch_size,
            perturb=perturb,
            loss_fn=loss_fn,
            opt=opt,
            checked=checked,
        )
        history.loss.append(loss)
        history.accuracy.append(acc)
        bar.set_postfix(loss=f"{history.loss[-1]:.3f}", acc=f"{history.accuracy[-1]:.3f}")
        if on_epoch_end is not None and _stop_requested(
            on_epoch_end(epoch + 1, history), epoch + 1
        ):
            break
    bar.close()
    return history


def _check_hooks(model: nn.Module, **hooks: object) -> None:
    """Check that each hook is callable or None, and that ``model`` has something to train."""
    for name, hook in hooks.items():
        if hook is not None and not callable(hook):
            raise ArgumentTypeError(f"{name} must be callable or None, got {type(hook).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ArgumentError(
            "the model has no trainable parameters (none with requires_grad=True); nothing to fit"
        )


def _train_epoch(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    order: Tensor,
    *,
    batch_size: int,
    perturb: Perturb | None,
    loss_fn: LossFn,
    opt: torch.optim.Optimizer,
    checked: int | None,
) -> tuple[float, float, int]:
    """Train one epoch over the batches of ``order``; return (mean loss, accuracy, classes)."""
    total_loss, correct, seen = 0.0, 0, 0
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        xb, yb = x[idx], y[idx]
        if perturb is not None:
            xb, yb = _perturbed(perturb, model, xb, yb)
        logits = model(xb)
        if checked is None:  # first forward pass, before any update: shape and label range
            checked = _check_first_output(logits, y, len(xb))
        loss = loss_fn(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total_loss += float(loss.detach()) * len(yb)
        hard = yb if yb.ndim == 1 else yb.argmax(dim=1)
        correct += int((logits.argmax(dim=1) == hard).sum())
        seen += len(yb)
    assert checked is not None  # x holds at least one image, so one batch ran
    return total_loss / seen, correct / seen, checked


def _perturbed(perturb: Perturb, model: nn.Module, xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor]:
    """Return ``perturb``'s batch, detached, with the model back in train mode."""
    out = perturb(model, xb, yb)
    xb, yb = out if isinstance(out, tuple) else (out, yb)
    if len(xb) != len(yb):
        raise ArgumentError(
            f"perturb returned {len(xb)} images for {len(yb)} labels; return "
            "(images, labels) when the batch changes size"
        )
    model.train()
    return xb.detach(), yb.detach()


def _check_first_output(logits: Tensor, y: Tensor, n: int) -> int:
    """Check the first forward pass (logits (n, K), labels in range, trainable); return K."""
    classes = check_logits(logits, n).shape[1]
    check_classes(y, classes)
    if not logits.requires_grad:
        raise ArgumentError(
            "the model's output does not depend on any trainable parameter, so there "
            "is nothing to train; check that its parameters have requires_grad=True"
        )
    return classes


def _stop_requested(answer: object, epoch: int) -> bool:
    """Read ``on_epoch_end``'s answer: True stops; False or None goes on; anything else is refused."""
    if answer is None:
        return False
    if isinstance(answer, (bool, np.bool_)):
        return bool(answer)
    raise ArgumentError(
        f"on_epoch_end returned {answer!r} ({type(answer).__name__}) after epoch {epoch}; "
        "return True to stop training, False or None to go on"
    )


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, *, batch_size: int = 1024) -> Tensor:
    """Logits of ``model`` on ``x``, computed in eval mode (the model's mode is restored).

    Parameters
    ----------
    model:
        Classifier returning logits of shape (N, K).
    x:
        Float images in [0, 1], shape (N, C, H, W); N may be 0. Moved in
        batches to the model's device and converted to its dtype.
    batch_size:
        Images per forward pass, an integer >= 1.

    Returns
    -------
    Tensor
        Logits of shape (N, K) on ``x``'s device; for N = 0, shape (0, K)
        (K read from one forward pass on a blank image).

    Raises
    ------
    ValueError
        For a non-module model, images that are not float (N, C, H, W) in
        [0, 1] and finite (uint8 images: convert with ``x.float() / 255``), a
        ``batch_size`` below 1, or a model whose output is not (n, K) float logits.
    """
    model = check_module(model)
    batch_size = check_count(batch_size, "batch_size")
    x = check_image_batch(x, allow_empty=True)
    dev = model_device(model) or x.device
    dtype = model_dtype(model) or x.dtype
    outs = []
    with eval_mode(model):
        if len(x) == 0:
            k = check_logits(model(torch.zeros((1, *x.shape[1:]), dtype=dtype, device=dev)), 1)
            return k.new_empty((0, k.shape[1])).to(x.device)
        for i in range(0, len(x), batch_size):
            chunk = x[i : i + batch_size].to(device=dev, dtype=dtype)
            outs.append(check_logits(model(chunk), len(chunk)).to(x.device))
    return check_finite_logits(torch.cat(outs))


def accuracy(logits_or_pred: Tensor, y: Tensor) -> float:
    """Fraction of rows whose arg-max (logits (N, K)) or prediction (N,) equals ``y``.

    Raises
    ------
    ValueError
        If either is not a tensor, the predictions are not integer class
        indices, the logits are not 2-D, ``y`` is not integer labels of shape
        (N,), or there are no rows (the accuracy of nothing is undefined).
    """
    if not isinstance(logits_or_pred, Tensor):
        raise ArgumentError(
            f"logits_or_pred must be a tensor of logits (N, K) or predictions (N,), "
            f"got {type(logits_or_pred).__name__}"
        )
    if logits_or_pred.ndim == 2 and logits_or_pred.is_floating_point():
        pred = logits_or_pred.argmax(dim=1) if logits_or_pred.shape[1] else None
        if pred is None:
            raise ArgumentError("logits must have at least one column")
    elif logits_or_pred.ndim == 1 and not (
        logits_or_pred.is_floating_point()
        or logits_or_pred.is_complex()
        or logits_or_pred.dtype == torch.bool
    ):
        pred = logits_or_pred
    else:
        raise ArgumentError(
            f"logits_or_pred must be float logits of shape (N, K) or integer predictions of "
            f"shape (N,), got dtype {logits_or_pred.dtype} and shape {tuple(logits_or_pred.shape)}"
        )
    if not isinstance(y, Tensor):
        raise ArgumentError(f"y must be a torch.Tensor of class indices, got {type(y).__name__}")
    y = check_labels(y.to(pred.device), pred)
    if len(y) == 0:
        raise ArgumentError("accuracy of 0 images is undefined; pass at least one image")
    return float((pred == y).float().mean())


def evaluate(model: nn.Module, x: Tensor, y: Tensor, *, batch_size: int = 1024) -> float:
    """Clean accuracy of ``model`` on ``(x, y)``, computed in eval mode.

    Parameters
    ----------
    model, x, batch_size:
        As for :func:`predict` (at least one image).
    y:
        Integer class labels of shape (N,), in [0, K), on any device.

    Returns
    -------
    float
        The fraction of images whose arg-max logit equals the label, in [0, 1].

    Raises
    ------
    ValueError
        As :func:`predict`, and for labels that are not integers of shape (N,)
        (e.g. (N, 1) or one-hot) or lie outside [0, K).
    """
    x = check_image_batch(x, allow_empty=False)
    if not isinstance(y, Tensor):
        raise ArgumentError(f"y must be a torch.Tensor of class indices, got {type(y).__name__}")
    y = check_labels(y, x) if y.device == x.device else check_labels(y.to(x.device), x)
    logits = predict(model, x, batch_size=batch_size)
    check_label_range(y, logits.shape[1])
    return float((logits.argmax(dim=1) == y).float().mean())
