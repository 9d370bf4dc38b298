"""Models that take pixels in [0, 1] and return logits.

Normalisation is a layer *inside* every model (:class:`Normalize`), so attacks
and their epsilons live in pixel units, whatever statistics the data has.
Models are built by name with :func:`build_model`, which adapts them to any
(channels, height, width) and number of classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["MODELS", "Normalize", "SmallCNN", "build_model"]


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std`` as a layer, so the model accepts pixels in [0, 1].

    ``mean`` and ``std`` are buffers: they move with ``.to(device)`` and are saved
    in the state dict, but are not trained.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        mean_t = torch.as_tensor(list(mean), dtype=torch.float32)
        std_t = torch.as_tensor(list(std), dtype=torch.float32)
        if mean_t.ndim != 1 or mean_t.shape != std_t.shape:
            raise ValueError("mean and std must be sequences of one float per channel")
        if not torch.all(std_t > 0):
            raise ValueError(f"std must be positive per channel, got {std_t.tolist()}")
        self.register_buffer("mean", mean_t.view(1, -1, 1, 1))
        self.register_buffer("std", std_t.view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class SmallCNN(nn.Module):
    """A small convolutional classifier that adapts to any image size.

    Two blocks of two 3x3 convolutions with ReLU; each block halves the
    resolution with max-pooling while it stays at 4 pixels or more (so 8x8
    digits are pooled once and 28x28 or 32x32 images twice), then a hidden
    dense layer and the logits.

    Parameters
    ----------
    image_shape:
        (channels, height, width) of the input.
    num_classes:
        Number of output logits.
    mean, std:
        Per-channel statistics for the built-in :class:`Normalize` layer.
    width:
        Channels of the first block (the second has twice as many).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        width: int = 32,
    ) -> None:
        super().__init__()
        c, h, w = image_shape
        self.normalize = Normalize(
            [0.5] * c if mean is None else mean, [0.5] * c if std is None else std
        )
        layers: list[nn.Module] = []
        channels, size = c, min(h, w)
        for out in (width, 2 * width):
            layers += [
                nn.Conv2d(channels, out, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(out, out, 3, padding=1),
                nn.ReLU(),
            ]
            if size // 2 >= 4:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            channels = out
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, c, h, w)).numel()
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, num_classes)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.normalize(x)))


#: Model constructors by name; each takes ``(image_shape, num_classes, mean=, std=, **kwargs)``.
MODELS: dict[str, Callable[..., nn.Module]] = {"small_cnn": SmallCNN}


def build_model(
    name: str,
    image_shape: tuple[int, int, int],
    num_classes: int,
    *,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    **kwargs: object,
) -> nn.Module:
    """Build a model by name for images of ``image_shape`` = (C, H, W) and ``num_classes`` classes.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or a bad shape.
    """
    if name not in MODELS:
        known = ", ".join(repr(k) for k in MODELS)
        raise ValueError(f"unknown model {name!r}; known models are {known}")
    if len(image_shape) != 3 or any(int(s) < 1 for s in image_shape):
        raise ValueError(f"image_shape must be (channels, height, width), got {image_shape!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    shape = (int(image_shape[0]), int(image_shape[1]), int(image_shape[2]))
    return MODELS[name](shape, int(num_classes), mean=mean, std=std, **kwargs)
