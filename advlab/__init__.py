"""advlab: attacks and defenses for the advlab course book.

Images are float tensors in [0, 1], shape (N, C, H, W); normalisation lives
inside the models, so every epsilon is in pixel units.
"""

from . import attacks, book, data, de, defenses, metrics, models, stats, train, zoo
from ._validate import ArgumentError, ArgumentTypeError
from .attacks import apgd, bim, cw_l2, fgsm, jsma, one_pixel, pgd, square
from .data import DATASETS, Dataset, DataUnavailableError, load_dataset, load_split
from .device import default_device
from .models import Normalize, SmallCNN, build_model
from .train import evaluate, fit, predict
from .zoo import TrainConfig, Trained, pretrained

#: The package version (PEP 440): the last release, until the next one is cut.
__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "ArgumentError",
    "ArgumentTypeError",
    "DataUnavailableError",
    "Dataset",
    "Normalize",
    "SmallCNN",
    "TrainConfig",
    "Trained",
    "__version__",
    "apgd",
    "attacks",
    "bim",
    "book",
    "build_model",
    "cw_l2",
    "data",
    "de",
    "default_device",
    "defenses",
    "evaluate",
    "fgsm",
    "fit",
    "jsma",
    "load_dataset",
    "load_split",
    "metrics",
    "models",
    "one_pixel",
    "pgd",
    "predict",
    "pretrained",
    "square",
    "stats",
    "train",
    "zoo",
]


# advlab.exercises, advlab.settings and advlab.widgets moved to advlab.book in 0.2: the old
# attributes still resolve, for one release, with a DeprecationWarning naming the new path
_MOVED = {
    "exercises": "advlab.book.exercises",
    "settings": "advlab.book.settings",
    "widgets": "advlab.book.widgets",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"advlab.{name} moved to {_MOVED[name]}; use that (advlab.{name} will be removed "
            "in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module 'advlab' has no attribute {name!r}")
