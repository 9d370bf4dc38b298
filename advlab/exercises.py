"""Checkers for the book's exercises: the reader writes an attack, advlab says what is wrong with it.

Each ``check_*`` function runs the reader's implementation on a few small,
random models and inputs, next to advlab's own implementation, and answers with
specific feedback rather than a bare pass/fail::

    >>> def my_fgsm(model, x, y, eps):
    ...     x = x.clone().requires_grad_(True)
    ...     loss = torch.nn.functional.cross_entropy(model(x), y)
    ...     (grad,) = torch.autograd.grad(loss, x)
    ...     return (x + eps * grad.sign()).clamp(0, 1).detach()
    >>> check_fgsm(my_fgsm)
    ✔ exact match with advlab.fgsm on 6 random problems

The diagnoses cover the mistakes students make most: a result outside [0, 1]
(clipping forgotten), a step against the gradient (sign flipped, i.e. the loss
descended), the raw gradient or an L2 step where the sign was meant (wrong
norm), a perturbation outside the ε-ball (projection missing), the input
modified in place, and outputs of the wrong shape, dtype or device.

The test problems use models without dropout or batch norm, so the reader's
code gives the same answer in train and eval mode, and labels equal to the
models' clean predictions (an untargeted attack on correctly classified
images).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._validate import check_count, check_flag, check_seed
from .attacks import fgsm, pgd

__all__ = [
    "CheckReport",
    "check_best_pair",
    "check_fgsm",
    "check_jacobian_augmentation",
    "check_pgd",
]

#: Absolute tolerance for "the same image": float32 rounding of x + eps·sign(g).
ATOL = 1e-5


@dataclass
class CheckReport:
    """The verdict on a reader's implementation: ``passed`` and the feedback lines.

    Printing it (or leaving it as a cell's last value) shows the feedback; use
    ``assert report.passed`` to stop a notebook when the implementation is wrong.
    """

    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        mark = "✔" if self.passed else "✘"
        return "\n".join([f"{mark} {self.lines[0]}", *(f"  {s}" for s in self.lines[1:])])

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed


@dataclass(frozen=True)
class _Problem:
    model: nn.Module
    x: Tensor
    y: Tensor
    eps: float


def _problems(trials: int, seed: int) -> list[_Problem]:
    """Small random classifiers (linear and convolutional) with images that touch 0 and 1."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in range(trials):
        c, h, k = (1, 6, 3) if t % 2 == 0 else (3, 5, 4)
        # the models' initial weights come from ``gen`` too, without touching the global RNG
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
            if t % 3 == 2:
                model: nn.Module = nn.Sequential(nn.Flatten(), nn.Linear(c * h * h, k))
            else:
                model = nn.Sequential(
                    nn.Conv2d(c, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * h * h, k)
                )
        model.eval()
        x = torch.rand((5, c, h, h), generator=gen)
        # some pixels exactly at the bounds, so a missing clip shows
        x = torch.where(x < 0.15, torch.zeros_like(x), torch.where(x > 0.85, torch.ones_like(x), x))
        with torch.no_grad():
            y = model(x).argmax(dim=1)
        eps = (0.05, 0.1, 0.3)[t % 3]
        out.append(_Problem(model, x, y, eps))
    return out


def _gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, x)
    return g


def _call(fn: Callable[..., object], p: _Problem, **kwargs: object) -> tuple[object, str | None]:
    x_before = p.x.clone()
    try:
        out = fn(p.model, p.x, p.y, **kwargs)
    except Exception as err:  # the reader's code: report any failure as feedback
        return None, f"your function raised {type(err).__name__}: {err}"
    if not torch.equal(p.x, x_before):
        return None, "your function modified x in place; work on a copy (x = x.clone())"
    return out, None


def _shape_problem(out: object, x: Tensor) -> str | None:
    if not isinstance(out, Tensor):
        return f"your function returned {type(out).__name__}; return the adversarial images as a tensor"
    if out.shape != x.shape:
        return f"your result has shape {tuple(out.shape)}, x has {tuple(x.shape)}; return one image per input"
    if not out.is_floating_point():
        return f"your result has dtype {out.dtype}; keep x's float dtype"
    if out.requires_grad:
        return "your result still requires grad; return x_adv.detach()"
    if not bool(torch.isfinite(out).all()):
        return "your result contains NaN or inf"
    return None


def _bounds_problem(out: Tensor, p: _Problem, norm: str, *, projection: str) -> str | None:
    lo, hi = float(out.min()), float(out.max())
    if lo < -ATOL or hi > 1 + ATOL:
        return (
            f"your result leaves [0, 1] (values from {lo:.3f} to {hi:.3f}): clip the images with "
            ".clamp(0, 1) after each step"
        )
    delta = (out - p.x).flatten(1)
    size = delta.abs().amax(dim=1) if norm == "inf" else delta.norm(dim=1)
    worst = float(size.max())
    if worst > p.eps + 1e-4:
        sym = "L∞" if norm == "inf" else "L2"
        return (
            f"your perturbation leaves the ε-ball: its {sym} size reaches {worst:.3f} for "
            f"ε = {p.eps}; {projection}"
        )
    return None


def _variant(
    p: _Problem, eps: float, alpha: float, steps: int, *, step: str, ball: str, sign: float
) -> Tensor:
    """A PGD with a chosen step norm, ball and step sign: the shapes of typical mistakes."""
    x_adv = p.x.clone()
    for _ in range(steps):
        g = _gradient(p.model, x_adv, p.y)
        if step == "inf":
            g = g.sign()
        else:
            g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        d = x_adv + sign * alpha * g - p.x
        if ball == "inf":
            d = d.clamp(-eps, eps)
        else:
            d = d * (eps / d.flatten(1).norm(dim=1).clamp_min(1e-12)).clamp(max=1).view(-1, 1, 1, 1)
        x_adv = (p.x + d).clamp(0, 1)
    return x_adv


def _same(a: Tensor, b: Tensor) -> bool:
    return bool(torch.allclose(a, b, atol=ATOL, rtol=0))


def _summary(name: str, ref_name: str, failures: list[str], n: int) -> CheckReport:
    if not failures:
        return CheckReport(name, True, [f"exact match with {ref_name} on {n} random problems"])
    first = failures[0]
    more = (
        [f"(and {len(failures) - 1} more of the {n} problems failed)"] if len(failures) > 1 else []
    )
    return CheckReport(name, False, [first, *more])


def _settings(trials: object, seed: object, verbose: object) -> tuple[int, int, bool]:
    n = check_count(trials, "trials", minimum=1)
    if n > 1000:
        raise ValueError(f"trials must be at most 1000 (each is a small random problem), got {n}")
    return n, check_seed(seed), check_flag(verbose, "verbose")


def check_fgsm(
    fn: Callable[..., Tensor], *, trials: int = 6, seed: int = 0, verbose: bool = True
) -> CheckReport:
    """Check a reader's FGSM, ``fn(model, x, y, eps) -> x_adv``, against :func:`advlab.fgsm`.

    The reader's function takes a model returning logits, images ``x`` in
    [0, 1] (N, C, H, W), true labels ``y`` and an L∞ budget ``eps`` (pixel
    units), and returns ``clip(x + eps * sign(∇ₓ CE(model(x), y)), 0, 1)``.

    Parameters
    ----------
    fn:
        The reader's implementation.
    trials:
        How many random problems (small models, 5 images each) to try.
    seed:
        Seed of the random problems.
    verbose:
        Print the report (in a notebook, the feedback appears under the cell).

    Returns
    -------
    CheckReport
        ``passed`` and the feedback: "exact match", or the first mistake found,
        e.g. "you stepped against the gradient".
    """
    if not callable(fn):
        raise TypeError(f"check_fgsm takes your FGSM function, got {type(fn).__name__}")
    trials, seed, verbose = _settings(trials, seed, verbose)
    problems = _problems(trials, seed)
    failures: list[str] = []
    for p in problems:
        out, err = _call(fn, p, eps=p.eps)
        err = err or _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            out = out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out, p, "inf", projection="FGSM moves each pixel by exactly ±ε before clipping"
            )
        if err is None and not _same(out, fgsm(p.model, p.x, p.y, eps=p.eps)):
            g = _gradient(p.model, p.x, p.y)
            unit = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            if _same(out, (p.x - p.eps * g.sign()).clamp(0, 1)):
                err = (
                    "you stepped against the gradient: x - ε·sign(∇) lowers the loss; "
                    "an untargeted attack adds ε·sign(∇)"
                )
            elif _same(out, (p.x + p.eps * g).clamp(0, 1)) or _same(
                out, (p.x + p.eps * unit).clamp(0, 1)
            ):
                err = (
                    "you stepped along the gradient itself, not its sign: the L∞ step that "
                    "maximises the linearised loss is ε·sign(∇) (the L2 step would be ε·∇/‖∇‖₂)"
                )
            elif _same(out, p.x + p.eps * g.sign()):
                err = "your result is right before clipping; clip it to [0, 1] with .clamp(0, 1)"
            else:
                wrong = (out - fgsm(p.model, p.x, p.y, eps=p.eps)).abs() > ATOL
                err = (
                    f"your result differs from advlab.fgsm on {int(wrong.sum())} of "
                    f"{wrong.numel()} pixels; check the loss (cross-entropy with the true "
                    "labels, not the predictions' softmax) and the sign step"
                )
        if err is not None:
            failures.append(err)
    report = _summary("fgsm", "advlab.fgsm", failures, len(problems))
    if verbose:
        print(report)
    return report


def check_pgd(
    fn: Callable[..., Tensor],
    *,
    norm: str = "inf",
    trials: int = 6,
    seed: int = 0,
    verbose: bool = True,
) -> CheckReport:
    """Check a reader's PGD, ``fn(model, x, y, eps, alpha, steps) -> x_adv``, against advlab's.

    The reader's PGD starts at ``x`` (no random start, so the answer is
    deterministic), and repeats ``steps`` times: a step of length ``alpha``
    along the gradient of the cross-entropy (its sign for ``norm="inf"``, its
    per-image direction ``∇/‖∇‖₂`` for ``norm=2``), then a projection onto the
    ε-ball around ``x`` and a clip to [0, 1]. It is compared with
    ``advlab.pgd(..., random_start=False)``.

    Parameters
    ----------
    fn:
        The reader's implementation.
    norm:
        ``"inf"`` or ``2``: which ball the reader's PGD works in.
    trials, seed, verbose:
        As in :func:`check_fgsm`.

    Returns
    -------
    CheckReport
        ``passed`` and the feedback (e.g. "projection missing").
    """
    if not callable(fn):
        raise TypeError(f"check_pgd takes your PGD function, got {type(fn).__name__}")
    key = str(norm).lower().replace("l", "")
    if key not in ("inf", "2", "∞"):
        raise ValueError(f"norm must be 'inf' or 2, got {norm!r}")
    key = "2" if key == "2" else "inf"
    trials, seed, verbose = _settings(trials, seed, verbose)
    problems = _problems(trials, seed)
    failures: list[str] = []
    steps = 5
    for p in problems:
        # L2 budgets are larger numbers than L∞ ones (a whole image's length)
        eps = p.eps if key == "inf" else p.eps * math.sqrt(p.x[0].numel()) / 2
        p = _Problem(p.model, p.x, p.y, eps)
        alpha = eps / 2
        out, err = _call(fn, p, eps=eps, alpha=alpha, steps=steps)
        err = err or _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            out = out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out,
                p,
                key,
                projection="the projection is missing: after each step, bring x_adv - x back "
                + (
                    "into [-ε, ε] (clamp)"
                    if key == "inf"
                    else "to length ≤ ε (scale by min(1, ε/‖δ‖₂))"
                ),
            )
        if err is None:
            kw = {"eps": eps, "alpha": alpha, "steps": steps, "random_start": False}
            ref = pgd(p.model, p.x, p.y, norm="inf" if key == "inf" else 2, **kw)
            if not _same(out, ref):
                flipped = _variant(p, eps, alpha, steps, step=key, ball=key, sign=-1.0)
                other_step = "2" if key == "inf" else "inf"
                other = _variant(p, eps, alpha, steps, step=other_step, ball=key, sign=1.0)
                one = pgd(
                    p.model, p.x, p.y, norm="inf" if key == "inf" else 2, **{**kw, "steps": 1}
                )
                if _same(out, flipped):
                    err = (
                        "you stepped against the gradient: each step must increase the loss "
                        "(x + α·sign(∇) for L∞)"
                    )
                elif _same(out, other):
                    err = (
                        f"you took {'L2' if key == 'inf' else 'L∞'} steps in an "
                        f"{'L∞' if key == 'inf' else 'L2'} attack: use "
                        + ("α·sign(∇)" if key == "inf" else "α·∇/‖∇‖₂ per image")
                    )
                elif _same(out, one):
                    err = "your result equals one step: recompute the gradient at x_adv every step"
                else:
                    wrong = (out - ref).abs() > ATOL
                    err = (
                        f"your result differs from advlab.pgd on {int(wrong.sum())} of "
                        f"{wrong.numel()} pixels; check that each step reads the gradient at the "
                        "current x_adv, then projects onto the ball around the ORIGINAL x"
                    )
        if err is not None:
            failures.append(err)
    report = _summary(
        f"pgd (L{'∞' if key == 'inf' else '2'})", "advlab.pgd", failures, len(problems)
    )
    if verbose:
        print(report)
    return report


# --- Part IV: one generation of differential evolution ------------------------------------------


def _de_reference(
    pop: Tensor,
    fit: Tensor,
    f: Callable[[Tensor], Tensor],
    donors: Tensor,
    F: float,
    lower: Tensor,
    upper: Tensor,
    *,
    clip: bool = True,
    flip: bool = False,
    keep: str = "better",
) -> tuple[Tensor, Tensor]:
    """One DE/rand/1 generation without crossover, and the shapes of typical mistakes."""
    from .de import clip_to_bounds, mutate, select

    a, b, c = pop[donors[:, 0]], pop[donors[:, 1]], pop[donors[:, 2]]
    trial = mutate(a, c, b, F) if flip else mutate(a, b, c, F)
    if clip:
        trial = clip_to_bounds(trial, lower, upper)
    f_trial = f(trial)
    if keep == "all":
        return trial, f_trial
    if keep == "worse":
        return select(pop, -fit, trial, -f_trial)[0], torch.maximum(fit, f_trial)
    return select(pop, fit, trial, f_trial)


def check_de_generation(
    fn: Callable[..., tuple[Tensor, Tensor]],
    *,
    trials: int = 6,
    seed: int = 0,
    verbose: bool = True,
) -> CheckReport:
    """Check a reader's DE/rand/1 generation against :mod:`advlab.de`'s steps.

    The reader's function is ``fn(pop, fit, f, donors, F, lower, upper) ->
    (new_pop, new_fit)``: ``pop`` (N, D) members, ``fit`` (N,) their fitness,
    ``f`` maps (M, D) vectors to (M,) fitness (lower is better), ``donors``
    (N, 3) the indices ``a, b, c`` for each parent, ``F`` the mutation factor,
    ``lower``/``upper`` (D,) the box. It builds each mutant
    ``a + F (b - c)``, clips it into the box, and keeps it only where its
    fitness is strictly lower than the parent's (no crossover).

    Returns
    -------
    CheckReport
        "exact match", or the first mistake found: clipping forgotten, the
        difference reversed, the selection inverted or missing, the input
        modified in place, a wrong shape.
    """
    if not callable(fn):
        raise TypeError(f"check_de_generation takes your function, got {type(fn).__name__}")
    n_trials, seed, verbose = _settings(trials, seed, verbose)
    gen = torch.Generator().manual_seed(seed)
    failures: list[str] = []
    for _ in range(n_trials):
        n, d = 8, 3
        lower, upper = -torch.ones(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
        pop = torch.rand(n, d, generator=gen, dtype=torch.float64) * 2 - 1
        centre = torch.rand(d, generator=gen, dtype=torch.float64) - 0.5

        def f(v: Tensor, centre: Tensor = centre) -> Tensor:
            return ((v - centre) ** 2).sum(-1)

        fit = f(pop)
        keys = torch.rand(n, n, generator=gen)
        keys[torch.arange(n), torch.arange(n)] = 2.0  # a parent is never its own donor
        donors = keys.argsort(dim=1)[:, :3]
        F = 0.9  # large enough that some mutants leave the box
        pop_before, fit_before = pop.clone(), fit.clone()
        try:
            out = fn(pop, fit, f, donors, F, lower, upper)
        except Exception as err:  # the reader's code: report, do not crash the notebook
            failures.append(f"your function raised {type(err).__name__}: {err}")
            continue
        if not torch.equal(pop, pop_before) or not torch.equal(fit, fit_before):
            failures.append("your function changed pop or fit in place; work on copies")
            continue
        if not (isinstance(out, tuple) and len(out) == 2):
            failures.append("return a pair (new_pop, new_fit)")
            continue
        new_pop, new_fit = (torch.as_tensor(t, dtype=torch.float64) for t in out)
        if new_pop.shape != pop.shape or new_fit.shape != fit.shape:
            failures.append(
                f"new_pop must be {tuple(pop.shape)} and new_fit {tuple(fit.shape)}, got "
                f"{tuple(new_pop.shape)} and {tuple(new_fit.shape)}"
            )
            continue
        ref = _de_reference(pop, fit, f, donors, F, lower, upper)
        if _same(new_pop, ref[0]) and _same(new_fit, ref[1]):
            continue
        diagnoses = [
            (
                {"clip": False},
                "you did not clip the mutants: clamp each coordinate into [lower, upper]",
            ),
            (
                {"flip": True},
                "your difference is reversed: the mutant is a + F·(b − c), not a + F·(c − b)",
            ),
            (
                {"keep": "all"},
                "every trial replaced its parent: keep a trial only if its fitness is lower",
            ),
            (
                {"keep": "worse"},
                "your selection is inverted: DE minimises, keep the trial when f(trial) < f(parent)",
            ),
        ]
        for kw, msg in diagnoses:
            wrong = _de_reference(pop, fit, f, donors, F, lower, upper, **kw)  # type: ignore[arg-type]
            if _same(new_pop, wrong[0]):
                failures.append(msg)
                break
        else:
            failures.append(
                "your new population differs from advlab.de's steps (mutate, clip_to_bounds, "
                "select); check which members you use as a, b and c"
            )
    report = _summary("de_generation", "advlab.de", failures, n_trials)
    if verbose:
        print(report)
    return report


__all__ += ["check_de_generation"]


# --- Part IV: writing k pixels into a batch of images -------------------------------------------


def check_set_pixels(
    fn: Callable[[Tensor, Tensor, Tensor], Tensor],
    *,
    trials: int = 6,
    seed: int = 0,
    verbose: bool = True,
) -> CheckReport:
    """Check a reader's ``fn(x, positions, values) -> x_new`` against the one-pixel attack's own.

    ``x`` (B, C, H, W) images, ``positions`` (B, k, 2) int64 (row, column) and
    ``values`` (B, k, C): the result is a copy of ``x`` with pixel
    ``positions[b, j]`` of image ``b`` set to ``values[b, j]`` in every channel
    (a later ``j`` wins when two positions coincide), as
    :func:`advlab.attacks.one_pixel.apply_pixels` does.

    Returns
    -------
    CheckReport
        "exact match", or the first mistake found: input modified in place, rows
        and columns swapped, only the first channel written, wrong shape.
    """
    from .attacks.one_pixel import apply_pixels

    if not callable(fn):
        raise TypeError(f"check_set_pixels takes your function, got {type(fn).__name__}")
    n_trials, seed, verbose = _settings(trials, seed, verbose)
    gen = torch.Generator().manual_seed(seed)
    failures: list[str] = []
    for t in range(n_trials):
        c = 1 if t % 2 == 0 else 3
        b, h, w, k = 4, 5, 7, 1 + t % 3  # not square: swapped rows and columns show
        x = torch.rand(b, c, h, w, generator=gen)
        pos = torch.stack(
            [
                torch.randint(0, h, (b, k), generator=gen),
                torch.randint(0, w, (b, k), generator=gen),
            ],
            dim=-1,
        )
        val = torch.rand(b, k, c, generator=gen)
        x_before = x.clone()
        try:
            out = fn(x, pos, val)
        except Exception as err:  # the reader's code: report, do not crash the notebook
            hint = (
                f" (the images are {h} rows by {w} columns: positions[..., 0] is the row, "
                "positions[..., 1] the column; did you swap them?)"
                if isinstance(err, IndexError)
                else ""
            )
            failures.append(f"your function raised {type(err).__name__}: {err}{hint}")
            continue
        if not torch.equal(x, x_before):
            failures.append("your function changed x in place; write into a copy (x.clone())")
            continue
        if not isinstance(out, Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            failures.append(f"return images of x's shape {tuple(x.shape)}, got {got}")
            continue
        ref = apply_pixels(x, pos, val)
        if torch.equal(out, ref):
            continue
        swapped = pos.flip(-1)
        if bool((swapped[..., 0] < h).all() and (swapped[..., 1] < w).all()) and torch.equal(
            out, apply_pixels(x, swapped, val)
        ):
            failures.append("you swapped rows and columns: positions[..., 0] is the row (y)")
        elif c > 1 and torch.equal(out[:, 0], ref[:, 0]) and torch.equal(out[:, 1:], x[:, 1:]):
            failures.append("you wrote only the first channel: set all C channels of the pixel")
        else:
            wrong = int((out != ref).any(1).sum())
            failures.append(
                f"your images differ from advlab's at {wrong} pixel positions; "
                "check the indexing x[b, :, row, col] = values[b, j]"
            )
    report = _summary("set_pixels", "advlab's apply_pixels", failures, n_trials)
    if verbose:
        print(report)
    return report


__all__ += ["check_set_pixels"]


def check_best_pair(
    best_pair: Callable[[Tensor, Tensor], object], *, verbose: bool = True
) -> CheckReport:
    """Check the reader's JSMA pair choice against :func:`advlab.attacks.jsma.best_pairs`.

    ``best_pair(alpha, beta)`` receives one image's saliency maps as 1-D tensors
    (θ = +1, every feature in the search domain) and must return the pair
    ``(p, q)`` of feature indices, ``p != q``, with the largest
    ``(α_p + α_q)·|β_p + β_q|`` among pairs with ``α_p + α_q > 0`` and
    ``β_p + β_q < 0``, or ``None`` when no pair qualifies. Either order of ``p``
    and ``q`` is accepted. Runs 8 random problems (some with no qualifying pair,
    some where the best single features are not the best pair).

    Returns
    -------
    CheckReport
        ``passed`` and feedback naming the first kind of mistake found.
    """
    verbose = check_flag(verbose, "verbose")
    from .attacks.jsma import best_pairs

    if not callable(best_pair):
        raise TypeError(f"best_pair must be a function, got {type(best_pair).__name__}")
    gen = torch.Generator().manual_seed(0)
    failures: list[str] = []
    for t in range(8):
        d = 5 + 3 * t
        alpha = torch.randn(d, generator=gen)
        beta = torch.randn(d, generator=gen)
        if t == 3:  # no pair can have α > 0 and β < 0
            alpha, beta = -alpha.abs(), beta.abs()
        pq, found = best_pairs(alpha[None], beta[None], torch.ones(1, d, dtype=torch.bool))
        expected = {int(pq[0, 0]), int(pq[0, 1])} if bool(found[0]) else None
        a_in, b_in = alpha.clone(), beta.clone()
        try:
            out = best_pair(a_in, b_in)
        except Exception as err:  # the reader's code: report any failure as feedback
            failures.append(f"your function raised {type(err).__name__}: {err}")
            continue
        if not (torch.equal(a_in, alpha) and torch.equal(b_in, beta)):
            failures.append("your function modified alpha or beta in place")
            continue
        if expected is None:
            if out is not None:
                failures.append(
                    "no pair qualifies here (no α_p + α_q > 0 with β_p + β_q < 0), "
                    f"but you returned {out!r}: return None"
                )
            continue
        try:
            p, q = (int(v) for v in out)  # type: ignore[union-attr]
        except Exception:
            failures.append(f"return a pair (p, q) of indices, got {out!r}")
            continue
        if p == q:
            failures.append("p and q must be two different features")
            continue
        if {p, q} == expected:
            continue
        a_pq, b_pq = float(alpha[p] + alpha[q]), float(beta[p] + beta[q])
        top_alpha = set(alpha.topk(2).indices.tolist())
        if {p, q} == top_alpha:
            failures.append(
                "you picked the two largest α: the score also needs |β_p + β_q|, and the pair "
                "must have β_p + β_q < 0"
            )
        elif not (a_pq > 0 and b_pq < 0):
            failures.append(
                f"your pair ({p}, {q}) has α sum {a_pq:.3g} and β sum {b_pq:.3g}: only pairs "
                "with α_p + α_q > 0 and β_p + β_q < 0 qualify"
            )
        else:
            failures.append(
                f"your pair ({p}, {q}) qualifies but scores {a_pq * abs(b_pq):.3g}, less than "
                "the best; compare (α_p + α_q)·|β_p + β_q| over all pairs p < q"
            )
    report = _summary("JSMA pair choice", "advlab.attacks.jsma.best_pairs", failures, 8)
    if verbose:
        print(report)
    return report


def check_jacobian_augmentation(
    fn: Callable[..., Tensor], *, trials: int = 6, seed: int = 0, verbose: bool = True
) -> CheckReport:
    """Check a reader's Jacobian-based augmentation step against advlab's.

    The reader writes ``fn(substitute, x, labels, lam) -> x_new``: for each
    image, the sign of the gradient of the substitute's logit *for the label
    the target gave it* (``labels``), times ``lam``, added to ``x`` and
    clipped to [0, 1] (Papernot et al. 2017). It is compared with
    :func:`advlab.attacks.jacobian_augment`.

    Parameters
    ----------
    fn:
        The reader's implementation.
    trials, seed, verbose:
        As in :func:`check_fgsm`.

    Returns
    -------
    CheckReport
        ``passed`` and the feedback (e.g. "you followed the loss, not the label's logit").
    """
    from .attacks.substitute import jacobian_augment

    if not callable(fn):
        raise TypeError(
            f"check_jacobian_augmentation takes your augmentation function, got {type(fn).__name__}"
        )
    trials, seed, verbose = _settings(trials, seed, verbose)
    problems = _problems(trials, seed)
    failures: list[str] = []
    for t, p in enumerate(problems):
        # the target's labels: not the substitute's predictions (shifted for some images)
        labels = p.y.clone()
        labels[::2] = (labels[::2] + 1) % int(p.model(p.x[:1]).shape[1])
        lam = p.eps * (1 if t % 2 == 0 else -1)
        q = _Problem(p.model, p.x, labels, abs(lam))
        x_before = p.x.clone()
        try:
            out = fn(p.model, p.x, labels, lam)
        except Exception as err:  # the reader's code: report any failure as feedback
            failures.append(f"your function raised {type(err).__name__}: {err}")
            continue
        if not torch.equal(p.x, x_before):
            failures.append("your function modified x in place; work on a copy (x = x.clone())")
            continue
        err = _shape_problem(out, p.x)
        if err is None:
            assert isinstance(out, Tensor)
            out = out.detach().to(p.x.dtype)
            err = _bounds_problem(
                out, q, "inf", projection="each pixel moves by exactly ±λ before clipping"
            )
        if err is None:
            ref = jacobian_augment(p.model, p.x, labels, lam)
            if not _same(out, ref):
                own = jacobian_augment(p.model, p.x, p.model(p.x).argmax(1), lam)
                loss_step = (p.x + lam * _gradient(p.model, p.x, labels).sign()).clamp(0, 1)
                if _same(out, own):
                    err = (
                        "you differentiated the logit of the substitute's own prediction; use "
                        "the label the target gave (labels), the only thing the attacker knows"
                    )
                elif _same(out, loss_step) or _same(
                    out, (p.x - lam * _gradient(p.model, p.x, labels).sign()).clamp(0, 1)
                ):
                    err = (
                        "you followed the gradient of the cross-entropy loss; Papernot et al. "
                        "follow the gradient of the label's logit F_label(x)"
                    )
                elif _same(out, jacobian_augment(p.model, p.x, labels, abs(lam))):
                    err = "you dropped the sign of λ: a negative λ steps the other way"
                else:
                    wrong = (out - ref).abs() > ATOL
                    err = (
                        f"your result differs from advlab's on {int(wrong.sum())} of "
                        f"{wrong.numel()} pixels; the step is x + λ·sign(∂F_label(x)/∂x)"
                    )
        if err is not None:
            failures.append(err)
    report = _summary(
        "jacobian augmentation", "advlab.attacks.jacobian_augment", failures, len(problems)
    )
    if verbose:
        print(report)
    return report
