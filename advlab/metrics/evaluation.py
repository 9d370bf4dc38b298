"""The standard evaluation: the worst case per image over APGD-CE, APGD-DLR and Square.

In the spirit of AutoAttack (Croce & Hein, 2020): two white-box attacks with different losses
(cross-entropy, and the scale-free difference-of-logits ratio, which saturated logits do not
fool) and one black-box attack that never reads a gradient (Square; Andriushchenko et al.,
2020). An image counts as robust only if it survives all three, so a defense that masks its
gradients, or whose logits defeat one loss, is still measured by the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from torch import Tensor, nn

from .._validate import check_count, check_eps, check_images, check_labels, check_seed
from ..attacks.apgd import apgd
from ..attacks.square import square
from ..stats import Rate, rate_of
from ._predictions import labelled_predictions

__all__ = ["RobustnessReport", "evaluate_robustness"]


@dataclass(frozen=True)
class RobustnessReport:
    """What :func:`evaluate_robustness` measured, per image.

    Attributes
    ----------
    eps:
        The L∞ budget.
    clean:
        Per image (N,): classified correctly without attack.
    by_attack:
        Per attack name (``"APGD-CE"``, ``"APGD-DLR"``, ``"Square"``): per image, still
        classified correctly after that attack (read-only mapping).
    robust:
        Per image: correct clean and after every attack (the worst case).
    x_adv:
        Per image, the worst case's adversarial image: that of the first attack (in the
        order APGD-CE, APGD-DLR, Square) that fooled the model, else Square's. The model
        classifies ``x_adv`` correctly exactly where ``robust`` is True.
    """

    eps: float
    clean: Tensor
    by_attack: Mapping[str, Tensor]
    robust: Tensor
    x_adv: Tensor

    @property
    def robust_accuracy(self) -> float:
        """The fraction of images robust to every attack."""
        return float(self.robust.float().mean())

    def rate(self) -> Rate:
        """Robust accuracy with its Wilson interval (:func:`advlab.stats.rate_of`)."""
        return rate_of(self.robust)

    def accuracies(self) -> dict[str, float]:
        """Clean accuracy, each attack's robust accuracy, and the worst case, by name."""
        out = {"clean": float(self.clean.float().mean())}
        out.update({name: float(m.float().mean()) for name, m in self.by_attack.items()})
        out["worst case"] = self.robust_accuracy
        return out


def evaluate_robustness(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    steps: int = 100,
    restarts: int = 1,
    square_steps: int = 1000,
    seed: int = 0,
) -> RobustnessReport:
    """Robust accuracy under the worst case per image of APGD-CE, APGD-DLR and Square (L∞).

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    x, y:
        Images (N, C, H, W) in [0, 1] and their true labels (N,).
    eps:
        L∞ budget in pixel units.
    steps, restarts:
        Iterations and random restarts of each APGD run.
    square_steps:
        Iterations (queries) of the Square attack.
    seed:
        Seeds every attack, so the evaluation is repeatable.

    Returns
    -------
    RobustnessReport
        The clean and per-attack masks, the worst case, and its adversarial images.

    Raises
    ------
    ValueError
        For bad images, labels, budgets or counts, or (from APGD-DLR) a model with fewer than
        three classes: evaluate it with ``apgd(loss="ce")`` and ``square`` yourself.
    """
    eps = check_eps(eps)
    steps = check_count(steps, "steps")
    restarts = check_count(restarts, "restarts")
    square_steps = check_count(square_steps, "square_steps")
    seed = check_seed(seed)
    check_images(model, x)
    y = check_labels(y, x)
    clean = labelled_predictions(model, x, y) == y
    by_attack: dict[str, Tensor] = {}
    x_adv = {
        "APGD-CE": apgd(model, x, y, eps=eps, steps=steps, restarts=restarts, loss="ce", seed=seed),
        "APGD-DLR": apgd(
            model, x, y, eps=eps, steps=steps, restarts=restarts, loss="dlr", seed=seed
        ),
        "Square": square(model, x, y, eps=eps, steps=square_steps, seed=seed),
    }
    robust = clean.clone()
    worst = x_adv["Square"].clone()  # for the images no attack fools
    for name, images in x_adv.items():  # the first attack that fools an image gives its image
        by_attack[name] = labelled_predictions(model, images, y) == y
        take = robust & ~by_attack[name]
        worst[take] = images[take]
        robust &= by_attack[name]
    worst[~clean] = x[~clean]  # misclassified already: the clean image is its own worst case
    return RobustnessReport(eps, clean, MappingProxyType(by_attack), robust, worst)
