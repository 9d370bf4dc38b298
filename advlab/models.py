"""Models that take pixels in [0, 1] and return logits.

Normalisation is a layer *inside* every model (:class:`Normalize`), so attacks
and their epsilons live in pixel units, whatever statistics the data has.
Models are built by name with :func:`build_model`, which adapts them to any
(channels, height, width) and number of classes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import ArgumentError

__all__ = ["MODELS", "Normalize", "SmallCNN", "build_model", "check_architecture"]


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std`` as a layer, so the model accepts pixels in [0, 1].

    ``mean`` and ``std`` are buffers: they move with ``.to(device)`` and are saved
    in the state dict, but are not trained.
    """

    mean: Tensor
    std: Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        mean_t = _per_channel(mean, "mean")
        std_t = _per_channel(std, "std")
        if mean_t.shape != std_t.shape:
            raise ArgumentError(
                f"mean and std must have one value per channel each, got {len(mean_t)} means "
                f"and {len(std_t)} stds"
            )
        if not torch.all(std_t > 0):
            raise ArgumentError(f"std must be positive per channel, got {std_t.tolist()}")
        self.register_buffer("mean", mean_t.view(1, -1, 1, 1))
        self.register_buffer("std", std_t.view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(x - mean) / std`` per channel."""
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        """Return ``mean=[...], std=[...]`` for the module's repr."""
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


def _per_channel(values: object, name: str) -> Tensor:
    """Return a 1-D float32 tensor of finite numbers from a sequence, NumPy array or 1-D tensor."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ArgumentError(
            f"{name} must be a sequence of one number per channel, got {type(values).__name__}"
        )
    if isinstance(values, (Tensor, np.ndarray)):
        if values.ndim != 1:
            raise ArgumentError(f"{name} must be one-dimensional: one number per channel")
        items = values.tolist()
    else:
        items = list(values)  # type: ignore[call-overload]  # a sized iterable; list() says if not
    if not items:
        raise ArgumentError(f"{name} must have one number per channel, got an empty sequence")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise ArgumentError(f"{name} must hold numbers, got {type(v).__name__}")
        if not math.isfinite(float(v)):
            raise ArgumentError(f"{name} must hold finite numbers, got {float(v)}")
        out.append(float(v))
    return torch.tensor(out, dtype=torch.float32)


#: Guards against a typo that would allocate terabytes: the largest side, channel count,
#: class count and width a model may be built with.
MAX_SIDE, MAX_CHANNELS, MAX_CLASSES, MAX_WIDTH = 4096, 4096, 1_000_000, 4096


def check_architecture(
    image_shape: object, num_classes: object
) -> tuple[tuple[int, int, int], int]:
    """``(C, H, W)`` of positive integers and an integer ``num_classes >= 2``, or a ValueError.

    Python and NumPy integers are accepted; floats such as ``2.5`` or ``8.0`` are not.
    Sizes above :data:`MAX_SIDE` (H, W), :data:`MAX_CHANNELS` (C) and
    :data:`MAX_CLASSES` are refused as typos rather than allocated.
    """

    def is_int(v: object) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))

    if (
        isinstance(image_shape, (str, bytes))
        or not isinstance(image_shape, Sequence | torch.Size)
        or len(image_shape) != 3
        or not all(is_int(s) and int(s) >= 1 for s in image_shape)
    ):
        raise ArgumentError(
            f"image_shape must be (channels, height, width) of positive integers, "
            f"got {image_shape!r}"
        )
    if (
        not isinstance(num_classes, numbers.Integral)
        or isinstance(num_classes, (bool, np.bool_))
        or int(num_classes) < 2
    ):
        raise ArgumentError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    c, h, w = (int(s) for s in image_shape)
    if c > MAX_CHANNELS or max(h, w) > MAX_SIDE:
        raise ArgumentError(
            f"image_shape {(c, h, w)} is too large (at most {MAX_CHANNELS} channels and "
            f"{MAX_SIDE} pixels a side)"
        )
    if int(num_classes) > MAX_CLASSES:
        raise ArgumentError(f"num_classes must be at most {MAX_CLASSES:,}, got {num_classes}")
    return (c, h, w), int(num_classes)


def _common_setup(
    image_shape: object,
    num_classes: object,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    width: object,
) -> tuple[tuple[int, int, int], int, int, Normalize]:
    """Run the checks every model shares: architecture, width, and a per-channel Normalize."""
    (c, h, w), classes = check_architecture(image_shape, num_classes)
    if (
        isinstance(width, (bool, np.bool_))
        or not isinstance(width, numbers.Integral)
        or not 1 <= int(width) <= MAX_WIDTH
    ):
        raise ArgumentError(f"width must be an integer in 1 ... {MAX_WIDTH}, got {width!r}")
    normalize = Normalize([0.5] * c if mean is None else mean, [0.5] * c if std is None else std)
    if normalize.mean.shape[1] != c:
        raise ArgumentError(
            f"mean and std must have one value per channel: the images have {c} channel(s), "
            f"got {normalize.mean.shape[1]}"
        )
    return (c, h, w), classes, int(width), normalize


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
        (c, h, w), num_classes, width, self.normalize = _common_setup(
            image_shape, num_classes, mean, std, width
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
        """Return the logits (N, num_classes) of images ``x`` (N, C, H, W) in [0, 1]."""
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

    Parameters
    ----------
    name:
        A key of :data:`MODELS`.
    image_shape:
        (channels, height, width), positive integers (Python or NumPy).
    num_classes:
        Number of logits, an integer >= 2.
    mean, std:
        Optional per-channel statistics (finite; ``std > 0``), one per channel.
    **kwargs:
        Passed to the model's constructor (e.g. ``width=`` of :class:`SmallCNN`).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), a shape that is
        not three positive integers, ``num_classes`` that is not an integer
        >= 2, or a mean/std that is not finite, not positive (std), or whose
        length differs from the channel count.
    """
    if not isinstance(name, str) or name not in MODELS:
        known = ", ".join(repr(k) for k in MODELS)
        raise ArgumentError(f"unknown model {name!r}; known models are {known}")
    shape, classes = check_architecture(image_shape, num_classes)
    for stats, what in ((mean, "mean"), (std, "std")):
        if stats is not None and len(_per_channel(stats, what)) != shape[0]:
            raise ArgumentError(
                f"{what} must have one value per channel: the images have {shape[0]} "
                f"channel(s), got {len(_per_channel(stats, what))}"
            )
    return MODELS[name](shape, classes, mean=mean, std=std, **kwargs)


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

    Raises ``ValueError`` for a shape that is not three positive integers, ``num_classes``
    that is not an integer >= 2, a ``width`` outside 1 ... 4096, or a mean/std that is not one
    finite number per channel (std > 0), as :class:`SmallCNN` does.
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
        (c, h, w), num_classes, width, self.normalize = _common_setup(
            image_shape, num_classes, mean, std, width
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
        """Return the logits (N, num_classes) of images ``x`` (N, C, H, W) in [0, 1]."""
        return self.features(self.normalize(x))


class NiN(nn.Module):
    """Network in Network (Lin et al., 2014), scaled down.

    Three "mlpconv" blocks (a k x k convolution, batch-normalised so it trains
    in a few epochs, followed by two 1x1 convolutions: the micro-network shared
    across positions); max-pooling
    after the first two while the image stays >= 2 pixels; the last block
    outputs one map per class and global average pooling replaces the dense
    head.

    Raises ``ValueError`` for a shape that is not three positive integers, ``num_classes``
    that is not an integer >= 2, a ``width`` outside 1 ... 4096, or a mean/std that is not one
    finite number per channel (std > 0), as :class:`SmallCNN` does.
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
        (c, h, w), num_classes, width, self.normalize = _common_setup(
            image_shape, num_classes, mean, std, width
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
        """Return the logits (N, num_classes) of images ``x`` (N, C, H, W) in [0, 1]."""
        return self.features(self.normalize(x))


class VGG16(nn.Module):
    """VGG-16 (Simonyan and Zisserman, 2015) in shape, scaled down in width.

    Thirteen 3x3 convolutions in five blocks of 2, 2, 3, 3, 3 (with batch
    normalisation, so so deep a net trains in a few epochs on small data),
    channel widths ``width * (1, 2, 4, 8, 8)`` (the original: 64 ... 512),
    max-pooling after a block while the image stays >= 1 pixel, then two
    hidden dense layers and the logits.

    Raises ``ValueError`` for a shape that is not three positive integers, ``num_classes``
    that is not an integer >= 2, a ``width`` outside 1 ... 4096, or a mean/std that is not one
    finite number per channel (std > 0), as :class:`SmallCNN` does.
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
        (c, h, w), num_classes, width, self.normalize = _common_setup(
            image_shape, num_classes, mean, std, width
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
        """Return the logits (N, num_classes) of images ``x`` (N, C, H, W) in [0, 1]."""
        return self.classifier(self.features(self.normalize(x)))


MODELS.update({"all_conv": AllConv, "nin": NiN, "vgg16": VGG16})
__all__ += ["VGG16", "AllConv", "NiN"]
