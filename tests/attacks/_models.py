"""Small models and images the attack tests share (known answers need a linear model)."""

from __future__ import annotations

import torch
from conftest import images
from torch import Tensor, nn

import advlab

__all__ = ["CountingModel", "binary_linear", "images", "prediction", "tiny_linear"]


def tiny_linear(num_classes: int = 3) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))


def prediction(model: nn.Module, x: Tensor) -> Tensor:
    return advlab.predict(model, x).argmax(dim=1)


def binary_linear() -> tuple[nn.Module, Tensor, Tensor, Tensor]:
    """f(x) = Wx + b with 2 classes, images near 0.5 (nothing clips), labels = predictions.

    Returns the model, x, y and u = w_other - w_y per image, the direction that
    increases every objective (cross-entropy and margin alike).
    """
    model = tiny_linear(2)
    g = torch.Generator().manual_seed(2)
    x = 0.5 + 0.1 * (torch.rand(8, 1, 8, 8, generator=g) - 0.5)
    y = prediction(model, x)
    w = model[1].weight.detach()
    u = (w[1 - y] - w[y]).view_as(x)
    return model, x, y, u


class CountingModel(nn.Module):
    """Counts the images the wrapped model is asked about (an attack's queries)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.images = inner, 0

    def forward(self, x: Tensor) -> Tensor:
        self.images += x.shape[0]
        return self.inner(x)
