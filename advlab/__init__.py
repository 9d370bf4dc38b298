"""advlab: attacks and defenses for the advlab course book.

Images are float tensors in [0, 1], shape (N, C, H, W); normalisation lives
inside the models, so every epsilon is in pixel units.
"""

from . import attacks, data, de, defenses, exercises, metrics, models, stats, train, zoo
from ._validate import ArgumentError, ArgumentTypeError
from .attacks import bim, cw_l2, fgsm, jsma, one_pixel, pgd
from .data import DATASETS, Dataset, DataUnavailableError, load_dataset, load_split
from .device import default_device
from .models import Normalize, SmallCNN, build_model
from .train import evaluate, fit, predict
from .zoo import TrainConfig, Trained, pretrained

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
    "attacks",
    "bim",
    "build_model",
    "cw_l2",
    "data",
    "de",
    "default_device",
    "defenses",
    "evaluate",
    "exercises",
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
    "stats",
    "train",
    "zoo",
]
