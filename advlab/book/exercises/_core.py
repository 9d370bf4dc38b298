"""What every exercise checker shares: the report, the random test problems, the diagnoses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..._validate import ArgumentError, ArgumentTypeError, check_count, check_flag, check_seed
from ...attacks._common import ball_tolerance

__all__ = ["ATOL", "CheckReport"]

#: Absolute tolerance for "the same image": float32 rounding of x + eps·sign(g).
ATOL = 1e-5


def _atol(dtype: torch.dtype) -> float:
    """Tolerance for "the same values" when a result is in ``dtype`` (float16 rounds at 5e-4)."""
    return max(ATOL, 4 * torch.finfo(dtype).eps) if dtype.is_floating_point else ATOL


def _check_function(fn: object, checker: str, what: str) -> None:
    """Refuse anything but a function: the reader passed ``my_fgsm()`` or a name by mistake."""
    if not callable(fn):
        raise ArgumentTypeError(
            f"{checker} takes {what}, got {type(fn).__name__}; pass the function itself "
            "(its name without parentheses)"
        )


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


def _call(
    fn: Callable[..., object], p: _Problem, *args: object, **kwargs: object
) -> tuple[object, str | None]:
    """Run the reader's attack on copies of the problem; say what it did to them, if anything.

    The reader gets a copy of the model and of ``x`` and ``y``, so the reference
    (run on the originals) cannot be changed by what the reader's code does.
    """
    model, x, y = copy.deepcopy(p.model), p.x.clone(), p.y.clone()
    try:
        out = fn(model, x, y, *args, **kwargs)
    except Exception as err:  # the reader's code: report any failure as feedback
        return None, f"your function raised {type(err).__name__}: {err}"
    if not torch.equal(x, p.x):
        return None, "your function modified x in place; work on a copy (x = x.clone())"
    if not torch.equal(y, p.y):
        return None, "your function modified the labels in place; leave them as they are"
    changed = _model_change(model, p.model)
    if changed is not None:
        return None, (
            f"your function changed the model ({changed}); an attack only reads it: take "
            "the gradient with respect to x (torch.autograd.grad(loss, x)), take no optimiser "
            "step, and do not convert the model in place (copy it first: copy.deepcopy(model))"
        )
    return out, None


def _model_change(model: nn.Module, original: nn.Module) -> str | None:
    """Say how ``model`` (the reader's copy) differs from ``original``, or ``None`` if it does not."""
    mine, ref = model.state_dict(), original.state_dict()
    if mine.keys() != ref.keys():
        return "its parameters were renamed, added or removed"
    for name, t in ref.items():
        u = mine[name]
        if u.dtype != t.dtype or u.device != t.device:
            return f"{name} is now {u.dtype} on {u.device}, was {t.dtype} on {t.device}"
        if u.shape != t.shape or not torch.equal(u, t):
            return f"the values of {name} changed"
    return None


def _tensor_problem(out: object, like: Tensor, name: str, what: str) -> str | None:
    """Say what keeps ``out`` from standing where a tensor like ``like`` is expected, or ``None``."""
    if not isinstance(out, Tensor):
        return _not_a_tensor(out, name, what)
    # in order: each rule may rely on the ones before (no NaN check of a meta tensor)
    rules: tuple[tuple[Callable[[], bool], str], ...] = (
        (
            lambda: out.layout != torch.strided,
            f"your result is a {out.layout} tensor; return a dense one (.to_dense())",
        ),
        (
            lambda: out.device != like.device,
            f"your result is on {out.device}, the input is on {like.device}; return it on the "
            f"input's device ({name}.to(x.device))",
        ),
        (
            lambda: out.shape != like.shape,
            f"your result has shape {tuple(out.shape)}, the input has {tuple(like.shape)}; "
            "return one value per input value",
        ),
        (
            lambda: not out.is_floating_point(),
            f"your result has dtype {out.dtype}; keep the input's float dtype ({like.dtype})",
        ),
        (lambda: not bool(torch.isfinite(out.detach()).all()), "your result contains NaN or inf"),
    )
    return next((message for bad, message in rules if bad()), None)


def _not_a_tensor(out: object, name: str, what: str) -> str:
    """Say what the reader returned instead of a tensor."""
    if out is None:
        return f"your function returned None; end it with `return {name}`"
    if isinstance(out, (tuple, list)):
        return (
            f"your function returned a {type(out).__name__} of {len(out)} items; return "
            f"{what} alone, as one tensor"
        )
    return f"your function returned {type(out).__name__}; return {what} as a torch tensor"


def _shape_problem(out: object, x: Tensor) -> str | None:
    err = _tensor_problem(out, x, "x_adv", "the adversarial images")
    if err is None and isinstance(out, Tensor) and out.requires_grad:
        return "your result still requires grad; return x_adv.detach()"
    return err


def _bounds_problem(
    out: Tensor, p: _Problem, norm: str, *, projection: str, dtype: torch.dtype = torch.float32
) -> str | None:
    """Check [0, 1] and the ε-ball, with the rounding slack of the dtype the reader returned."""
    slack = max(_atol(dtype), 1e-4)
    lo, hi = float(out.min()), float(out.max())
    if lo < -slack or hi > 1 + slack:
        return (
            f"your result leaves [0, 1] (values from {lo:.3f} to {hi:.3f}): clip the images with "
            ".clamp(0, 1) after each step"
        )
    delta = (out - p.x).flatten(1)
    size = delta.abs().amax(dim=1) if norm == "inf" else delta.norm(dim=1)
    worst = float(size.max())
    ball = ball_tolerance(dtype, "inf" if norm == "inf" else 2, eps=p.eps, numel=p.x[0].numel())
    if worst > p.eps + max(1e-4, ball):
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


def _same(a: Tensor, b: Tensor, atol: float = ATOL) -> bool:
    return bool(torch.allclose(a, b, atol=atol, rtol=0))


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
        raise ArgumentError(
            f"trials must be at most 1000 (each is a small random problem), got {n}"
        )
    return n, check_seed(seed), check_flag(verbose, "verbose")
