"""HopSkipJump (Chen, Jordan & Wainwright, 2020): a decision-based attack, L2, untargeted.

The attacker sees only the label the model answers, as from a label-only API. It walks the
decision boundary towards the original image:

1. **start** from an image that is already misclassified (uniform noise, redrawn until the
   label differs), and **binary-search** the segment to the original image for the boundary;
2. **estimate the direction** of the boundary's normal at the boundary point ``x_b`` from
   labels alone: for ``B`` random unit directions ``u_b``, ask whether ``x_b + delta u_b`` is
   adversarial (``phi_b = +1``) or not (``-1``), and average ``(phi_b - mean(phi)) u_b``;
3. **step** along that direction with ``xi = ||x_b - x|| / sqrt(t)``, halving ``xi`` until the
   point is adversarial again (a geometric search), and binary-search back to the boundary.

With ``d`` pixels, the probe radius is ``delta = sqrt(d) * theta * ||x_b - x||`` with
``theta = gamma / d^(3/2)``, the binary searches stop at a relative precision ``theta``, and
iteration ``t`` uses ``B = init_samples * sqrt(t)`` probes, as in the paper's L2 version. Every
label asked for is counted per image (:attr:`HopSkipJumpResult.queries`), so the attack can be
compared with others at an equal number of queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    check_count,
    check_finite_logits,
    check_images,
    check_label_range,
    check_logits,
    check_real,
    make_generator,
)
from ._common import resolve_labels
from .result import AttackResult

__all__ = ["HopSkipJumpResult", "hop_skip_jump"]


@dataclass
class HopSkipJumpResult(AttackResult):
    """:class:`AttackResult` plus the L2 distance reached and the labels asked for, per image.

    Attributes
    ----------
    distance:
        (N,) float: ``||x_adv - x||_2`` (inf where no adversarial start was found).
    queries:
        (N,) int64: how many labels the attack asked for, for each image.
    """

    distance: Tensor
    queries: Tensor


class _Oracle:
    """Labels of images, each asked for counted against the image it belongs to."""

    def __init__(self, model: nn.Module, y: Tensor, n: int, batch_size: int) -> None:
        self.model, self.y, self.batch_size = model, y, batch_size
        self.queries = torch.zeros(n, dtype=torch.long, device=y.device)

    def adversarial(self, x: Tensor, owner: Tensor) -> Tensor:
        """Say per image of ``x`` (owned by the images ``owner``) whether its label is wrong."""
        labels = torch.cat(
            [
                check_finite_logits(check_logits(self.model(chunk), len(chunk))).argmax(1)
                for chunk in x.split(self.batch_size)
            ]
        )
        self.queries.index_add_(0, owner, torch.ones_like(owner))
        return labels != self.y[owner]


def _flat_norm(t: Tensor) -> Tensor:
    return torch.linalg.vector_norm(t.flatten(1).double(), dim=1)


def _binary_search(oracle: _Oracle, x: Tensor, x_adv: Tensor, idx: Tensor, theta: float) -> Tensor:
    """Move each ``x_adv`` (adversarial) to the boundary on its segment to ``x`` (precision theta)."""
    view = (-1,) + (1,) * (x.ndim - 1)
    low = torch.zeros(len(idx), dtype=torch.float64, device=x.device)
    high = torch.ones_like(low)
    while True:
        open_ = (high - low) > theta
        if not bool(open_.any()):
            break
        which = open_.nonzero().flatten()
        mid = (high[which] + low[which]) / 2
        w = mid.view(view).to(x.dtype)
        probe = (1 - w) * x[which] + w * x_adv[which]
        adv = oracle.adversarial(probe, idx[which])
        high[which] = torch.where(adv, mid, high[which])
        low[which] = torch.where(adv, low[which], mid)
    w = high.view(view).to(x.dtype)
    return (1 - w) * x + w * x_adv


def _start(
    oracle: _Oracle, x: Tensor, tries: int, gen: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """Per image, a uniform random image the model misclassifies (x itself where none was found)."""
    where = gen.device if gen is not None else torch.device("cpu")
    out = x.clone()
    found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    for _ in range(tries):
        todo = (~found).nonzero().flatten()
        if not len(todo):
            break
        noise = torch.rand((len(todo), *x.shape[1:]), generator=gen, device=where)
        noise = noise.to(device=x.device, dtype=x.dtype)
        adv = oracle.adversarial(noise, todo)
        out[todo[adv]] = noise[adv]
        found[todo[adv]] = True
    return out, found


def _direction(
    oracle: _Oracle,
    x_b: Tensor,
    idx: Tensor,
    *,
    delta: Tensor,
    samples: int,
    gen: torch.Generator | None,
) -> Tensor:
    """Per boundary point, the estimated unit normal pointing into the adversarial side."""
    where = gen.device if gen is not None else torch.device("cpu")
    k, shape = len(idx), x_b.shape[1:]
    u = torch.randn((k, samples, *shape), generator=gen, device=where).to(x_b.device, x_b.dtype)
    u = u / torch.linalg.vector_norm(u.flatten(2), dim=2).clamp_min(1e-12).view(k, samples, 1, 1, 1)
    probes = (x_b.unsqueeze(1) + delta.view(k, 1, 1, 1, 1).to(x_b.dtype) * u).clamp(0, 1)
    owner = idx.repeat_interleave(samples)
    phi = oracle.adversarial(probes.flatten(0, 1), owner).view(k, samples).to(x_b.dtype) * 2 - 1
    mean = phi.mean(1, keepdim=True)
    # baseline subtraction; where every probe agrees, the mean alone says which way to go
    weights = torch.where(mean.abs() == 1, phi, phi - mean)
    v = (weights.view(k, samples, 1, 1, 1) * u).sum(1)
    return v / torch.linalg.vector_norm(v.flatten(1), dim=1).clamp_min(1e-12).view(k, 1, 1, 1)


def hop_skip_jump(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    steps: int = 20,
    init_samples: int = 100,
    max_samples: int = 10_000,
    gamma: float = 1.0,
    init_tries: int = 100,
    batch_size: int = 4096,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> HopSkipJumpResult:
    """HopSkipJump on labels only: the closest adversarial image it can walk to, in L2.

    Threat model: black box, decisions only. The attacker submits images and reads back the
    predicted label, nothing else (no scores, no gradients), with no bound on the perturbation:
    the attack minimises ``||x_adv - x||_2``, and a budget is applied afterwards by comparing
    :attr:`HopSkipJumpResult.distance` with it.

    Parameters
    ----------
    model:
        Classifier returning logits (only their arg-max is read); queried in eval mode.
    x:
        Images (N, C, H, W) in [0, 1]. Not modified.
    y:
        True labels (N,); if omitted, the model's predictions (one query per image, counted).
    steps:
        Iterations of estimate, step and binary search (at least 1).
    init_samples, max_samples:
        Probes of the first direction estimate, and the most of any (iteration ``t`` uses
        ``min(init_samples * sqrt(t), max_samples)``).
    gamma:
        Sets ``theta = gamma / d^(3/2)`` (> 0), the probe radius and search precision.
    init_tries:
        Uniform random images tried per image for the adversarial start (at least 1).
    batch_size:
        Most images per forward pass (the probes of one estimate can be many).
    generator, seed:
        Source of the random starts and probe directions (at most one of the two).

    Returns
    -------
    HopSkipJumpResult
        ``x_adv`` (misclassified where ``success``; ``x`` where no start was found),
        ``success``, ``labels``, ``distance`` and ``queries``, per image. Images the model
        already misclassifies are returned as they are, with distance 0.

    Raises
    ------
    ValueError
        For bad images or labels, counts below 1, ``gamma <= 0``, a model whose output is not
        finite (N, K) logits, or both ``generator`` and ``seed``.
    """
    steps = check_count(steps, "steps")
    init_samples = check_count(init_samples, "init_samples")
    max_samples = check_count(max_samples, "max_samples")
    gamma = check_real(gamma, "gamma", positive=True)
    init_tries = check_count(init_tries, "init_tries")
    batch_size = check_count(batch_size, "batch_size")
    gen = make_generator(generator, seed)
    check_images(model, x)
    x = x.detach()
    n, d = len(x), x[0].numel()
    theta = gamma / d**1.5
    view = (-1,) + (1,) * (x.ndim - 1)
    with frozen_eval(model), torch.no_grad():
        y = resolve_labels(model, x, y, targeted=False)
        oracle = _Oracle(model, y, n, batch_size)
        clean = check_finite_logits(check_logits(model(x), n))
        check_label_range(y, clean.shape[1])
        oracle.queries += 1  # the clean label (which is also y's, when y is not given)
        wrong = clean.argmax(1) != y
        start, found = _start(oracle, x, init_tries, gen)
        active = (found & ~wrong).nonzero().flatten()
        x_adv = torch.where(wrong.view(view), x, start)
        if len(active):
            x_b = _binary_search(oracle, x[active], start[active], active, theta)
            for t in range(1, steps + 1):
                dist = _flat_norm(x_b - x[active])
                delta = math.sqrt(d) * theta * dist
                samples = min(int(init_samples * math.sqrt(t)), max_samples)
                v = _direction(oracle, x_b, active, delta=delta, samples=samples, gen=gen)
                xi = dist / math.sqrt(t)
                todo = torch.ones(len(active), dtype=torch.bool, device=x.device)
                step_to = x_b.clone()
                for _ in range(30):  # geometric search: halve xi until adversarial again
                    which = todo.nonzero().flatten()
                    if not len(which):
                        break
                    cand = (x_b[which] + xi[which].view(view).to(x.dtype) * v[which]).clamp(0, 1)
                    adv = oracle.adversarial(cand, active[which])
                    step_to[which[adv]] = cand[adv]
                    todo[which[adv]] = False
                    xi[which[~adv]] /= 2
                # where no step stayed adversarial, stay at the boundary point
                x_b = _binary_search(oracle, x[active], step_to, active, theta)
            x_adv[active] = x_b
        pred = check_finite_logits(model(x_adv)).argmax(1)
    success = (pred != y) & (found | wrong)
    distance = torch.where(
        found | wrong,
        _flat_norm(x_adv - x).to(x.device),
        torch.full((n,), math.inf, device=x.device, dtype=torch.float64),
    )
    return HopSkipJumpResult(
        x_adv=x_adv.detach(),
        success=success,
        labels=y,
        targeted=False,
        distance=distance,
        queries=oracle.queries.clone(),
    )
