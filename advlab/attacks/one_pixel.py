"""The one-pixel attack (Su, Vargas and Sakurai, 2019): change k pixels, search with DE.

Threat model
------------
Semi-black-box: the attacker sees the model's output *probabilities* for the
images it submits, never its gradients or weights. It may change ``pixels``
pixels (an L0 budget), each to any value in [0, 1] in every channel; nothing
bounds how far a changed pixel moves.

Encoding
--------
A candidate is one vector of ``pixels * (2 + C)`` numbers, per pixel
``[row, col, v_1, ..., v_C]`` (the paper's ``[x, y, r, g, b]``; grayscale
``[x, y, v]``). ``row`` lies in ``[0, H]`` and is decoded as
``min(floor(row), H - 1)`` (likewise ``col``); each value lies in ``[0, 1]``
and is rounded to the nearest of ``levels`` evenly spaced grey levels (256 by
default: the adversarial image is a valid 8-bit image). Decoding is a pure
function of the candidate, applied identically when scoring and when building
the returned image, so the returned image is exactly the one that was scored.
When two of a candidate's pixels land on the same position, the later one wins.

Search
------
Differential evolution (:func:`advlab.de.differential_evolution`) with the
paper's settings: population 400, at most 100 generations, F = 0.5, no
crossover, coordinates drawn uniformly and values from N(0.5, 0.5) clipped to
[0, 1] (the paper's N(128, 127) in 8-bit units). Fitness is the true class's
probability (non-targeted, minimised) or the target's probability
(targeted, maximised); an image stops as soon as the true class's
probability falls below 5 % or the target's rises above 90 %. Every image's
population is scored together, in chunks of ``batch_size`` images per
forward pass on the model's device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_count,
    check_finite_logits,
    check_flag,
    check_images,
    check_label_range,
    check_labels,
    check_logits,
    check_mutation_factor,
    check_seed,
)
from .._validate import (
    as_real as _as_real,
)
from ..de import STRATEGIES, counter_uniform, differential_evolution, problem_seeds
from .registry import register
from .result import AttackResult

__all__ = ["OnePixelResult", "apply_pixels", "decode_candidates", "one_pixel", "random_pixels"]

#: Default images per scoring pass: on a CPU, and on any other device.
CPU_BATCH, DEVICE_BATCH = 512, 4096


@dataclass
class OnePixelResult(AttackResult):
    """What :func:`one_pixel` did to each image.

    Attributes
    ----------
    x_adv:
        The adversarial images (N, C, H, W), exactly those that were scored.
    success:
        (N,) bool: targeted, the model predicts the target; non-targeted, it
        no longer predicts the true class.
    queries:
        (N,) int64: images submitted to the model for this image, exactly,
        including the one clean query.
    probs:
        (N, K) class probabilities of ``x_adv``, as scored during the search.
    clean_probs:
        (N, K) class probabilities of the clean images.
    labels:
        (N,) the labels the attack worked with: true classes (non-targeted)
        or targets (targeted).
    original:
        (N,) the model's prediction on the clean images.
    positions:
        (N, pixels, 2) int64 (row, col) of each changed pixel, in candidate order.
    values:
        (N, pixels, C) the new values written there.
    pixels_changed:
        (N,) int64: positions where ``x_adv`` differs from ``x`` in any channel
        (at most ``pixels``; fewer when two pixels coincide or a value equals
        the old one).
    generations:
        (N,) generations DE ran for each image.
    targeted:
        Whether ``labels`` are targets.
    pixels:
        The pixel budget.
    """

    queries: Tensor
    probs: Tensor
    clean_probs: Tensor
    original: Tensor
    positions: Tensor
    values: Tensor
    pixels_changed: Tensor
    generations: Tensor
    pixels: int

    @property
    def predicted(self) -> Tensor:
        """(N,) the model's prediction on ``x_adv``."""
        return self.probs.argmax(dim=1)

    @property
    def adversarial_probability(self) -> Tensor:
        """(N,) the probability of the predicted class of ``x_adv``."""
        return self.probs.amax(dim=1)

    def __len__(self) -> int:
        """Return the number of images attacked."""
        return len(self.success)


def decode_candidates(
    cand: Tensor, image_shape: tuple[int, int, int], pixels: int, levels: int | None = 256
) -> tuple[Tensor, Tensor]:
    """Candidates (..., pixels * (2 + C)) -> integer positions (..., pixels, 2), values (..., pixels, C).

    See the module docstring for the encoding. Values are returned in the
    candidates' dtype, rounded to ``levels`` grey levels unless ``levels`` is None.
    A NaN coordinate decodes to row or column 0 and a NaN value to 0 (black).

    Raises
    ------
    ValueError
        If ``cand`` is not a float tensor whose last axis holds ``pixels * (2 + C)``
        numbers, ``image_shape`` is not three positive integers, ``pixels`` is not
        an integer >= 1, or ``levels`` is not None or an integer >= 2.
    """
    from ..models import check_architecture

    (c, h, w), _ = check_architecture(image_shape, 2)
    pixels = check_count(pixels, "pixels", minimum=1)
    if levels is not None:
        levels = check_count(levels, "levels", minimum=2)
    if not isinstance(cand, Tensor) or not cand.is_floating_point():
        got = cand.dtype if isinstance(cand, Tensor) else type(cand).__name__
        raise ArgumentError(f"cand must be a floating-point tensor of candidates, got {got}")
    if cand.ndim == 0 or cand.shape[-1] != pixels * (2 + c):
        raise ArgumentError(
            f"cand must have shape (..., pixels * (2 + C)) = (..., {pixels * (2 + c)}) for "
            f"{pixels} pixel(s) of {c} channel(s), got {tuple(cand.shape)}"
        )
    return _decode(cand.nan_to_num(nan=0.0), (c, h, w), pixels, levels)


def _decode(
    cand: Tensor, image_shape: tuple[int, int, int], pixels: int, levels: int | None
) -> tuple[Tensor, Tensor]:
    """:func:`decode_candidates` without the argument checks (the attack's inner loop)."""
    c, h, w = image_shape
    per = cand.view(*cand.shape[:-1], pixels, 2 + c)
    row = per[..., 0].floor().long().clamp(0, h - 1)
    col = per[..., 1].floor().long().clamp(0, w - 1)
    val = per[..., 2:].clamp(0.0, 1.0)
    if levels is not None:
        val = torch.round(val * (levels - 1)) / (levels - 1)
    return torch.stack([row, col], dim=-1), val


def apply_pixels(x: Tensor, positions: Tensor, values: Tensor) -> Tensor:
    """Return copies of ``x`` (B, C, H, W) with pixel ``positions[b, j]`` set to ``values[b, j]``.

    ``positions`` (B, k, 2) int64 (row, col); ``values`` (B, k, C). Pixels are
    written in order ``j = 0, 1, ...`` (a later one wins on a shared position),
    which keeps the result deterministic on every device.

    Raises
    ------
    ValueError
        If ``x`` is not a float (B, C, H, W) tensor, ``positions`` not an integer
        (B, k, 2) tensor of rows in [0, H) and columns in [0, W), or ``values`` not a
        float (B, k, C) tensor, all on x's device.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim != 4:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise ArgumentError(f"x must be a floating-point (B, C, H, W) tensor of images, got {got}")
    b, c, h, w = x.shape
    if (
        not isinstance(positions, Tensor)
        or positions.is_floating_point()
        or positions.is_complex()
        or positions.dtype == torch.bool
        or positions.ndim != 3
        or positions.shape[0] != b
        or positions.shape[2] != 2
    ):
        got = (
            f"{positions.dtype} {tuple(positions.shape)}"
            if isinstance(positions, Tensor)
            else type(positions).__name__
        )
        raise ArgumentError(
            f"positions must be an integer tensor of shape (B, k, 2) = ({b}, k, 2) holding "
            f"(row, col), got {got}"
        )
    k = positions.shape[1]
    if (
        not isinstance(values, Tensor)
        or not values.is_floating_point()
        or values.shape != (b, k, c)
    ):
        got = (
            f"{values.dtype} {tuple(values.shape)}"
            if isinstance(values, Tensor)
            else type(values).__name__
        )
        raise ArgumentError(
            f"values must be a floating-point tensor of shape (B, k, C) = ({b}, {k}, {c}), "
            f"got {got}"
        )
    if positions.device != x.device or values.device != x.device:
        raise ArgumentError("positions and values must be on x's device; use .to(x.device)")
    if positions.numel() and not bool(
        ((positions[..., 0] >= 0) & (positions[..., 0] < h)).all()
        and ((positions[..., 1] >= 0) & (positions[..., 1] < w)).all()
    ):
        raise ArgumentError(
            f"positions must hold rows in [0, {h - 1}] and columns in [0, {w - 1}] for "
            f"{h}x{w} images"
        )
    return _apply(x, positions.long(), values)


def _apply(x: Tensor, positions: Tensor, values: Tensor) -> Tensor:
    """:func:`apply_pixels` without the argument checks (the attack's inner loop)."""
    b, c, h, w = x.shape
    out = x.clone(memory_format=torch.contiguous_format).view(b, c, h * w)
    flat = positions[..., 0] * w + positions[..., 1]  # (B, k)
    vals = values.to(x.dtype)
    for j in range(flat.shape[1]):  # over pixel slots (k <= a handful), never over images
        out.scatter_(2, flat[:, j].view(b, 1, 1).expand(b, c, 1), vals[:, j, :, None])
    return out.view(b, c, h, w)


def _softmax(model: nn.Module, x: Tensor) -> Tensor:
    """Class probabilities of ``x``, after checking that the model returned (N, K) logits."""
    return torch.softmax(check_logits(model(x), len(x)).float(), dim=1)


def _probs(model: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    return torch.cat([_softmax(model, x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def _check_stop_probability(stop_probability: object, targeted: bool) -> float:
    """Return the stopping threshold: the given number in [0, 1], else 0.9 (targeted) or 0.05."""
    if stop_probability is None:
        return 0.9 if targeted else 0.05
    p = _as_real(stop_probability, "stop_probability", "a number in [0, 1]")
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"stop_probability must be in [0, 1], got {p!r}")
    return p


def _check_randomness(seed: object, generator: object) -> int | None:
    """Check that at most one of ``seed`` and ``generator`` is given; return the checked seed."""
    if seed is not None and generator is not None:
        raise ArgumentError("pass either generator= or seed=, not both")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ArgumentError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return None if seed is None else check_seed(seed)


def _check_targets_differ(original: Tensor, y: Tensor) -> None:
    """Refuse targets equal to the model's prediction (nothing to attack), naming the images."""
    if not bool((original == y).any()):
        return
    where = (original == y).nonzero().flatten()
    shown = ", ".join(str(int(i)) for i in where[:5]) + (", ..." if len(where) > 5 else "")
    raise ArgumentError(
        f"targeted attack: {len(where)} of {len(y)} images are already classified as their "
        f"target class (indices {shown}); pick targets that differ from the model's "
        "prediction, e.g. y = (model(x).argmax(1) + 1) % num_classes"
    )


def _pixel_fitness(
    model: nn.Module,
    x0: Tensor,
    y: Tensor,
    *,
    sign: float,
    popsize: int,
    pixels: int,
    levels: int | None,
    batch_size: int,
) -> Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Build DE's fitness: ``sign`` times the probability of class ``y`` of each candidate.

    ``fitness(cand, idx)`` scores the candidates ``cand`` (m, popsize, dims) of the
    images ``x0[idx]`` in forward passes of ``batch_size`` images, and returns that
    fitness (m, popsize) with the softmax probabilities (m, popsize, K) as DE's aux.
    """
    c, h, w = x0.shape[1:]
    dims = pixels * (2 + c)

    def fitness(cand: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
        m = len(idx)
        flat = cand.reshape(m * popsize, dims)
        owner = idx.repeat_interleave(popsize)
        out = []
        for s in range(0, m * popsize, batch_size):
            pos, val = _decode(flat[s : s + batch_size], (c, h, w), pixels, levels)
            imgs = _apply(x0[owner[s : s + batch_size]], pos, val)
            out.append(_softmax(model, imgs))
        p = torch.cat(out)
        p = p.view(m, popsize, p.shape[1])
        return sign * p.gather(2, y[idx, None, None].expand(m, popsize, 1)).squeeze(2), p

    return fitness


def _success_rule(y: Tensor, targeted: bool) -> Callable[[Tensor, Tensor | None, Tensor], Tensor]:
    """Build DE's ``stop_when``: an image stops once its best candidate succeeds."""

    def succeeded(_f: Tensor, probs: Tensor | None, idx: Tensor) -> Tensor:
        assert probs is not None
        hit = probs.argmax(dim=1) == y[idx]
        finite = probs.isfinite().all(dim=1)  # a NaN output is no success
        return (hit if targeted else ~hit) & finite

    return succeeded


@register(norm="0", title="One-pixel (DE)")
def one_pixel(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    targeted: bool = False,
    pixels: int = 1,
    popsize: int = 400,
    generations: int = 100,
    F: float = 0.5,
    CR: float | None = None,
    strategy: Literal["rand1", "best1", "random", "random_uniform"] = "rand1",
    bounds: Literal["clip", "reinit", "reflect"] = "clip",
    early_stop: bool | Literal["success"] = True,
    stop_probability: float | None = None,
    levels: int | None = 256,
    batch_size: int | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> OnePixelResult:
    """Change at most ``pixels`` pixels of each image to change the model's answer.

    Parameters
    ----------
    model:
        A classifier taking images in [0, 1] and returning logits; only its
        softmax probabilities are used (no gradients).
    x:
        Images (N, C, H, W) in [0, 1] on the model's device; any size and channel count.
    y:
        Non-targeted: the true labels (default: the model's predictions).
        Targeted: the target classes (required), each different from the
        model's prediction on its image.
    targeted:
        Maximise the target's probability instead of minimising the true class's.
    pixels:
        How many pixels may change (the paper: 1, 3 or 5), at most H * W.
    popsize, generations, F, CR:
        DE settings; the paper's defaults are 400, 100, 0.5 and no crossover.
    strategy:
        ``"rand1"`` (the paper's DE/rand/1), ``"best1"`` (DE/best/1, try it
        with ``CR=0.9``), ``"random"``: random search with the same budget
        (``popsize`` fresh random candidates per generation, drawn from the
        distribution DE starts from), the paper's control, or ``"random_uniform"``:
        the same with candidates drawn uniformly after the start (a weaker control).
    bounds:
        What DE does with a mutant's coordinate outside the box
        (:func:`advlab.de.differential_evolution`): ``"clip"`` (the default) puts it on
        the face, so positions pile up on the first and last rows and columns;
        ``"reinit"`` draws it afresh; ``"reflect"`` mirrors it.
    early_stop:
        True: stop an image as soon as the paper's stopping rule holds;
        ``"success"``: as soon as the attack succeeds (the answer changed, or is
        the target), as torchattacks does; False: run every generation.
    stop_probability:
        The threshold of that rule: default 0.9 (targeted: target probability
        above it) or 0.05 (non-targeted: true-class probability below it).
    levels:
        Grey levels a new pixel value is rounded to (256: 8-bit images); None keeps floats.
    batch_size:
        Images per forward pass when scoring populations. Default (None): 512 on a
        CPU, where passes of a few hundred small images suit the caches better than
        larger ones (about 1.3× faster than 4,096 on the 8×8 models in
        ``benchmarks/bench_one_pixel.py``), and 4,096 on an accelerator.
    seed, generator:
        Randomness: image ``i`` uses seed ``seed + i``; or per-image seeds drawn
        from ``generator`` (or PyTorch's global generator when both are None).

    Returns
    -------
    OnePixelResult
        ``queries`` counts every image submitted to the model: one clean
        query plus ``popsize`` per evaluated population (at most
        ``1 + popsize * (generations + 1)``).

    Raises
    ------
    ValueError
        For bad images or labels, ``pixels < 1`` or more pixels than an image
        has, ``popsize < 4``, F outside (0, 2], a target equal to the model's
        prediction, or an unknown strategy.
    """
    check_images(model, x)
    targeted = check_flag(targeted, "targeted")
    _check_choices(early_stop, strategy)
    pixels = check_count(pixels, "pixels", minimum=1)
    popsize = check_count(popsize, "popsize", minimum=4)
    generations = check_count(generations, "generations", minimum=0)
    if batch_size is None:
        batch_size = CPU_BATCH if x.device.type == "cpu" else DEVICE_BATCH
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    F = check_mutation_factor(F)
    if levels is not None:
        levels = check_count(levels, "levels", minimum=2)
    n, c, h, w = x.shape
    if pixels > h * w:
        raise ArgumentError(
            f"pixels={pixels} exceeds the {h * w} pixels of a {h}x{w} image; use pixels <= {h * w}"
        )
    stop_probability = _check_stop_probability(stop_probability, targeted)
    if y is None and targeted:
        raise ArgumentError("a targeted attack needs y: pass the target class of each image as y")
    if y is not None:
        y = check_labels(y, x)
    seed = _check_randomness(seed, generator)

    dev = x.device
    x0 = x.detach()
    with frozen_eval(model), torch.no_grad():
        clean = check_finite_logits(_probs(model, x0, batch_size))  # one clean query per image
        original = clean.argmax(dim=1)
        k = clean.shape[1]
        if y is None:
            y = original.clone()
        check_label_range(y, k, what="y (the targets)" if targeted else "y")
        if targeted:
            _check_targets_differ(original, y)

        lower = torch.tensor([0.0, 0.0] + [0.0] * c, dtype=torch.float64).repeat(pixels)
        upper = torch.tensor([float(h), float(w)] + [1.0] * c, dtype=torch.float64).repeat(pixels)
        seeds = problem_seeds(n, seed=seed, generator=generator, device=dev)

        uniform = strategy == "random_uniform"
        init = _start(seeds, popsize, pixels, (c, h, w), uniform=uniform)
        sign = -1.0 if targeted else 1.0
        fitness = _pixel_fitness(
            model, x0, y, sign=sign, popsize=popsize, pixels=pixels, levels=levels,
            batch_size=batch_size,
        )  # fmt: skip
        threshold = sign * stop_probability if early_stop is True else None
        stop_when = _success_rule(y, targeted) if early_stop == "success" else None
        res = differential_evolution(
            fitness,
            lower,
            upper,
            popsize=popsize,
            generations=generations,
            F=F,
            CR=CR,
            strategy="random" if uniform else strategy,  # type: ignore[arg-type]
            bounds=bounds,
            init=init,
            stop_below=threshold,
            stop_when=stop_when,
            seed=seeds,
            device=dev,
        )

    positions, values = _decode(res.x, (c, h, w), pixels, levels)
    x_adv = _apply(x0, positions, values.to(x.dtype)).detach()
    probs = res.aux
    assert probs is not None
    return OnePixelResult(
        x_adv=x_adv,
        success=_succeeded(probs, y, targeted),
        queries=res.evaluations + 1,
        probs=probs,
        clean_probs=clean,
        labels=y,
        original=original,
        positions=positions,
        values=values.to(x.dtype),
        pixels_changed=(x_adv != x0).any(dim=1).flatten(1).sum(dim=1),
        generations=res.generations,
        targeted=targeted,
        pixels=pixels,
    )


def _succeeded(probs: Tensor, y: Tensor, targeted: bool) -> Tensor:
    """Return per image (N,) bool: is the top class ``y`` (targeted), or not ``y`` (non-targeted).

    Only a finite output counts: the arg-max of NaN probabilities is no prediction.
    """
    pred = probs.argmax(dim=1)
    return (pred == y if targeted else pred != y) & probs.isfinite().all(dim=1)


def _check_choices(early_stop: object, strategy: object) -> None:
    """Check one_pixel's ``early_stop`` and ``strategy`` (DE's, or ``"random_uniform"``)."""
    if not (
        isinstance(early_stop, bool) or (isinstance(early_stop, str) and early_stop == "success")
    ):
        raise ArgumentError(f"early_stop must be True, False or 'success', got {early_stop!r}")
    choices = (*STRATEGIES, "random_uniform")
    if not isinstance(strategy, str) or strategy not in choices:
        raise ArgumentError(f"unknown strategy {strategy!r}; choose one of {', '.join(choices)}")


def _start(
    seeds: Tensor, popsize: int, pixels: int, shape: tuple[int, int, int], *, uniform: bool
) -> Tensor | Callable[[Tensor, int], Tensor]:
    """Return DE's ``init``: the paper's sampler, or only its first draw (the uniform control).

    The sampler gives DE's start and random search's fresh candidates; with only the
    first draw, DE's random search samples the box uniformly after the start.
    """

    def sampler(s: Tensor, g: int) -> Tensor:
        return _sample_candidates(s, g, popsize, pixels, shape)

    return sampler(seeds, 0) if uniform else sampler


def _sample_candidates(
    seeds: Tensor, generation: int, popsize: int, pixels: int, image_shape: tuple[int, int, int]
) -> Tensor:
    """Draw the paper's initialisation: coordinates uniform, values N(0.5, 0.5) clipped to [0, 1].

    Drawn from each image's own random stream (generation 0 for DE's start, later
    generations for random search's fresh candidates), like the rest of DE.
    """
    c, h, w = image_shape
    u = counter_uniform(seeds, generation, 10, (popsize, pixels, 2 + c))
    v = counter_uniform(seeds, generation, 11, (popsize, pixels, c))
    # Box-Muller: a standard normal from two uniforms
    z = torch.sqrt(-2.0 * torch.log1p(-u[..., 2:])) * torch.cos(2.0 * math.pi * v)
    coords = u[..., :2] * torch.tensor([float(h), float(w)], dtype=u.dtype, device=u.device)
    vals = (0.5 + 0.5 * z).clamp(0.0, 1.0)
    return torch.cat([coords, vals], dim=-1).reshape(len(seeds), popsize, pixels * (2 + c))


@register(norm="0", title="Random pixels")
def random_pixels(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    targeted: bool = False,
    pixels: int = 1,
    popsize: int = 400,
    generations: int = 100,
    draw: Literal["start", "uniform"] = "start",
    early_stop: bool | Literal["success"] = True,
    levels: int | None = 256,
    batch_size: int | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> OnePixelResult:
    """Random search with exactly the one-pixel attack's query budget: the paper's control.

    It starts from the same initial population as :func:`one_pixel`; then each
    "generation" scores ``popsize`` fresh candidates instead of evolving them, drawn
    (``draw="start"``, the default) from the distribution DE starts from, positions
    uniform and colours N(0.5, 0.5) clipped to [0, 1], so that about a third of the
    colour values are pure black or white as in DE's population; or (``draw="uniform"``)
    uniformly, positions and colours, a weaker control. The best candidate ever seen is kept,
    and the same stopping rule applies. With the same ``popsize`` and ``generations`` an image
    gets at most ``1 + popsize * (generations + 1)`` queries, exactly as with
    :func:`one_pixel`. Arguments and result as in :func:`one_pixel`.
    """
    if not isinstance(draw, str) or draw not in ("start", "uniform"):
        raise ArgumentError(f"draw must be 'start' or 'uniform', got {draw!r}")
    return one_pixel(
        model,
        x,
        y,
        targeted=targeted,
        pixels=pixels,
        popsize=popsize,
        generations=generations,
        strategy="random" if draw == "start" else "random_uniform",
        early_stop=early_stop,
        levels=levels,
        batch_size=batch_size,
        seed=seed,
        generator=generator,
    )
