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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ._utils import eval_mode, model_device
from .device import default_device

__all__ = ["History", "accuracy", "evaluate", "fit", "predict", "set_seed"]

Perturb = Callable[[nn.Module, Tensor, Tensor], "Tensor | tuple[Tensor, Tensor]"]
LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class History:
    """Per-epoch training loss and accuracy (on the batches the model trained on)."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def set_seed(seed: int) -> None:
    """Seed PyTorch's global generators (CPU and every CUDA device)."""
    torch.manual_seed(seed)


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
    progress: bool = True,
) -> History:
    """Train ``model`` in place with Adam on ``(x, y)``; return the per-epoch history.

    Parameters
    ----------
    model:
        Any classifier returning logits; it is moved to ``device`` and left in train mode.
    x, y:
        Images in [0, 1] (N, C, H, W) and integer labels (N,) or soft targets (N, K).
    epochs, batch_size, lr, weight_decay:
        The usual; the data is reshuffled each epoch by a generator seeded with ``seed``.
    device:
        Where to train; defaults to :func:`advlab.device.default_device`.
    perturb:
        Optional ``perturb(model, xb, yb)`` applied to each batch before the step; it
        returns the new images (same labels) or a pair ``(images, labels)``.
    loss_fn:
        Optional ``loss_fn(logits, targets)``; defaults to mean cross-entropy.
    progress:
        Show a tqdm progress bar over epochs.
    """
    if x.ndim != 4 or len(x) != len(y):
        raise ValueError(
            f"fit expects x of shape (N, C, H, W) and y with N entries; got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if epochs < 1 or batch_size < 1 or not (lr > 0 and math.isfinite(lr)):
        raise ValueError("epochs and batch_size must be >= 1 and lr a positive finite number")
    dev = torch.device(device) if device is not None else default_device()
    model.to(dev)
    x, y = x.to(dev), y.to(dev)
    loss_fn = loss_fn or (lambda logits, t: F.cross_entropy(logits, t))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        model.train()
        order = torch.randperm(len(x), generator=gen).to(dev)
        total_loss, correct, seen = 0.0, 0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            xb, yb = x[idx], y[idx]
            if perturb is not None:
                out = perturb(model, xb, yb)
                xb, yb = out if isinstance(out, tuple) else (out, yb)
                if len(xb) != len(yb):
                    raise ValueError(
                        f"perturb returned {len(xb)} images for {len(yb)} labels; return "
                        "(images, labels) when the batch changes size"
                    )
                xb, yb = xb.detach(), yb.detach()
                model.train()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += float(loss.detach()) * len(yb)
            hard = yb if yb.ndim == 1 else yb.argmax(dim=1)
            correct += int((logits.argmax(dim=1) == hard).sum())
            seen += len(yb)
        history.loss.append(total_loss / seen)
        history.accuracy.append(correct / seen)
        bar.set_postfix(loss=f"{history.loss[-1]:.3f}", acc=f"{history.accuracy[-1]:.3f}")
    return history


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, *, batch_size: int = 1024) -> Tensor:
    """Logits of ``model`` on ``x`` in eval mode (the model's mode is restored), on x's device."""
    dev = model_device(model) or x.device
    with eval_mode(model):
        outs = [
            model(x[i : i + batch_size].to(dev)).to(x.device) for i in range(0, len(x), batch_size)
        ]
    return torch.cat(outs) if outs else torch.empty(0)


def accuracy(logits_or_pred: Tensor, y: Tensor) -> float:
    """Fraction of rows whose arg-max (or given prediction) equals ``y``."""
    pred = logits_or_pred.argmax(dim=1) if logits_or_pred.ndim == 2 else logits_or_pred
    return float((pred.to(y.device) == y).float().mean()) if len(y) else float("nan")


def evaluate(model: nn.Module, x: Tensor, y: Tensor, *, batch_size: int = 1024) -> float:
    """Clean accuracy of ``model`` on ``(x, y)``, computed in eval mode."""
    return accuracy(predict(model, x, batch_size=batch_size), y)
