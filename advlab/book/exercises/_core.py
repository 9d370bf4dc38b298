"""What every exercise checker shares: the report, the random test problems, the diagnoses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..._validate import check_count, check_flag, check_seed

__all__ = ["ATOL", "CheckReport"]

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
    """Run a PGD with a chosen step norm, ball and step sign: the shapes of typical mistakes."""
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
