"""What the metrics share: the model's predictions where labels meet logits."""

from __future__ import annotations

from torch import Tensor, nn

from .._validate import check_label_range
from ..train import predict

__all__ = ["labelled_predictions"]


def labelled_predictions(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Return the model's predictions (N,) on ``x``, after checking ``y`` against its classes.

    Where labels meet logits: the labels must be class indices of this model
    (an out-of-range label is never predicted, so it would count as fooled), and
    the logits must be finite (:func:`advlab.train.predict` checks that).
    """
    logits = predict(model, x)
    check_label_range(y, logits.shape[1])
    return logits.argmax(dim=1)
