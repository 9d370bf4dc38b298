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


# --- the one-pixel paper's networks, scaled to small images (Part IV) ---------------------------


def _pools(size: int, wanted: int) -> int:
    """How many 2x downsamplings (at most ``wanted``) keep a ``size`` image at >= 2 pixels."""
    n = 0
    while n < wanted and size // 2 >= 2:
        size //= 2
        n += 1
    return n


class AllConv(nn.Module):
    """All-Convolutional net (Springenberg et al., 2015), scaled down: no pooling layers.

    Three stages: two 3x3 convolutions then a 3x3 convolution of stride 2
    (in place of max-pooling), twice, then a 3x3 and two 1x1 convolutions, the
    last giving one map per class, averaged over the image (global average
    pooling). Widths ``width`` and ``2 * width`` (the paper: 96 and 192). A
    stride-2 stage is dropped when the image would shrink below 2 pixels.
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
        strides = _pools(min(h, w), 2)
        layers: list[nn.Module] = []
        channels = c
        for stage, out in enumerate((width, 2 * width)):
            stride = 2 if stage < strides else 1
            layers += [
                nn.Conv2d(channels, out, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(out, out, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(out, out, 3, padding=1, stride=stride),
                nn.ReLU(),
            ]
            channels = out
        layers += [
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 1),
            nn.ReLU(),
            nn.Conv2d(channels, num_classes, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        ]
        self.features = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.features(self.normalize(x))


class NiN(nn.Module):
    """Network in Network (Lin et al., 2014), scaled down.

    Three "mlpconv" blocks (a k x k convolution, batch-normalised so it trains
    in a few epochs, followed by two 1x1 convolutions: the micro-network shared
    across positions); max-pooling
    after the first two while the image stays >= 2 pixels; the last block
    outputs one map per class and global average pooling replaces the dense
    head.
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

        def mlpconv(cin: int, cout: int, k: int, last: int | None = None) -> list[nn.Module]:
            end = cout if last is None else last
            return [
                nn.Conv2d(cin, cout, k, padding=k // 2),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.Conv2d(cout, cout, 1),
                nn.ReLU(),
                nn.Conv2d(cout, end, 1),
            ]

        pools = _pools(min(h, w), 2)
        layers: list[nn.Module] = [*mlpconv(c, width, 5), nn.ReLU()]
        if pools >= 1:
            layers.append(nn.MaxPool2d(2))
        layers += [*mlpconv(width, 2 * width, 3), nn.ReLU()]
        if pools >= 2:
            layers.append(nn.MaxPool2d(2))
        layers += [*mlpconv(2 * width, 2 * width, 3, last=num_classes)]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.features(self.normalize(x))


class VGG16(nn.Module):
    """VGG-16 (Simonyan and Zisserman, 2015) in shape, scaled down in width.

    Thirteen 3x3 convolutions in five blocks of 2, 2, 3, 3, 3 (with batch
    normalisation, so so deep a net trains in a few epochs on small data),
    channel widths ``width * (1, 2, 4, 8, 8)`` (the original: 64 ... 512),
    max-pooling after a block while the image stays >= 1 pixel, then two
    hidden dense layers and the logits.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        width: int = 8,
    ) -> None:
        super().__init__()
        c, h, w = image_shape
        self.normalize = Normalize(
            [0.5] * c if mean is None else mean, [0.5] * c if std is None else std
        )
        layers: list[nn.Module] = []
        channels, size = c, min(h, w)
        for convs, mult in zip((2, 2, 3, 3, 3), (1, 2, 4, 8, 8), strict=True):
            out = width * mult
            for _ in range(convs):
                layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
                channels = out
            if size // 2 >= 1:
                layers.append(nn.MaxPool2d(2))
                size //= 2
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.features(torch.zeros(2, c, h, w)).shape[1:].numel()
        hidden = 16 * width
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.normalize(x)))


MODELS.update({"all_conv": AllConv, "nin": NiN, "vgg16": VGG16})
__all__ += ["VGG16", "AllConv", "NiN"]
