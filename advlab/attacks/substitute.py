"""Papernot et al.'s practical black-box attack (2017): a substitute grown from label queries.

Threat model: the attacker can only submit images to the target and read the
predicted label (the label-only setting of :class:`advlab.defenses.masking.LabelOnly`),
and holds a small seed set of unlabelled images of the task. It

1. asks the target for the labels of its current set ``S_0`` (the seed);
2. trains its own model, the substitute ``F``, on those labels;
3. grows the set by *Jacobian-based dataset augmentation*: every ``x`` in
   ``S_ρ`` gets a sibling ``x + λ · sign(∂F_{O(x)}(x) / ∂x)``, a step along the
   direction in which the substitute's score for the target's label changes
   most, i.e. towards the substitute's decision boundary, where its
   disagreements with the target are; the set doubles each round;
4. repeats for ``rounds`` rounds; finally crafts adversarial examples on ``F``
   with any white-box attack and submits them (:func:`advlab.attacks.transfer.transfer_attack`).

Only new points are ever submitted, so the number of label queries is exact:
``len(seed) · 2 ** (rounds - 1)`` in total.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .._utils import frozen_eval, model_device
from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_count,
    check_finite_logits,
    check_grad_mode,
    check_images,
    check_label_range,
    check_labels,
    check_logits,
    check_real,
    check_seed,
)
from ..models import build_model
from ..train import evaluate, fit

__all__ = ["LabelOracle", "SubstituteResult", "jacobian_augment", "train_substitute"]


class LabelOracle:
    """The target as the attacker sees it: images in, labels out, every image counted.

    Parameters
    ----------
    model:
        The target classifier; its arg-max is the label returned.
    batch_size:
        Images per forward pass.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``.
    """

    def __init__(self, model: nn.Module, batch_size: int = 1024) -> None:
        if not isinstance(model, nn.Module):
            raise ArgumentTypeError(
                f"the target must be a torch.nn.Module returning scores, got {type(model).__name__}"
            )
        self.model = model
        self.batch_size = check_count(batch_size, "batch_size")
        self.queries = 0

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        """Predicted labels of ``x`` (int64, on x's device); adds ``len(x)`` to :attr:`queries`."""
        dev = model_device(self.model) or x.device
        with frozen_eval(self.model):
            out = [
                check_finite_logits(
                    check_logits(
                        self.model(x[i : i + self.batch_size].to(dev)),
                        len(x[i : i + self.batch_size]),
                    ),
                    "the target",
                )
                .argmax(dim=1)
                .to(x.device)
                for i in range(0, len(x), self.batch_size)
            ]
        self.queries += len(x)
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long, device=x.device)


def jacobian_augment(substitute: nn.Module, x: Tensor, labels: Tensor, lam: float) -> Tensor:
    """Return one augmentation round's new points ``clip(x + lam · sign(∂F_label(x)/∂x), 0, 1)``.

    ``F_label`` is the substitute's logit for the label the target gave each
    image; the whole batch is differentiated at once (the logits of different
    images do not interact). ``lam`` may be negative (Papernot et al.
    alternate its sign every τ rounds).

    Returns
    -------
    Tensor
        Detached new images, same shape as ``x``. A NaN gradient entry moves nothing.

    Raises
    ------
    TypeError
        If ``substitute`` is not an ``nn.Module``.
    ValueError
        For bad images or labels, or a ``lam`` that is not a finite number.
    """
    if not isinstance(substitute, nn.Module):
        raise ArgumentTypeError(
            f"substitute must be a torch.nn.Module, got {type(substitute).__name__}"
        )
    lam = _check_step(lam)
    check_images(substitute, x)
    check_grad_mode(x)
    labels = check_labels(labels, x, "labels")
    with frozen_eval(substitute), torch.enable_grad():
        xg = x.detach().clone().requires_grad_(True)
        logits = check_logits(substitute(xg), len(x))
        check_label_range(labels, logits.shape[1], "labels")
        (grad,) = torch.autograd.grad(logits.gather(1, labels[:, None]).sum(), xg)
    grad = grad.nan_to_num(nan=0.0)
    return (x.detach() + lam * grad.sign()).clamp_(0.0, 1.0)


def _check_step(lam: object) -> float:
    """λ of one augmentation: a finite number, either sign (the periodic schedule flips it)."""
    if isinstance(lam, Tensor) and lam.numel() == 1:
        lam = lam.item()
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating, np.integer)):
        raise ArgumentError(f"lam must be a number (pixel units), got {type(lam).__name__}")
    lam = float(lam)
    if not math.isfinite(lam):
        raise ArgumentError(f"lam must be a finite number (pixel units), got {lam}")
    return lam


@dataclass
class SubstituteResult:
    """A substitute trained from label queries, and the record of how it grew.

    Attributes
    ----------
    substitute:
        The trained substitute (eval mode), a differentiable model of the target.
    x_train, y_train:
        The final query set and the target's labels for it.
    queries:
        Label queries made to the target in total (exact).
    queries_per_round:
        Cumulative queries after each round's labelling, one entry per round.
    set_sizes:
        Size of the training set in each round.
    accuracy:
        The substitute's accuracy on ``(x_eval, y_eval)`` after each round, if given.
    agreement:
        Fraction of ``x_eval`` on which the substitute agrees with the target
        after each round, if ``x_eval`` was given (these evaluation queries are
        not part of the attack and not counted).
    """

    substitute: nn.Module
    x_train: Tensor
    y_train: Tensor
    queries: int
    queries_per_round: list[int] = field(default_factory=list)
    set_sizes: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    agreement: list[float] = field(default_factory=list)


def _check_eval(target: nn.Module, x_eval: Tensor | None, y_eval: Tensor | None) -> Tensor | None:
    """Check the held-out images and labels (both or neither); return the checked labels."""
    if (x_eval is None) != (y_eval is None):
        raise ArgumentError(
            "pass x_eval and y_eval together (held-out images and their true labels)"
        )
    if x_eval is not None and y_eval is not None:
        check_images(target, x_eval)
        y_eval = check_labels(y_eval, x_eval)
    return y_eval


def _new_substitute(
    make_model: Callable[[tuple[int, int, int], int], nn.Module] | None,
    x_seed: Tensor,
    num_classes: int,
) -> nn.Module:
    """Build the untrained substitute: ``make_model``'s, or a SmallCNN normalised by the seed."""
    c, h, w = x_seed.shape[1:]
    if make_model is None:
        mean = x_seed.mean(dim=(0, 2, 3)).tolist()
        std = x_seed.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
        return build_model("small_cnn", (c, h, w), num_classes, mean=mean, std=std)
    substitute = make_model((c, h, w), num_classes)
    if not isinstance(substitute, nn.Module):
        raise ArgumentTypeError(
            f"make_model must return an nn.Module, got {type(substitute).__name__}"
        )
    return substitute


def _record_eval(
    result: SubstituteResult, x_eval: Tensor, y_eval: Tensor, eval_labels: Tensor
) -> None:
    """Append the substitute's held-out accuracy and its agreement with the target's labels."""
    substitute = result.substitute
    with torch.no_grad():
        pred = torch.cat(
            [substitute(x_eval[i : i + 1024]).argmax(1) for i in range(0, len(x_eval), 1024)]
        )
    result.accuracy.append(evaluate(substitute, x_eval, y_eval))
    result.agreement.append(float((pred == eval_labels).float().mean()))


def train_substitute(
    target: nn.Module,
    x_seed: Tensor,
    *,
    rounds: int = 4,
    lam: float = 0.1,
    tau: int | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    make_model: Callable[[tuple[int, int, int], int], nn.Module] | None = None,
    x_eval: Tensor | None = None,
    y_eval: Tensor | None = None,
    on_round: Callable[[int, nn.Module, int], None] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> SubstituteResult:
    """Papernot et al.'s substitute training: label queries plus Jacobian-based augmentation.

    Threat model: label-only black box. ``target`` is used only through
    :class:`LabelOracle` (labels of submitted images, each counted); its
    gradients, scores and training data are never touched.

    Parameters
    ----------
    target:
        The model under attack (e.g. a :class:`~advlab.defenses.masking.LabelOnly` model).
    x_seed:
        The attacker's seed images, float (N, C, H, W) in [0, 1], unlabelled,
        on the target's device. Not modified.
    rounds:
        Substitute training rounds ρ, at least 1; the set doubles between rounds.
    lam:
        Augmentation step λ in pixel units, > 0.
    tau:
        If given, λ changes sign every ``tau`` rounds (Papernot et al.'s
        periodic step size); at least 1.
    epochs, batch_size, lr:
        Training of the substitute in each round (it continues from the previous round's weights).
    make_model:
        ``make_model(image_shape, num_classes)`` builds the substitute; default
        advlab's SmallCNN normalised with the seed's statistics.
    x_eval, y_eval:
        Optional held-out images and true labels to record the substitute's
        accuracy and its agreement with the target after each round.
    on_round:
        Optional ``on_round(round, substitute, queries)`` called after each
        round's training (e.g. to measure transfer against the number of queries).
    seed:
        Seeds the substitute's initialisation and its training shuffles.
    progress:
        Show training progress bars.

    Returns
    -------
    SubstituteResult

    Raises
    ------
    TypeError
        If ``target`` is not an ``nn.Module``.
    ValueError
        If ``lam <= 0``, ``rounds < 1``, ``tau < 1``, ``epochs < 1``, or for bad
        seed images (or evaluation images and labels).
    """
    oracle = LabelOracle(target)
    lam = check_real(lam, "lam (the augmentation step λ)", positive=True)
    rounds = check_count(rounds, "rounds")
    if tau is not None:
        tau = check_count(tau, "tau")
    epochs = check_count(epochs, "epochs")
    batch_size = check_count(batch_size, "batch_size")
    lr = check_real(lr, "lr", positive=True)
    seed = check_seed(seed, "seed")
    if not isinstance(progress, (bool, np.bool_)):
        raise ArgumentError(f"progress must be True or False, got {progress!r}")
    if make_model is not None and not callable(make_model):
        raise ArgumentTypeError(
            "make_model must be a function make_model(image_shape, num_classes)"
        )
    if on_round is not None and not callable(on_round):
        raise ArgumentTypeError("on_round must be a function on_round(round, substitute, queries)")
    check_images(target, x_seed)
    check_grad_mode(x_seed)
    y_eval = _check_eval(target, x_eval, y_eval)
    dev = x_seed.device
    x_set = x_seed.detach().clone()
    y_set = oracle(x_set)
    with torch.no_grad(), frozen_eval(target):  # the output width: known, not a label query
        num_classes = int(check_logits(target(x_seed[:1]), 1).shape[1])
    if num_classes < 2:
        raise ArgumentError(f"the target must score at least 2 classes, it returns {num_classes}")
    torch.manual_seed(seed % 2**63)
    substitute = _new_substitute(make_model, x_seed, num_classes)
    substitute.to(dev)
    result = SubstituteResult(substitute, x_set, y_set, 0)
    eval_labels = oracle(x_eval) if x_eval is not None else None
    eval_queries = len(x_eval) if x_eval is not None else 0
    for r in range(rounds):
        if r > 0:
            step = lam if tau is None or (r - 1) // tau % 2 == 0 else -lam
            new = jacobian_augment(substitute, x_set, y_set, step)
            x_set = torch.cat([x_set, new])
            y_set = torch.cat([y_set, oracle(new)])
        fit(
            substitute,
            x_set,
            y_set,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=(seed + r) % 2**64,
            device=dev,
            progress=progress,
        )
        substitute.eval()
        queries = oracle.queries - eval_queries
        result.queries_per_round.append(queries)
        result.set_sizes.append(len(x_set))
        if x_eval is not None:
            assert y_eval is not None and eval_labels is not None
            _record_eval(result, x_eval, y_eval, eval_labels)
        if on_round is not None:
            on_round(r, substitute, queries)
            substitute.eval()
    result.x_train, result.y_train = x_set, y_set
    result.queries = oracle.queries - eval_queries
    return result
