"""Property-based tests (hypothesis) of every public function: the documented result or a clear error.

ONE table, :data:`CASES`, maps each public callable of advlab (everything in
the ``__all__`` of ``advlab`` and of its public submodules) to a strategy of
its arguments and a check of its result. Arbitrary types, shapes, dtypes and
extreme values are thrown at it; the only outcomes accepted are the
documented result (checked) or an error advlab raises on purpose: its
:class:`~advlab.ArgumentError` (a ``ValueError``; :class:`~advlab.ArgumentTypeError`
is also a ``TypeError``) or :class:`~advlab.DataUnavailableError`. A plain
``TypeError`` or ``ValueError`` does not count: it is what Python raises for a
misspelt keyword, or what a library deep below raises for an argument advlab
should have checked.

    *** When you add a public function or class, add it to CASES. ***
    ``test_every_public_callable_is_in_the_table`` fails until you do.

The example budget is fixed per callable (``Case.budget``, derandomized, so
CI runs the same cases every time); ``pytest -m slow`` runs the same table
with 10x the examples (``test_documented_result_or_clear_error_10x``).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import math
import os
import pkgutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

import advlab
import advlab.book.settings
import advlab.book.widgets
import advlab.cli
import advlab.cmaes
import advlab.device
import advlab.viz
from advlab._utils import frozen_eval
from advlab.attacks._common import ball_tolerance
from advlab.data import DataUnavailableError

ACCEPTED = (advlab.ArgumentError, DataUnavailableError)

# --- building blocks ------------------------------------------------------------------------


def tiny_linear(classes: int = 3, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, classes)).to(dtype)


def tiny_conv() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3)
    )


class Weird(nn.Module):
    """A model whose output breaks the logits contract in one way."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how, self.lin = how, nn.Linear(16, 3)

    def forward(self, x: Tensor) -> Any:
        z = self.lin(x.flatten(1))
        return {
            "tuple": (z,),
            "1d": z[:, 0],
            "int": z.long(),
            "sqrt": x.flatten(1).sqrt() @ torch.ones(16, 3),
            "nan": z * float("nan"),
            "inf": z * float("inf"),
        }[self.how]


#: Well-behaved models, models with non-finite gradients or outputs (twice as likely: the
#: never-NaN promise lives there), and models that break the logits contract.
MODELS = st.sampled_from(
    ["linear", "conv", "half", *["sqrt", "nan", "inf"] * 2, "tuple", "1d", "int"]
)


VALID_MODELS = st.sampled_from(["linear", "conv", "half", "sqrt", "nan", "inf"])


def make_model(name: str) -> nn.Module:
    if name == "linear":
        return tiny_linear()
    if name == "conv":
        return tiny_conv().train()
    if name == "half":
        return tiny_linear(dtype=torch.float16)
    return Weird(name)


FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-12, 0.1, 0.5, 1.0, 2.0, 3e38, 1e300, -0.0, -1.0]),
)
NUMBERS = st.one_of(
    FLOATS,
    st.integers(-(2**70), 2**70),
    st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
    st.integers(-(2**31), 2**31 - 1).map(np.int64),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=6),
    st.sampled_from(["False", "True", "inf", "2", "cpu", "nan", b"x", (), [], {}, object()]),
    st.lists(st.integers(-2, 40), max_size=4),
    st.builds(lambda: torch.zeros(2, 2)),
    st.builds(lambda: np.zeros(3)),
)


@st.composite
def tensors(
    draw: st.DrawFn, batch: int | None = None, channels: int = 1, side: int = 4, valid: bool = False
) -> Tensor:
    """Image-like tensors: usually valid (N, C, 4, 4) in [0, 1], often broken in one way."""
    n = draw(st.integers(1, 4)) if batch is None else batch  # N = 0 is the "empty" kind
    broken = [
        *("uint8", "double", "half", "3d", "5d", "nan", "inf", "big", "neg", "meta", "empty"),
        *("noncontig", "inference", "requires_grad", "int"),
    ]
    kind = (
        "ok" if valid or draw(st.integers(0, 9)) < 6 else draw(st.sampled_from(broken))
    )  # 0 is likeliest
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.rand(n, channels, side, side, generator=g)
    if draw(st.booleans()):
        x[..., 0, :] = 0.0
        x[..., -1, :] = 1.0
    if kind == "uint8":
        return (x * 255).to(torch.uint8)
    if kind == "int":
        return x.long()
    if kind == "double":
        return x.double()
    if kind == "half":
        return x.half()
    if kind == "3d":
        return x[:, 0]
    if kind == "5d":
        return x[None]
    if kind == "nan" and x.numel():
        x.view(-1)[0] = float("nan")
    if kind == "inf" and x.numel():
        x.view(-1)[-1] = float("inf")
    if kind == "big":
        return x * 255
    if kind == "neg":
        return x - 0.5
    if kind == "meta":
        return x.to("meta")
    if kind == "empty":
        return x[:0]
    if kind == "noncontig":
        return x.transpose(2, 3)
    if kind == "inference":
        with torch.inference_mode():
            return x.clone()
    if kind == "requires_grad":
        return x.requires_grad_(True)
    return x


@st.composite
def labels(draw: st.DrawFn, n: int, classes: int = 3, valid: bool = False) -> Any:
    good = ["ok", "ok", "ok", "none"]
    kind = draw(
        st.sampled_from(good if valid else [*good, "short", "col", "float", "range", "junk"])
    )
    y = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(n))
    return {
        "ok": y,
        "none": None,
        "short": y[: max(n - 1, 0)],
        "col": y[:, None],
        "float": y.float(),
        "range": y + classes,
        "junk": draw(JUNK),
    }[kind]


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly good values (9 in 10), sometimes anything at all."""
    return st.integers(0, 9).flatmap(lambda k: JUNK if k == 9 else good)


SMALL_COUNT = maybe(st.integers(1, 3))
FLAG = maybe(st.booleans())


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """How to call one public callable: ``args`` draws ``(args, kwargs)``; ``check`` sees the result."""

    args: Callable[[], st.SearchStrategy[tuple[tuple, dict]]]
    check: Callable[[Any, tuple, dict], None] = lambda result, args, kwargs: None
    budget: int = 20  # examples per run in the CI profile
    extra: tuple[type[BaseException], ...] = ()  # further outcomes documented by the callable


def _attack_args(
    with_eps: bool, extra: dict[str, st.SearchStrategy[Any]], defaults: dict[str, Any] | None = None
):
    """Half the calls are valid throughout (the documented result is then checked, on models
    with non-finite gradients too); the other half may break any argument."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        valid = draw(st.booleans())
        model_name = draw(VALID_MODELS if valid else MODELS)
        broken_model = not valid and draw(st.integers(0, 9)) == 9
        model = draw(JUNK) if broken_model else make_model(model_name)
        x = draw(tensors(valid=valid))
        if model_name == "half" and isinstance(x, Tensor) and x.dtype == torch.float32:
            x = x.half()
        n = x.shape[0] if isinstance(x, Tensor) and x.ndim else 1
        y = draw(labels(n, valid=valid))
        wrap = (lambda v: v) if valid else maybe
        kwargs = {k: draw(wrap(v)) for k, v in extra.items() if draw(st.booleans())}
        kwargs = {**(defaults or {}), **kwargs}  # keep the default budgets small
        if with_eps:
            kwargs["eps"] = draw(wrap(st.sampled_from([0.0, 0.05, 0.3, 1.0, 5.0, 1e30, 1e300])))
        kwargs["targeted"] = False if valid else draw(st.one_of(st.just(False), maybe(FLAG)))
        return (model, x, y), kwargs

    return draw_args


def check_attack(result: Any, args: tuple, kwargs: dict) -> None:
    _, x, _ = args
    assert isinstance(result, Tensor) and result.shape == x.shape and result.dtype == x.dtype
    assert not result.requires_grad
    assert torch.isfinite(result).all(), "an attack returned NaN or inf"
    assert result.min() >= 0 and result.max() <= 1
    eps = kwargs.get("eps")
    if eps is None:
        return
    eps = float(eps)
    delta = (result.double() - x.detach().double()).flatten(1)
    tol = ball_tolerance(x.dtype)
    if kwargs.get("norm", "inf") in (2, 2.0, "2", "l2", "L2"):
        assert float(delta.norm(dim=1).max()) <= eps + math.sqrt(delta.shape[1]) * tol
    else:
        assert float(delta.abs().max()) <= eps + tol


ATTACK_EXTRA = {
    "loss": st.sampled_from(["ce", "margin"]),
}
ITER_EXTRA = {
    **ATTACK_EXTRA,
    "steps": st.integers(1, 3),
    "alpha": st.sampled_from([None, 0.0, 0.01, 0.5, 2.0, 1e300]),
}
PGD_EXTRA = {
    **ITER_EXTRA,
    "norm": st.sampled_from([2, "inf", "l2", float("inf")]),
    "random_start": st.just(True),
    "restarts": st.integers(1, 3),
    "eot": st.integers(1, 2),
    "seed": st.integers(0, 2**64 - 1),
}
CW_EXTRA = {
    "confidence": st.sampled_from([0.0, 1.0, 1e30]),
    "c": st.sampled_from([1e-3, 1.0, 1e30]),
    "binary_search_steps": st.integers(1, 3),
    "steps": st.integers(1, 3),
    "lr": st.sampled_from([0.01, 0.1, 1e10]),
}


def _tiny_dataset() -> advlab.Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 4, 4, generator=g)
    y = torch.arange(24) % 3
    return advlab.Dataset("digits", x, y, x[:6], y[:6], ("a", "b", "c"), "fuzz")


TINY = _tiny_dataset()


class Required:
    """A keyword argument that every generated call passes: the callable has no default for it."""

    def __init__(self, strategy: st.SearchStrategy[Any]) -> None:
        self.strategy = strategy


def _draw_kwargs(draw: st.DrawFn, strategies: dict[str, Any]) -> dict[str, Any]:
    """Draw each keyword argument: a :class:`Required` one always, the others present or not."""
    out = {}
    for k, v in strategies.items():
        if isinstance(v, Required):
            out[k] = draw(v.strategy)
        elif draw(st.booleans()):
            out[k] = draw(v)
    return out


def _signature_args(fn: Callable[..., Any], junk: st.SearchStrategy[Any] | None = None):
    """Junk for every parameter of ``fn``'s signature: the required ones always, the rest maybe.

    For records and figures, whose only contract is "accept or refuse clearly":
    the call always binds, so a refusal must come from advlab, never from Python.
    """
    junk = JUNK if junk is None else junk
    try:
        signature = inspect.signature(fn)
    except ValueError:  # a built-in's __init__ (an exception type): any positional arguments
        return _positional(junk)
    params = [
        p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for p in params:
            required = p.default is p.empty
            if p.kind == p.KEYWORD_ONLY:
                if required or draw(st.booleans()):
                    kwargs[p.name] = draw(junk)
            elif required:
                args.append(draw(junk))
            elif len(args) == params.index(p) and draw(st.booleans()):
                args.append(draw(junk))
        return tuple(args), kwargs

    return draw_args


def _kwargs_of(**strategies: st.SearchStrategy[Any]):
    """Keyword arguments, each present or not (always, if :class:`Required`), each drawn from its strategy."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        return (), _draw_kwargs(draw, strategies)

    return draw_args


def _positional(
    *strategies: st.SearchStrategy[Any],
    fixed: dict[str, Any] | None = None,
    **kw: st.SearchStrategy[Any],
):
    """Positional arguments drawn in order, keyword arguments each present or not, and
    ``fixed`` keyword arguments always passed (e.g. a tiny dataset, so nothing slow runs)."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        kwargs = _draw_kwargs(draw, kw)
        return tuple(draw(s) for s in strategies), {**(fixed or {}), **kwargs}

    return draw_args


def _model_and_data(n_labels: bool = True, **kw: st.SearchStrategy[Any]):
    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        model = draw(JUNK) if draw(st.integers(0, 9)) == 9 else make_model(draw(MODELS))
        x = draw(tensors())
        n = x.shape[0] if isinstance(x, Tensor) and x.ndim else 1
        args = (model, x, draw(labels(n))) if n_labels else (model, x)
        return args, {k: draw(v) for k, v in kw.items() if draw(st.booleans())}

    return draw_args


def check_predict(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, Tensor) and result.ndim == 2 and result.shape[0] == len(args[1])


def check_fraction(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, float) and 0.0 <= result <= 1.0


def check_module(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, nn.Module)


def check_path(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, Path)


def check_device(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, torch.device)


def check_dataset_split(result: Any, args: tuple, kwargs: dict) -> None:
    x, y, classes = result
    assert x.ndim == 4 and len(x) == len(y) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert int(y.max()) < len(classes)


DATASET_NAMES = maybe(st.sampled_from(["digits", "DIGITS", "mnist", "cifar10", "fashion_mnist"]))
DEVICES = maybe(st.sampled_from(["cpu", "mps", "xpu", "cuda:9", "meta", "toaster", None]))
#: A fresh folder per session: the zoo cache starts empty, so pretrained really trains.
SCRATCH = Path(tempfile.mkdtemp(prefix="advlab-fuzz-"))
OFFLINE_ROOT = SCRATCH / "empty-data-root"

CASES: dict[Callable[..., Any], Case] = {
    # attacks
    advlab.fgsm: Case(_attack_args(True, ATTACK_EXTRA), check_attack, budget=120),
    advlab.bim: Case(_attack_args(True, ITER_EXTRA), check_attack, budget=60),
    advlab.pgd: Case(_attack_args(True, PGD_EXTRA), check_attack, budget=150),
    advlab.cw_l2: Case(
        _attack_args(False, CW_EXTRA, {"steps": 3, "binary_search_steps": 2}),
        check_attack,
        budget=60,
    ),
    advlab.attacks.AttackInfo: Case(
        _positional(JUNK, JUNK, JUNK, JUNK, JUNK, JUNK),
        lambda r, a, k: None,  # a plain record, no checks of its own
        budget=5,
    ),
    advlab.attacks.attack_info: Case(
        _positional(maybe(st.sampled_from(["fgsm", "pgd", "cw_l2", advlab.fgsm]))),
        lambda r, a, k: isinstance(r, advlab.attacks.AttackInfo),
    ),
    advlab.attacks.register: Case(_positional(JUNK), budget=10),  # junk only: never registers
    advlab.attacks.AttackResult: Case(
        _signature_args(advlab.attacks.AttackResult), budget=3
    ),  # a plain record
    advlab.attacks.adversarial_images: Case(
        _positional(st.one_of(tensors(valid=True), JUNK), maybe(tensors(valid=True))),
        lambda r, a, k: isinstance(r, Tensor),
        budget=20,
    ),
    # data
    advlab.load_dataset: Case(
        _positional(DATASET_NAMES, root=st.just(OFFLINE_ROOT), download=st.just(False)),
        lambda r, a, k: check_dataset_split((r.x_test, r.y_test, r.classes), a, k),
        budget=6,
    ),
    advlab.load_split: Case(
        _positional(
            DATASET_NAMES,
            maybe(st.sampled_from(["train", "test"])),
            root=st.just(OFFLINE_ROOT),
            download=st.just(False),
        ),
        check_dataset_split,
        budget=10,
    ),
    advlab.data.cache_dir: Case(_kwargs_of(), check_path, budget=2),
    advlab.data.dataset_available: Case(
        _positional(DATASET_NAMES, root=maybe(st.sampled_from([OFFLINE_ROOT, str(OFFLINE_ROOT)]))),
        lambda r, a, k: isinstance(r, bool),
        budget=10,
    ),
    advlab.data.data_root: Case(_positional(maybe(st.sampled_from([None, "/tmp/x"]))), check_path),
    advlab.DataUnavailableError: Case(_positional(JUNK), budget=5),
    advlab.ArgumentError: Case(_positional(JUNK), budget=5),
    advlab.ArgumentTypeError: Case(_positional(JUNK), budget=5),
    advlab.Dataset: Case(_positional(*[JUNK] * 7), budget=5),  # a plain record
    # models
    advlab.build_model: Case(
        _positional(
            maybe(st.just("small_cnn")),
            maybe(st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))),
            maybe(st.integers(2, 5)),
            mean=maybe(st.lists(FLOATS, min_size=1, max_size=3)),
            std=maybe(st.lists(FLOATS, min_size=1, max_size=3)),
        ),
        check_module,
    ),
    advlab.SmallCNN: Case(
        _positional(
            maybe(st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))),
            maybe(st.integers(2, 5)),
            width=maybe(st.integers(1, 4)),
        ),
        check_module,
    ),
    advlab.Normalize: Case(
        _positional(
            maybe(st.lists(FLOATS, min_size=1, max_size=3)),
            maybe(st.lists(FLOATS, min_size=1, max_size=3)),
        ),
        check_module,
    ),
    advlab.models.check_architecture: Case(
        _positional(
            maybe(st.tuples(st.integers(-1, 9), st.integers(-1, 9), st.integers(-1, 9))),
            maybe(st.integers(-1, 9)),
        )
    ),
    # training and evaluation
    advlab.predict: Case(
        _model_and_data(False, batch_size=maybe(st.integers(1, 5))), check_predict, budget=80
    ),
    advlab.evaluate: Case(
        _model_and_data(True, batch_size=maybe(st.integers(1, 5))), check_fraction, budget=80
    ),
    advlab.train.accuracy: Case(
        _positional(
            maybe(st.sampled_from([torch.rand(4, 3), torch.arange(4), torch.rand(4)])),
            maybe(
                st.sampled_from([torch.arange(4) % 3, torch.zeros(4, 1).long(), torch.arange(0)])
            ),
        ),
        check_fraction,
    ),
    advlab.fit: Case(
        _model_and_data(
            True,
            epochs=SMALL_COUNT,
            batch_size=maybe(st.integers(1, 10**9)),
            lr=maybe(st.sampled_from([1e-3, 1.0])),
            weight_decay=maybe(st.sampled_from([0.0, 1e-4])),
            seed=maybe(st.integers(0, 2**64 - 1)),
            device=DEVICES,
            perturb=maybe(st.just(None)),
            loss_fn=maybe(st.just(None)),
            progress=st.one_of(st.just(False), JUNK),
        ),
        lambda r, a, k: isinstance(r, advlab.train.History),
        budget=30,
    ),
    advlab.train.set_seed: Case(_positional(maybe(st.integers(0, 2**64 - 1)))),
    advlab.train.History: Case(_positional(maybe(st.lists(FLOATS))), budget=3),
    # zoo
    advlab.TrainConfig: Case(
        _kwargs_of(
            dataset=DATASET_NAMES,
            model=maybe(st.just("small_cnn")),
            epochs=SMALL_COUNT,
            batch_size=SMALL_COUNT,
            lr=maybe(FLOATS),
            weight_decay=maybe(FLOATS),
            seed=maybe(st.integers(-5, 2**65)),
            recipe=maybe(st.text(max_size=3)),
            extra=maybe(st.dictionaries(st.text(max_size=2), NUMBERS, max_size=2)),
        ),
        lambda r, a, k: hash(r) is not None and len(r.key()) == 16,
        budget=40,
    ),
    advlab.Trained: Case(_signature_args(advlab.Trained), budget=3),  # a plain record
    advlab.zoo.checkpoint_path: Case(
        _positional(maybe(st.builds(advlab.TrainConfig)), maybe(st.just("/tmp/x"))), check_path
    ),
    advlab.pretrained: Case(
        _positional(
            maybe(st.sampled_from([None, "digits", advlab.TrainConfig(epochs=1)])),
            fixed={"data": TINY, "cache_dir": SCRATCH / "zoo"},
            device=DEVICES,
            progress=st.one_of(st.just(False), JUNK),
            retrain=FLAG,
            epochs=maybe(st.integers(1, 2)),
            batch_size=maybe(st.integers(1, 64)),
        ),
        lambda r, a, k: isinstance(r, advlab.Trained) and 0 <= r.test_accuracy <= 1,
        budget=15,
    ),
    advlab.zoo.register_recipe: Case(
        _positional(st.one_of(st.just(""), JUNK.filter(lambda v: not isinstance(v, str))), JUNK),
        budget=10,
    ),  # invalid only, so the registry is never polluted
    # device, settings, cli
    advlab.default_device: Case(_kwargs_of(), check_device, budget=2),
    advlab.device.check_device: Case(_positional(DEVICES), check_device),
    advlab.book.settings.settings: Case(
        _kwargs_of(), lambda r, a, k: isinstance(r, advlab.book.settings.BookSettings), budget=2
    ),
    advlab.book.settings.BookSettings: Case(
        _signature_args(advlab.book.settings.BookSettings), budget=3
    ),  # a record
    advlab.book.settings.greyscale_settings: Case(
        _positional(
            maybe(
                st.builds(
                    advlab.book.settings.BookSettings,
                    st.sampled_from(["digits", "mnist", "fashion-mnist", "cifar10"]),
                    maybe(st.sampled_from(["quick", "full"])),
                    st.integers(1, 3),
                )
            ),
            root=maybe(st.just(OFFLINE_ROOT)),
        ),
        lambda r, a, k: (
            isinstance(r, advlab.book.settings.BookSettings)
            and r.dataset in ("digits", "mnist", "fashion-mnist")
            and r.profile in ("quick", "full")
        ),
        budget=10,
    ),
    advlab.cli.main: Case(
        _positional(
            st.one_of(
                st.just(["info"]),
                st.lists(st.sampled_from(["train", "--device", "toaster", "--epochs", "x"])),
                st.tuples(
                    st.just("train"), st.just("--device"), st.sampled_from(["mps", "cuda:9"])
                ).map(list),
            )
        ),
        lambda r, a, k: r in (0, 2),
        budget=10,
        extra=(SystemExit,),  # argparse: exit status 2 for bad options
    ),
}


# Exercise checkers: the reader's function may be anything; a report or a clear error comes back.
def _reader_functions() -> st.SearchStrategy[Any]:
    def ok_fgsm(model, x, y, eps):
        return x.clone()

    def raises(*args, **kwargs):
        raise RuntimeError("reader's bug")

    return st.one_of(JUNK, st.sampled_from([ok_fgsm, raises, lambda *a, **k: None, print]))


def check_report(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, advlab.book.exercises.CheckReport) and isinstance(result.passed, bool)


for _checker in (advlab.book.exercises.check_fgsm, advlab.book.exercises.check_pgd):
    CASES[_checker] = Case(
        _kwargs_of(
            fn=Required(_reader_functions()),
            trials=maybe(st.integers(1, 2)),
            seed=maybe(st.integers(0, 2**64 - 1)),
            verbose=st.just(False),
        ),
        check_report,
        budget=10,
    )
CASES[advlab.book.exercises.CheckReport] = Case(
    _signature_args(advlab.book.exercises.CheckReport), budget=3
)  # a plain record
# Part III (part3 branch): masking defenses, BPDA, transfer, substitute, SPSA, checks, table.
import advlab.attacks.bpda  # noqa: E402
import advlab.attacks.spsa  # noqa: E402
import advlab.attacks.substitute  # noqa: E402
import advlab.attacks.transfer  # noqa: E402
import advlab.book.catalog  # noqa: E402
import advlab.book.exercises  # noqa: E402
import advlab.defenses.masking  # noqa: E402
import advlab.metrics.masking  # noqa: E402
import advlab.metrics.table  # noqa: E402
from advlab.attacks.apgd import apgd_checkpoints  # noqa: E402  (advlab.attacks.apgd: the function)
from advlab.attacks.square import square_side  # noqa: E402

_A, _D, _M = advlab.attacks, advlab.defenses, advlab.metrics


def _drop_targeted(call: tuple[tuple, dict]) -> tuple[tuple, dict]:
    args, kwargs = call
    return args, {k: v for k, v in kwargs.items() if k != "targeted"}


MODEL_OR_JUNK = st.one_of(MODELS.map(make_model), JUNK)
SPSA_EXTRA = {
    "loss": st.sampled_from(["ce", "margin"]),
    "steps": st.integers(1, 2),
    "samples": st.integers(1, 3),
    "delta": st.sampled_from([1e-3, 0.01, 1.0]),
    "lr": st.sampled_from([None, 0.01, 1e30]),
    "early_stop": st.booleans(),
    "seed": st.integers(0, 2**64 - 1),
}


APGD_EXTRA = {
    "loss": st.sampled_from(["ce", "dlr"]),
    "steps": st.integers(1, 3),
    "norm": st.sampled_from(["inf", 2]),
    "restarts": st.integers(1, 2),
    "rho": st.sampled_from([0.5, 0.75, 1.0]),
    "seed": st.integers(0, 2**64 - 1),
}
HSJ_EXTRA = {
    "steps": st.integers(1, 2),
    "init_samples": st.integers(1, 8),
    "max_samples": st.integers(1, 8),
    "gamma": st.sampled_from([0.5, 1.0, 1e6]),
    "init_tries": st.integers(1, 3),
    "batch_size": st.integers(1, 16),
    "seed": st.integers(0, 2**64 - 1),
}
SQUARE_EXTRA = {
    "steps": st.integers(1, 5),
    "p_init": st.sampled_from([0.05, 0.8, 1.0]),
    "seed": st.integers(0, 2**64 - 1),
}


def check_wrapped(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, nn.Module)


def check_image_map(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, Tensor) and result.shape == args[0].shape
    assert float(result.min()) >= 0 and float(result.max()) <= 1


def _sub_args():
    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        target = make_model(draw(VALID_MODELS)) if draw(st.integers(0, 4)) else draw(JUNK)
        x = draw(tensors())
        kw = {
            "rounds": draw(maybe(st.integers(1, 2))),
            "lam": draw(maybe(st.sampled_from([0.1, -0.1, 0.0, 1e300]))),
            "epochs": 1,
            "seed": draw(maybe(st.integers(0, 2**64 - 1))),
        }
        return (target, x), kw

    return draw_args


CASES.update(
    {
        _A.spsa: Case(
            _attack_args(True, SPSA_EXTRA, {"steps": 2, "samples": 2}), check_attack, budget=60
        ),
        _A.random_noise: Case(
            lambda: _attack_args(True, {"seed": st.integers(0, 2**64 - 1)})().map(_drop_targeted),
            check_attack,
            budget=40,
        ),
        _A.apgd: Case(
            lambda: _attack_args(True, APGD_EXTRA, {"steps": 2})().map(_drop_targeted),
            check_attack,
            budget=60,
        ),
        _A.square: Case(
            lambda: _attack_args(True, SQUARE_EXTRA, {"steps": 3})().map(_drop_targeted),
            check_attack,
            budget=60,
        ),
        _A.hop_skip_jump: Case(
            lambda: _attack_args(False, HSJ_EXTRA, {"steps": 1, "init_samples": 4})().map(
                _drop_targeted
            ),
            lambda r, a, k: (
                isinstance(r, _A.HopSkipJumpResult)
                and r.x_adv.shape == a[1].shape
                and bool(torch.isfinite(r.x_adv).all())
                and 0 <= float(r.x_adv.min()) <= float(r.x_adv.max()) <= 1
                and bool((r.queries >= 1).all())
            ),
            budget=40,
        ),
        _A.HopSkipJumpResult: Case(_signature_args(_A.HopSkipJumpResult), budget=3),  # a record
        _A.dlr_loss: Case(
            _positional(st.one_of(tensors(), JUNK), st.one_of(labels(4), JUNK)), budget=20
        ),
        apgd_checkpoints: Case(
            _positional(st.one_of(st.integers(-2, 300), JUNK)),
            lambda r, a, k: r == sorted(set(r)) and 1 <= r[0] and r[-1] <= a[0],
            budget=20,
        ),
        square_side: Case(
            _positional(
                st.one_of(st.floats(0.001, 1.0), JUNK),
                st.integers(0, 100),
                st.integers(1, 100),
                st.integers(1, 32),
                st.integers(1, 32),
            ),
            lambda r, a, k: 1 <= r <= min(a[3], a[4]),
            budget=20,
        ),
        _A.BPDA: Case(_positional(JUNK, JUNK), check_wrapped, budget=10),
        _A.bpda: Case(_positional(MODEL_OR_JUNK, JUNK), check_wrapped, budget=10),
        _A.LabelOracle: Case(
            _positional(MODEL_OR_JUNK, batch_size=maybe(st.integers(1, 4))), budget=10
        ),
        _A.SubstituteResult: Case(_signature_args(_A.SubstituteResult), budget=3),  # a plain record
        _A.TransferResult: Case(_signature_args(_A.TransferResult), budget=3),  # a plain record
        _A.jacobian_augment: Case(
            lambda: _model_and_data(True)().map(lambda c: ((*c[0], 0.1), c[1])),
            lambda r, a, k: (
                isinstance(r, Tensor) and bool(torch.isfinite(r).all()) and r.shape == a[1].shape
            ),
            budget=40,
        ),
        _A.train_substitute: Case(
            _sub_args(), lambda r, a, k: isinstance(r, _A.SubstituteResult), budget=15
        ),
        _A.disjoint_split: Case(
            _positional(
                maybe(st.sampled_from([torch.arange(12) % 3, torch.zeros(5).long()])),
                maybe(st.integers(2, 4)),
                seed=maybe(st.integers(0, 2**64 - 1)),
            ),
            lambda r, a, k: isinstance(r, list) and sum(len(p) for p in r) == len(a[0]),
        ),
        _A.loss_gradient: Case(
            _model_and_data(True, loss=st.sampled_from(["ce", "margin"])),
            lambda r, a, k: r[1].shape == a[1].shape and r[0].shape == (len(a[1]),),
            budget=30,
        ),
        _A.transfer_attack: Case(
            lambda: _model_and_data(True)().map(
                lambda c: ((c[0][0], tiny_linear(), *c[0][1:]), {"eps": 0.1, "steps": 1, **c[1]})
            ),
            lambda r, a, k: isinstance(r, _A.TransferResult) and torch.isfinite(r.x_adv).all(),
            budget=30,
        ),
        _D.LabelOnly: Case(_positional(MODEL_OR_JUNK), check_wrapped, budget=10),
        _D.ScaledLogits: Case(_positional(MODEL_OR_JUNK, maybe(FLOATS)), check_wrapped),
        _D.NoisyInput: Case(_positional(MODEL_OR_JUNK, maybe(FLOATS)), check_wrapped),
        _D.LogitWiggle: Case(
            _positional(MODEL_OR_JUNK),
            check_wrapped,
            budget=10,
        ),
        _D.InputTransform: Case(
            _positional(MODEL_OR_JUNK, maybe(st.sampled_from([_D.quantize, _D.threshold]))),
            check_wrapped,
            budget=10,
        ),
        _D.certify: Case(
            lambda: _model_and_data(
                False,
                sigma=maybe(st.sampled_from([0.25, 1.0])),
                n0=maybe(st.integers(1, 5)),
                n=maybe(st.integers(1, 20)),
                alpha=maybe(st.sampled_from([0.001, 0.5])),
                batch_size=maybe(st.integers(1, 8)),
                seed=maybe(st.integers(0, 2**64 - 1)),
            )().map(lambda c: (c[0], {"sigma": 0.5, "n0": 2, "n": 8, **c[1]})),
            lambda r, a, k: (
                isinstance(r, _D.Certificate)
                and bool((r.radius >= 0).all())
                and r.prediction.shape == (len(a[1]),)
            ),
            budget=30,
        ),
        _D.Certificate: Case(_signature_args(_D.Certificate), budget=3),  # a plain record
        _D.quantize: Case(
            _positional(tensors(valid=True), maybe(st.integers(-1, 10))), check_image_map
        ),
        _D.threshold: Case(_positional(tensors(valid=True), maybe(FLOATS)), check_image_map),
        _D.quantized: Case(_positional(MODEL_OR_JUNK, maybe(st.integers(-1, 10))), check_wrapped),
        _D.thresholded: Case(_positional(MODEL_OR_JUNK, maybe(FLOATS)), check_wrapped),
        advlab.book.catalog.DefenseSpec: Case(
            _signature_args(advlab.book.catalog.DefenseSpec), budget=3
        ),  # a plain record
        advlab.book.catalog.register_defense: Case(
            _positional(JUNK), budget=10
        ),  # junk only: never registers
        advlab.book.catalog.defender_config: Case(
            _positional(DATASET_NAMES, SMALL_COUNT, maybe(st.just("standard")), maybe(st.none())),
            lambda r, a, k: isinstance(r, advlab.TrainConfig),
        ),
        advlab.book.catalog.attacker_config: Case(
            _positional(DATASET_NAMES, SMALL_COUNT),
            lambda r, a, k: isinstance(r, advlab.TrainConfig),
        ),
        advlab.book.catalog.build_defenses: Case(
            _positional(
                st.one_of(st.just(TINY), JUNK),
                epochs=Required(SMALL_COUNT),
                names=maybe(st.sampled_from([["none", "label_only"], ["quantized"], ["nope"]])),
                device=st.just("cpu"),
            ),
            lambda r, a, k: (
                isinstance(r, dict) and all(isinstance(m, nn.Module) for m in r.values())
            ),
            budget=6,
        ),
        _M.RobustnessReport: Case(_signature_args(_M.RobustnessReport), budget=3),  # a record
        _M.evaluate_robustness: Case(
            lambda: _model_and_data(True)().map(
                lambda c: (c[0], {"eps": 0.1, "steps": 1, "square_steps": 2, **c[1]})
            ),
            lambda r, a, k: (
                isinstance(r, _M.RobustnessReport) and bool((r.robust <= r.clean).all())
            ),
            budget=20,
        ),
        _M.MaskingCheck: Case(_signature_args(_M.MaskingCheck), budget=3),  # a plain record
        _M.MaskingReport: Case(_signature_args(_M.MaskingReport), budget=3),  # a plain record
        _M.masking_report: Case(
            lambda: _model_and_data(True)().map(
                lambda c: (
                    c[0],
                    {"eps": 0.1, "steps": 1, "spsa_steps": 1, "spsa_samples": 1, **c[1]},
                )
            ),
            lambda r, a, k: isinstance(r, _M.MaskingReport) and len(r.checks) == 7,
            budget=20,
        ),
        _M.AttackTable: Case(_signature_args(_M.AttackTable), budget=3),  # a plain record
        _M.attack_table: Case(
            lambda: _model_and_data(True)().map(
                lambda c: (
                    ({"m": c[0][0]}, *c[0][1:]),
                    {"eps": 0.1, "steps": 1, "attacks": ["fgsm", "random_noise"], **c[1]},
                )
            ),
            lambda r, a, k: isinstance(r, _M.AttackTable),
            budget=20,
        ),
        advlab.book.exercises.check_jacobian_augmentation: Case(_positional(JUNK), budget=5),
    }
)

# Metrics (science branch): the per-image budget search and its result record.
CASES[advlab.metrics.smallest_budget] = Case(
    _positional(JUNK, JUNK, JUNK, JUNK, JUNK, refine=JUNK, norm=JUNK),
    lambda r, a, k: None,
    budget=20,
)
CASES[advlab.metrics.BudgetSearch] = Case(_positional(JUNK, JUNK, JUNK, JUNK), budget=3)  # a record


# Part II (part2 branch: JSMA, adversarial training, distillation) and the platform's metrics
# and settings (fuzz2 branch).
import advlab.defenses.adversarial  # noqa: E402
import advlab.defenses.distillation  # noqa: E402
import advlab.metrics.robustness  # noqa: E402

_J, _ADV, _DIS, _ROB = (  # modules (advlab.attacks.jsma is also the function's name)
    importlib.import_module(f"advlab.{name}")
    for name in (
        "attacks.jsma",
        "defenses.adversarial",
        "defenses.distillation",
        "metrics.robustness",
    )
)


def _half_valid(n_labels: bool = True, **kw: st.SearchStrategy[Any]):
    """As :func:`_model_and_data`, but half the calls get a well-behaved model, valid images
    and valid labels, so that the documented result is really checked."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        if not draw(st.booleans()):
            return draw(_model_and_data(n_labels, **kw)())
        name = draw(st.sampled_from(["linear", "conv", "half"]))
        x = draw(tensors(valid=True))
        x = x.half() if name == "half" else x
        y = torch.randint(0, 3, (len(x),), generator=torch.Generator().manual_seed(len(x)))
        args = (make_model(name), x, y) if n_labels else (make_model(name), x)
        return args, {k: draw(v) for k, v in kw.items() if draw(st.booleans())}

    return draw_args


def _finite_logits(model: Any, x: Tensor) -> Tensor | None:
    """The model's logits on ``x`` when they are a finite (N, K) float tensor, else None."""
    with torch.no_grad(), frozen_eval(model):  # as the metrics and attacks run it
        z = model(x)
    if isinstance(z, Tensor) and z.ndim == 2 and z.is_floating_point() and torch.isfinite(z).all():
        return z.float()
    return None


def _jsma_args():
    extra = {
        "theta": st.sampled_from([1.0, -1.0, 0.5, 0.0, 2.0, float("nan")]),
        "gamma": st.sampled_from([0.145, 0.25, 1.0, 0.01, 0.0, 1.5, float("inf")]),
        "jacobian": st.sampled_from(["probs", "logits"]),
        "candidates": st.integers(1, 20),
    }

    def to_targeted(call: tuple[tuple, dict]) -> tuple[tuple, dict]:
        args, kwargs = call
        if kwargs.get("targeted") is False:  # JSMA is targeted: valid calls say so
            kwargs = {**kwargs, "targeted": True}
        return args, kwargs

    return _attack_args(False, extra, {"gamma": 0.25})().map(to_targeted)


def check_jsma(result: Any, args: tuple, kwargs: dict) -> None:
    model, x, y = args
    assert isinstance(result, _J.JSMAResult)
    check_attack(result.x_adv, args, {})
    n, d = x.shape[0], x[0].numel()
    assert result.num_features == d
    changed = (result.x_adv != x).flatten(1).sum(dim=1)
    assert torch.equal(result.pixels_changed, changed)
    gamma = float(kwargs.get("gamma", 0.145))
    assert int(changed.max()) <= int(gamma * d + 1e-9), "JSMA changed more than gamma"
    theta = float(kwargs.get("theta", 1.0))
    moved = (result.x_adv.double() - x.double()) * math.copysign(1.0, theta)
    assert float(moved.min()) >= 0, "JSMA moved a feature against theta's sign"
    # a feature may be chosen again until it reaches the bound (Papernot et al.), so it can
    # move by more than |theta|; the untouched ones do not move at all
    assert bool((moved[result.x_adv == x] == 0).all())
    evals = result.gradient_evals
    assert evals.shape == (n,) and bool((evals % 2 == 0).all()) and bool((evals >= 2).all())
    assert result.success.dtype == torch.bool and result.success.shape == (n,)
    z = _finite_logits(model, result.x_adv)
    if z is not None and y is not None:
        top2 = z.topk(2, dim=1).values
        clear = (top2[:, 0] - top2[:, 1]) > 1e-3  # ties aside
        hit = z.argmax(dim=1) == y
        assert torch.equal(result.success[clear], hit[clear]), "success != target predicted"
    assert float(result.fraction_changed.max()) <= gamma + 1e-9


def _pair_maps():
    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        m, d = draw(st.integers(0, 3)), draw(st.integers(1, 7))
        g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
        alpha, beta = torch.randn(m, d, generator=g), torch.randn(m, d, generator=g)
        domain = torch.rand(m, d, generator=g) < 0.8
        kind = draw(st.sampled_from(["ok"] * 6 + ["junk", "shape", "dtype", "nan", "1d"]))
        if kind == "junk":
            alpha = draw(JUNK)
        elif kind == "shape":
            beta = beta[:, :-1]
        elif kind == "dtype":
            domain = domain.float()
        elif kind == "nan" and alpha.numel():
            alpha.view(-1)[0] = float("nan")
        elif kind == "1d":
            alpha, beta, domain = alpha.flatten(), beta.flatten(), domain.flatten()
        kwargs: dict[str, Any] = {}
        if draw(st.booleans()):
            kwargs["sign"] = draw(maybe(st.sampled_from([1.0, -1.0, 1, -1])))
        if draw(st.booleans()):
            kwargs["candidates"] = draw(maybe(st.sampled_from([None, 1, 2, 3, 100])))
        return (alpha, beta, domain), kwargs

    return draw_args


def check_pairs(result: Any, args: tuple, kwargs: dict) -> None:
    alpha, beta, domain = args
    pairs, found = result
    m, d = alpha.shape
    assert pairs.shape == (m, 2) and pairs.dtype == torch.long
    assert found.shape == (m,) and found.dtype == torch.bool
    sign = float(kwargs.get("sign", 1.0))
    for i in range(m):  # the brute-force answer, pair by pair
        best = -math.inf
        for p in range(d):
            for q in range(p + 1, d):
                a, b = float(alpha[i, p] + alpha[i, q]), float(beta[i, p] + beta[i, q])
                if domain[i, p] and domain[i, q] and sign * a > 0 and sign * b < 0:
                    best = max(best, abs(a) * abs(b))
        if bool(found[i]):
            p, q = int(pairs[i, 0]), int(pairs[i, 1])
            a, b = float(alpha[i, p] + alpha[i, q]), float(beta[i, p] + beta[i, q])
            assert p != q and bool(domain[i, p]) and bool(domain[i, q])
            assert sign * a > 0 and sign * b < 0
            if kwargs.get("candidates") is None:
                assert abs(a) * abs(b) >= best * (1 - 1e-6), "not the best pair"
        elif kwargs.get("candidates") is None:
            assert best == -math.inf, "a qualifying pair was missed"


def check_saliency(result: Any, args: tuple, kwargs: dict) -> None:
    alpha, beta = result
    x = args[1]
    assert alpha.shape == x.shape and beta.shape == x.shape
    assert not alpha.requires_grad and not beta.requires_grad


def _training_settings() -> st.SearchStrategy[Any]:
    return maybe(
        st.builds(
            _ADV.AdversarialTraining,
            method=st.sampled_from(["fgsm", "pgd", "fgsm_rs"]),
            eps=st.sampled_from([0.05, 0.3]),
            labels=st.sampled_from(["true", "predicted"]),
        )
    )


ADV_TRAINING_KW = {
    "method": maybe(st.sampled_from(["fgsm", "pgd", "fgsm_rs", "FGSM"])),
    "eps": maybe(st.sampled_from([0.0, 0.1, 1.0, 1e300])),
    "clean_weight": maybe(st.sampled_from([None, 0.0, 0.5, 1.0, 1.5])),
    "step_size": maybe(st.sampled_from([None, 0.01, 0.1, 1.0])),
    "steps": maybe(st.sampled_from([None, 1, 2])),
    "labels": maybe(st.sampled_from(["true", "predicted", "none"])),
}


def check_training(result: Any, args: tuple, kwargs: dict) -> None:
    s = result.resolved()
    assert isinstance(s, _ADV.AdversarialTraining) and hash(s) is not None
    assert s.clean_weight is not None and 0 <= s.clean_weight <= 1 and s.eps > 0
    assert isinstance(result.describe(), str)
    if s.method == "pgd":
        assert s.steps >= 1 and 0 < s.step_size <= s.eps


def _guard() -> st.SearchStrategy[Any]:
    return st.builds(
        _ADV.OverfitGuard,
        eps=st.sampled_from([0.05, 0.3]),
        pgd_steps=st.just(1),
        held_out=st.integers(1, 3),
        stop=st.booleans(),
        gap=st.sampled_from([None, 0.0001]),
    )


def _fit_args(settings: bool):
    """(model, x, y[, settings]) and fit's keywords, one epoch of tiny batches."""
    kw = {
        "epochs": maybe(st.integers(1, 2)),
        "batch_size": maybe(st.integers(1, 4)),
        "seed": maybe(st.integers(0, 2**64 - 1)),
        "progress": st.one_of(st.just(False), JUNK),
    }
    if settings:
        kw["guard"] = maybe(st.one_of(st.none(), _guard()))
    else:
        kw["temperature"] = maybe(st.sampled_from([1.0, 20.0, 0.5, float("inf")]))

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), kwargs = draw(_half_valid(True, **kw)())
        if not settings and "temperature" not in kwargs:
            kwargs["temperature"] = 10.0
        kwargs.setdefault("epochs", 1)
        kwargs.setdefault("progress", False)
        if settings:
            return (model, x, y, draw(_training_settings())), kwargs
        return (model, x, y), kwargs

    return draw_args


def check_adversarial_fit(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, _ADV.AdversarialHistory)
    epochs = kwargs.get("epochs", 1)
    if result.stopped_at is None:
        assert len(result.loss) == epochs
    assert all(math.isfinite(v) or math.isnan(v) for v in result.loss)
    assert all(0 <= a <= 1 for a in result.accuracy)
    guard = kwargs.get("guard")
    if guard is not None:
        assert result.guard and all(isinstance(r, _ADV.GuardRecord) for r in result.guard)
        for r in result.guard:
            assert 0 <= r.clean_accuracy <= 1 and 0 <= r.pgd_accuracy <= 1


def _perturbation_args():
    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), kwargs = draw(_attack_args(False, {})())
        kwargs.pop("targeted")
        settings = draw(_training_settings())
        return (model, x, y, settings), kwargs

    return draw_args


def check_perturbation(result: Any, args: tuple, kwargs: dict) -> None:
    model, x, y, settings = args
    check_attack(result, (model, x, y), {"eps": settings.eps})


def check_distill(result: Any, args: tuple, kwargs: dict) -> None:
    teacher, t_hist, s_hist = result
    assert isinstance(teacher, nn.Module) and not teacher.training and not args[0].training
    assert len(t_hist.loss) == len(s_hist.loss) == kwargs.get("epochs", 1)


def check_soft_labels(result: Any, args: tuple, kwargs: dict) -> None:
    x = args[1]
    assert isinstance(result, Tensor) and result.ndim == 2 and result.shape[0] == len(x)
    assert torch.isfinite(result).all() and bool((result >= 0).all())
    assert torch.allclose(result.double().sum(dim=1), torch.ones(len(x)).double(), atol=1e-3)


def check_scaled(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, _DIS.TemperatureScaled) and result.temperature >= 1
    model = args[0]
    x = torch.rand(2, 1, 4, 4)
    if not isinstance(model, Weird) and next(model.parameters()).dtype == torch.float32:
        with torch.no_grad():
            assert torch.allclose(result(x), model(x) / float(args[1]))


def check_margins(result: Any, args: tuple, kwargs: dict) -> None:
    model, x, y = args
    assert isinstance(result, Tensor) and result.shape == (len(x),) and not result.requires_grad
    z = _finite_logits(model, x)
    if z is not None:
        pred = z.argmax(dim=1)
        clear = result.float().abs() > 1e-3
        assert torch.equal((result > 0)[clear], (pred == y)[clear])


def _robust_args():
    def shrink(model: nn.Module, x: Tensor, y: Tensor, **kwargs: Any) -> Tensor:
        return x[:1]  # a broken attack: fewer images than it was given

    attacks = maybe(st.sampled_from(["fgsm", "random_noise", "nope", advlab.fgsm, shrink]))

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), kwargs = draw(_half_valid(True)())
        kwargs = {"eps": draw(maybe(st.sampled_from([0.0, 0.1, 1.0])))}
        if draw(st.integers(0, 4)) == 0:
            kwargs["targeted"] = draw(FLAG)
        return (model, draw(attacks), x, y), kwargs

    return draw_args


def _first_success_args():
    def noise(x: Tensor, y: Tensor, b: float) -> Tensor:
        return (x + b).clamp(0, 1)

    attacks = maybe(
        st.sampled_from(
            [noise, noise, lambda x, y, b: None, lambda x, y, b: x[:1], lambda x, y, b: x[..., :2]]
        )
    )
    budgets = st.one_of(
        st.lists(st.sampled_from([0.0, 0.1, 0.5, 1.0]), min_size=1, max_size=3),
        maybe(st.lists(st.sampled_from([0.0, 0.5, -1.0, math.inf]), max_size=3)),
    )

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), kwargs = draw(_half_valid(True)())
        kwargs = (
            {"norm": draw(maybe(st.sampled_from([2, "inf", "l2"])))} if draw(st.booleans()) else {}
        )
        return (model, draw(attacks), x, y, draw(budgets)), kwargs

    return draw_args


def check_first_success(result: Any, args: tuple, kwargs: dict) -> None:
    size, found = result
    x, budgets = args[2], [float(b) for b in args[4]]
    assert size.shape == found.shape == (len(x),)
    assert torch.equal(size.isnan(), found.isnan())
    done = ~found.isnan()
    grid = torch.tensor(budgets, dtype=found.dtype)  # the budgets, as returned (float32)
    assert all(bool((grid == b).any()) for b in found[done])
    assert bool((size[done] >= 0).all())


def _success_matrix_args():
    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), _ = draw(_half_valid(True)())
        n = x.shape[0] if isinstance(x, Tensor) and x.ndim else 1
        targets = draw(labels(n))
        kwargs = {}
        if draw(st.booleans()):
            kwargs["num_classes"] = draw(maybe(st.sampled_from([None, 3, 5, 0, 2.5, 10**12])))
        return (model, x, y, targets), kwargs

    return draw_args


def check_success_matrix(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, np.ndarray) and result.ndim == 2
    assert result.shape[0] == result.shape[1] >= 1
    values = result[~np.isnan(result)]
    assert ((values >= 0) & (values <= 1)).all()
    if kwargs.get("num_classes") is not None:
        assert result.shape[0] == kwargs["num_classes"]


def check_eval_indices(result: Any, args: tuple, kwargs: dict) -> None:
    n_test, size = int(args[0]), args[1]
    expect = n_test if size is None else min(int(size), n_test)
    assert isinstance(result, Tensor) and result.dtype == torch.long and len(result) == expect
    assert bool((result[1:] > result[:-1]).all()) and int(result.min()) >= 0
    assert int(result.max()) < n_test


def _best_pair_functions() -> st.SearchStrategy[Any]:
    def right(alpha: Tensor, beta: Tensor) -> Any:
        pq, found = _J.best_pairs(alpha[None], beta[None], torch.ones(1, len(alpha)).bool())
        return (int(pq[0, 0]), int(pq[0, 1])) if bool(found[0]) else None

    def top_alpha(alpha: Tensor, beta: Tensor) -> Any:
        return tuple(alpha.topk(2).indices.tolist())  # a typical mistake: a report, not a crash

    def raises(alpha: Tensor, beta: Tensor) -> Any:
        raise RuntimeError("reader's bug")

    readers = st.sampled_from(
        [right, right, top_alpha, raises, lambda a, b: (0, 0), lambda a, b: 7]
    )
    return maybe(readers)


def check_best_pair_report(result: Any, args: tuple, kwargs: dict) -> None:
    check_report(result, args, kwargs)
    if getattr(args[0], "__name__", "") == "right":
        assert result.passed, "the reference pair choice must pass"


CASES.update(
    {
        _J.jsma: Case(_jsma_args, check_jsma, budget=60),
        _J.JSMAResult: Case(_signature_args(_J.JSMAResult), budget=3),  # a plain record
        _J.best_pairs: Case(_pair_maps(), check_pairs, budget=60),
        _J.saliency_map: Case(
            lambda: _half_valid(True, jacobian=maybe(st.sampled_from(["probs", "logits"])))(),
            check_saliency,
            budget=40,
        ),
        advlab.book.exercises.check_best_pair: Case(
            _positional(_best_pair_functions(), fixed={"verbose": False}),
            check_best_pair_report,
            budget=20,
        ),
        _ADV.AdversarialTraining: Case(_kwargs_of(**ADV_TRAINING_KW), check_training, budget=60),
        _ADV.AdversarialHistory: Case(
            _signature_args(_ADV.AdversarialHistory), budget=3
        ),  # a plain record
        _ADV.GuardRecord: Case(_signature_args(_ADV.GuardRecord), budget=3),  # a plain record
        _ADV.CatastrophicOverfittingWarning: Case(
            _signature_args(_ADV.CatastrophicOverfittingWarning), budget=3
        ),
        _ADV.OverfitGuard: Case(
            _positional(
                maybe(st.sampled_from([0.0, 0.1, 1.0])),
                pgd_steps=SMALL_COUNT,
                drop=maybe(FLOATS),
                gap=maybe(st.one_of(st.none(), FLOATS)),
                stop=FLAG,
                held_out=SMALL_COUNT,
            ),
            lambda r, a, k: hash(r) is not None and not r.is_collapse(0.5, 0.5),  # frozen
            budget=40,
        ),
        _ADV.adversarial_config: Case(
            _positional(
                maybe(st.sampled_from([None, advlab.TrainConfig(epochs=1)])),
                guard=FLAG,
                guard_drop=maybe(FLOATS),
                guard_gap=maybe(st.one_of(st.none(), FLOATS)),
                guard_held_out=SMALL_COUNT,
                **ADV_TRAINING_KW,
            ),
            lambda r, a, k: (
                isinstance(r, advlab.TrainConfig)
                and r.recipe == "adversarial"
                and len(r.key()) == 16
                and _ADV.settings_from_extra(r.extra)[0].resolved() is not None
            ),
            budget=40,
        ),
        _ADV.adversarial_fit: Case(_fit_args(True), check_adversarial_fit, budget=30),
        _ADV.adversarial_perturbation: Case(_perturbation_args(), check_perturbation, budget=40),
        _ADV.fgsm_rs: Case(
            lambda: _attack_args(
                True,
                {"step_size": st.sampled_from([0.01, 0.125, 1.0, 0.0, 1e300])},
                {"step_size": 0.1},
            )().map(_drop_targeted),
            check_attack,
            budget=40,
        ),
        _DIS.TemperatureScaled: Case(
            _positional(
                maybe(MODELS.map(make_model)), maybe(st.sampled_from([1.0, 20.0, 0.5, 1e300]))
            ),
            check_scaled,
        ),
        _DIS.logits_at: Case(
            _positional(
                maybe(MODELS.map(make_model)), maybe(st.sampled_from([1.0, 20.0, 0.5, 1e300]))
            ),
            check_scaled,
        ),
        _DIS.soft_labels: Case(
            lambda: _half_valid(False)().map(lambda c: ((*c[0], 1.0 if c[1] else 20.0), c[1])),
            check_soft_labels,
            budget=40,
        ),
        _DIS.distill: Case(_fit_args(False), check_distill, budget=20),
        _DIS.distillation_config: Case(
            _positional(
                maybe(st.sampled_from([None, advlab.TrainConfig(epochs=1)])),
                temperature=Required(maybe(st.sampled_from([1.0, 20.0, 0.5, 1e300]))),
            ),
            lambda r, a, k: (
                isinstance(r, advlab.TrainConfig)
                and r.recipe == "distillation"
                and r.extra["temperature"] >= 1
            ),
        ),
        _ROB.margin_at: Case(lambda: _half_valid(True)(), check_margins, budget=40),
        _ROB.robust_accuracy: Case(_robust_args(), check_fraction, budget=40),
        _ROB.robust_mask: Case(
            _robust_args(),
            lambda r, a, k: (
                isinstance(r, torch.Tensor) and r.dtype == torch.bool and r.shape == a[3].shape
            ),
            budget=40,
        ),
        _ROB.first_success: Case(_first_success_args(), check_first_success, budget=40),
        _ROB.success_matrix: Case(_success_matrix_args(), check_success_matrix, budget=40),
        advlab.book.settings.eval_indices: Case(
            _positional(
                maybe(st.sampled_from([1, 5, 360, 10**12, 0, -3, np.int64(20)])),
                maybe(st.sampled_from([None, 1, 3, 500, 0, np.int64(4)])),
            ),
            check_eval_indices,
        ),
    }
)

# Figures and widgets (platform branch): arguments of the wrong type must give ValueError/TypeError.
for _name in advlab.viz.__all__:
    if not callable(getattr(advlab.viz, _name)):
        continue
    CASES[getattr(advlab.viz, _name)] = Case(
        _signature_args(getattr(advlab.viz, _name)), lambda r, a, k: None, budget=5
    )
for _name in advlab.book.widgets.__all__:
    if not callable(getattr(advlab.book.widgets, _name)):
        continue
    CASES[getattr(advlab.book.widgets, _name)] = Case(
        _signature_args(getattr(advlab.book.widgets, _name)), lambda r, a, k: None, budget=5
    )


# --- Part IV: differential evolution, the one-pixel attack and its metrics ----------------------

import advlab.de  # noqa: E402
import advlab.metrics.one_pixel  # noqa: E402
from advlab.attacks.one_pixel import OnePixelResult, apply_pixels, decode_candidates  # noqa: E402

OP_EXTRA = {
    "pixels": st.integers(1, 3),
    "popsize": st.integers(4, 6),
    "generations": st.integers(0, 2),
    "early_stop": st.sampled_from([True, False, "success"]),
    "levels": st.sampled_from([None, 2, 256]),
    "batch_size": maybe(st.integers(1, 50)),
    "seed": st.integers(0, 2**40),
}
OP_ONLY = {
    "F": st.sampled_from([0.1, 0.5, 2.0]),
    "CR": st.sampled_from([None, 0.0, 0.9, 1.0]),
    "strategy": st.sampled_from(["rand1", "best1", "random"]),
    "stop_probability": st.sampled_from([None, 0.0, 0.5, 1.0]),
}


def _one_pixel_args(extra: dict[str, st.SearchStrategy[Any]]):
    """Like the gradient attacks: half the calls valid throughout, with tiny DE budgets."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), kwargs = draw(_attack_args(False, extra)())
        kwargs.setdefault("popsize", 4)
        kwargs.setdefault("generations", 1)
        kwargs.pop("targeted")
        if draw(st.booleans()):
            kwargs["targeted"] = draw(maybe(FLAG))
        return (model, x, y), kwargs

    return draw_args


def check_one_pixel(result: Any, args: tuple, kwargs: dict) -> None:
    model, x, _ = args
    assert isinstance(result, OnePixelResult)
    n, k = x.shape[0], result.probs.shape[1]
    pixels = kwargs.get("pixels", 1)
    popsize, generations = kwargs["popsize"], kwargs["generations"]
    adv = result.x_adv
    assert adv.shape == x.shape and adv.dtype == x.dtype and not adv.requires_grad
    assert torch.isfinite(adv).all() and adv.min() >= 0 and adv.max() <= 1
    changed = (adv != x.detach()).any(dim=1).flatten(1).sum(dim=1)
    assert torch.equal(changed, result.pixels_changed) and int(changed.max()) <= pixels
    assert result.queries.dtype == torch.int64 and result.queries.shape == (n,)
    q = result.queries - 1
    assert bool((q % popsize == 0).all()) and bool((q >= popsize).all())
    assert int(result.queries.max()) <= 1 + popsize * (generations + 1)
    assert torch.equal(q // popsize - 1, result.generations)
    assert result.probs.shape == result.clean_probs.shape == (n, k)
    assert result.positions.shape == (n, pixels, 2) and result.values.shape[:2] == (n, pixels)
    pred = result.probs.argmax(dim=1)
    expected = pred == result.labels if result.targeted else pred != result.labels
    assert torch.equal(result.success, expected)
    with torch.no_grad():  # the returned images are exactly those that were scored
        p = torch.softmax(model.eval()(adv).float(), dim=1)
    assert torch.equal(p.argmax(dim=1), pred) or not torch.isfinite(p).all()


def _sphere(cand: Tensor, idx: Tensor) -> Tensor:
    return (cand**2).sum(-1)


def _sphere_aux(cand: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
    return (cand**2).sum(-1), cand.sum(-1, keepdim=True)


def _nan_fitness(cand: Tensor, idx: Tensor) -> Tensor:
    return torch.full(cand.shape[:2], float("nan"), dtype=cand.dtype)


def _fitness_functions() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([_sphere, _sphere, _sphere_aux, _nan_fitness]),
        st.sampled_from([lambda c, i: c, lambda c, i: None, lambda c, i: "x", print]),
        JUNK,
    )


BOUNDS = maybe(
    st.sampled_from([[-1.0, -2.0], [0.0, 0.0], [-1.0], [float("nan"), 0.0], [[0.0, 0.0]]])
)


@st.composite
def _de_args(draw: st.DrawFn) -> tuple[tuple, dict]:
    valid = draw(st.booleans())
    wrap = (lambda v: v) if valid else maybe
    fn = draw(
        st.sampled_from([_sphere, _sphere_aux, _nan_fitness]) if valid else _fitness_functions()
    )
    lower = [-1.0, -2.0] if valid else draw(BOUNDS)
    upper = [1.0, 3.0] if valid or draw(st.booleans()) else draw(BOUNDS)
    kw = {
        "problems": wrap(st.integers(1, 3)),
        "popsize": wrap(st.integers(4, 6)),
        "generations": wrap(st.integers(0, 3)),
        "F": wrap(st.sampled_from([0.1, 0.5, 2.0])),
        "CR": wrap(st.sampled_from([None, 0.0, 0.5, 1.0])),
        "strategy": wrap(st.sampled_from(list(advlab.de.STRATEGIES))),
        "bounds": wrap(st.sampled_from([*advlab.de.BOUNDS, "wrap"])),
        "stop_below": wrap(st.sampled_from([None, 0.5, -1.0])),
        "seed": wrap(st.integers(0, 2**40)),
        "record": wrap(st.booleans()),
    }
    kwargs = {k: draw(v) for k, v in kw.items() if draw(st.booleans())}
    kwargs.setdefault("popsize", 4)
    kwargs.setdefault("generations", 2)
    if not valid and draw(st.integers(0, 4)) == 0:
        kwargs["init"] = draw(st.one_of(JUNK, st.builds(lambda: torch.zeros(1, 4, 2))))
    return (fn, lower, upper), kwargs


def check_de(result: Any, args: tuple, kwargs: dict) -> None:
    fn, lower, upper = args
    lo, hi = torch.tensor(lower, dtype=torch.float64), torch.tensor(upper, dtype=torch.float64)
    assert isinstance(result, advlab.de.DEResult)
    p, popsize = result.x.shape[0], kwargs["popsize"]
    assert result.population.shape == (p, popsize, len(lo))
    for v in (result.x, result.population):
        assert bool(((v >= lo) & (v <= hi)).all()), "a solution left the box"
    assert torch.equal(result.evaluations, popsize * (result.generations + 1))
    assert int(result.generations.max()) <= kwargs["generations"]
    f = fn(result.x[:, None, :], torch.arange(p))
    f = (f[0] if isinstance(f, tuple) else f)[:, 0].double().nan_to_num(nan=math.inf)
    assert torch.equal(f, result.fun), "fun is not the fitness of x"
    assert bool((result.fun <= result.fitness.min(dim=1).values).all())
    if kwargs.get("record"):
        assert len(result.history) == kwargs["generations"] + 1


def check_report_passes_for(good: Callable[..., Any]) -> Callable[[Any, tuple, dict], None]:
    def check(result: Any, args: tuple, kwargs: dict) -> None:
        check_report(result, args, kwargs)
        if kwargs.get("fn") is good:
            assert result.passed, str(result)
        if kwargs.get("fn") in (None, print) or not callable(kwargs.get("fn")):
            assert not result.passed

    return check


def _good_de_generation(pop, fit, f, donors, F, lower, upper):
    trial = advlab.de.clip_to_bounds(
        advlab.de.mutate(pop[donors[:, 0]], pop[donors[:, 1]], pop[donors[:, 2]], F), lower, upper
    )
    return advlab.de.select(pop, fit, trial, f(trial))


def _same_shapes(count: int, *more: st.SearchStrategy[Any], mask: bool = False):
    """``count`` float tensors of one shape (sometimes one is broken), then ``more``; with
    ``mask``, a boolean mask of that shape follows."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        g = torch.Generator().manual_seed(draw(st.integers(0, 99)))
        shape = draw(st.sampled_from([(3,), (2, 4), (2, 3, 2)]))
        ts: list[Any] = [torch.rand(shape, generator=g, dtype=torch.float64) for _ in range(count)]
        if draw(st.integers(0, 2)) == 0:
            broken = draw(st.sampled_from([JUNK, tensors()]))
            ts[draw(st.integers(0, count - 1))] = draw(broken)
        if mask:
            ts.append(draw(maybe(st.just(torch.rand(shape, generator=g) < 0.5))))
        return (*ts, *(draw(m) for m in more)), {}

    return draw_args


@st.composite
def _pixels_args(draw: st.DrawFn) -> tuple[tuple, dict]:
    x = draw(tensors())
    valid = isinstance(x, Tensor) and x.ndim == 4 and draw(st.booleans())
    b, c, h, w = x.shape if isinstance(x, Tensor) and x.ndim == 4 else (2, 1, 4, 4)
    k = draw(st.integers(1, 3))
    g = torch.Generator().manual_seed(k)
    pos = torch.stack(
        [torch.randint(0, h, (b, k), generator=g), torch.randint(0, w, (b, k), generator=g)], -1
    )
    val = torch.rand(b, k, c, generator=g)
    if not valid:
        pos = draw(
            st.sampled_from([pos, pos.float(), pos + h, pos - h, pos[:1], pos[..., :1], None])
        )
        val = draw(st.sampled_from([val, val.double(), val[..., :0], val * 3, None, "v"]))
    return (x, pos, val), {}


def check_apply_pixels(result: Any, args: tuple, kwargs: dict) -> None:
    x, pos, val = args
    assert isinstance(result, Tensor) and result.shape == x.shape and result.dtype == x.dtype
    if x.shape[0] == 0:
        return
    same = (result == x) | (result.isnan() & x.isnan())
    assert int((~same).any(dim=1).flatten(1).sum(dim=1).max()) <= pos.shape[1]
    b = torch.arange(x.shape[0])
    last = result[b, :, pos[:, -1, 0], pos[:, -1, 1]]
    assert torch.equal(last, val[:, -1].to(x.dtype))  # the last pixel written wins


@st.composite
def _decode_args(draw: st.DrawFn) -> tuple[tuple, dict]:
    shape = draw(maybe(st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5))))
    pixels = draw(maybe(st.integers(1, 3)))
    levels = draw(maybe(st.sampled_from([None, 2, 256])))
    c = shape[0] if isinstance(shape, tuple) and len(shape) == 3 else 1
    p = pixels if isinstance(pixels, int) and 1 <= pixels <= 3 else 1
    g = torch.Generator().manual_seed(draw(st.integers(0, 99)))
    cand = (
        torch.rand(draw(st.integers(0, 3)), p * (2 + c), generator=g, dtype=torch.float64) * 6 - 1
    )
    if draw(st.integers(0, 4)) == 0:
        cand = draw(st.sampled_from([cand[..., :-1], cand.long(), cand * float("nan"), None]))
    return (cand, shape, pixels, levels), {}


def check_decode(result: Any, args: tuple, kwargs: dict) -> None:
    cand, (c, h, w), pixels, levels = args
    pos, val = result
    assert pos.shape == (*cand.shape[:-1], pixels, 2) and val.shape == (*cand.shape[:-1], pixels, c)
    assert bool((pos[..., 0] >= 0).all() and (pos[..., 0] < h).all())
    assert bool((pos[..., 1] >= 0).all() and (pos[..., 1] < w).all())
    assert bool(((val >= 0) & (val <= 1)).all())
    if levels is not None:
        grid = val * (levels - 1)
        assert torch.allclose(grid, grid.round(), atol=1e-9)


_RESULTS: dict[str, OnePixelResult] = {}


def _one_pixel_result(kind: str) -> OnePixelResult:
    """A few real results of tiny attacks, made once (targeted: every other class)."""
    if kind not in _RESULTS:
        model = tiny_linear()
        x = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(1))
        if kind == "targeted":
            orig = model(x).argmax(1)
            x, y, _ = advlab.metrics.one_pixel.all_targets(x, orig, 3)
            r = advlab.one_pixel(model, x, y, targeted=True, popsize=4, generations=2, seed=0)
        else:
            r = advlab.one_pixel(model, x, popsize=4, generations=2, seed=0, pixels=2)
        _RESULTS[kind] = r
    return _RESULTS[kind]


RESULTS = maybe(st.sampled_from(["targeted", "untargeted"]).map(_one_pixel_result))


def _metric_case(
    check: Callable[[Any, OnePixelResult], None], *more: st.SearchStrategy[Any]
) -> Case:
    return Case(_positional(RESULTS, *more), lambda r, a, k: check(r, a[0]), budget=10)


def _check_counts(r: Any, res: OnePixelResult, shape: tuple[int, ...], total: int | None) -> None:
    assert isinstance(r, Tensor) and r.dtype == torch.int64 and r.shape == shape
    assert bool((r >= 0).all()) and (total is None or int(r.sum()) == total)


def _image_ids() -> st.SearchStrategy[Any]:
    return maybe(
        st.sampled_from(
            [
                torch.arange(3).repeat_interleave(2),
                torch.zeros(6),
                torch.arange(5),
                -torch.ones(6).long(),
            ]
        )
    )


M = advlab.metrics.one_pixel
CASES.update(
    {
        advlab.one_pixel: Case(
            _one_pixel_args({**OP_EXTRA, **OP_ONLY}), check_one_pixel, budget=60
        ),
        advlab.attacks.random_pixels: Case(_one_pixel_args(OP_EXTRA), check_one_pixel, budget=30),
        OnePixelResult: Case(_signature_args(OnePixelResult), budget=3),  # a plain record
        apply_pixels: Case(_pixels_args, check_apply_pixels, budget=40),
        decode_candidates: Case(_decode_args, check_decode, budget=40),
        advlab.cmaes.cma_es: Case(
            _positional(
                st.sampled_from([lambda c, i: (c**2).sum(-1), lambda c, i: c.sum(-1)[:, :1], "f"]),
                st.sampled_from([[0.5, 0.5], [], [float("nan")], [1.0, 2.0, 3.0], "x"]),
                st.sampled_from([0.3, 0.0, -1.0, float("inf"), 2]),
                generations=st.integers(0, 3),
                popsize=st.sampled_from([None, 1, 2, 6]),
                problems=st.integers(0, 3),
                stop_below=st.sampled_from([None, 0.1, "low"]),
                seed=st.sampled_from([0, 2**40, torch.tensor([1, 2]), torch.tensor([0.5]), "s"]),
                lower=st.sampled_from([None, [0.0, 0.0], [1.0, 1.0], [0.0]]),
                upper=st.sampled_from([None, [1.0, 1.0], [0.0, 0.0]]),
            ),
            lambda r, a, k: (
                isinstance(r, advlab.cmaes.CMAESResult)
                and bool(torch.isfinite(r.sigma).all())
                and torch.equal(
                    r.evaluations,
                    r.generations
                    * advlab.cmaes.strategy_parameters(len(a[1]), k.get("popsize")).popsize,
                )
            ),
            budget=40,
        ),
        advlab.cmaes.strategy_parameters: Case(
            _positional(st.integers(-1, 30), maybe(st.sampled_from([None, 1, 2, 7, 50]))),
            lambda r, a, k: abs(sum(r.weights) - 1) < 1e-9 and 0 < r.cs < 1 and r.mu >= 1,
        ),
        advlab.cmaes.CMAESResult: Case(_signature_args(advlab.cmaes.CMAESResult), budget=3),
        advlab.cmaes.StrategyParameters: Case(
            _signature_args(advlab.cmaes.StrategyParameters), budget=3
        ),
        advlab.de.differential_evolution: Case(_de_args, check_de, budget=60),
        advlab.de.DEResult: Case(_signature_args(advlab.de.DEResult), budget=3),  # a plain record
        advlab.de.mutate: Case(
            _same_shapes(3, maybe(st.sampled_from([0.5, 2.0, np.float32(0.5), 3.0]))),
            lambda r, a, k: torch.allclose(r, a[0] + a[3] * (a[1] - a[2]), equal_nan=True),
        ),
        advlab.de.clip_to_bounds: Case(
            _positional(
                maybe(tensors()),
                maybe(
                    st.sampled_from(
                        [torch.zeros(4), torch.ones(4), torch.zeros(3), torch.zeros(4).long()]
                    )
                ),
                maybe(st.sampled_from([torch.ones(4), torch.zeros(4) - 1, torch.ones(2, 4)])),
            ),
            lambda r, a, k: bool(((r >= a[1]) & (r <= a[2])).all() or r.isnan().any()),
        ),
        advlab.de.binomial_crossover: Case(
            _same_shapes(2, mask=True),
            lambda r, a, k: torch.equal(r, torch.where(a[2], a[1], a[0])),
        ),
        advlab.de.select: Case(
            _positional(
                maybe(st.builds(lambda: torch.rand(2, 3, 4))),
                maybe(st.sampled_from([torch.rand(2, 3), torch.rand(3), torch.rand(2, 3).long()])),
                maybe(st.sampled_from([torch.rand(2, 3, 4), torch.rand(2, 3, 5)])),
                maybe(st.sampled_from([torch.rand(2, 3), torch.full((2, 3), float("nan"))])),
            ),
            lambda r, a, k: bool(
                (r[1] == torch.where(a[3] < a[1], a[3], a[1])).all() and r[0].shape == a[0].shape
            ),
        ),
        advlab.de.counter_uniform: Case(
            _positional(
                maybe(st.sampled_from([torch.arange(3), torch.tensor([-(2**63), 2**63 - 1])])),
                maybe(st.integers(0, 2**20)),
                maybe(st.integers(0, 63)),
                maybe(st.tuples(st.integers(0, 3), st.integers(1, 3))),
            ),
            lambda r, a, k: (
                r.dtype == torch.float64
                and r.shape == (len(a[0]), *a[3])
                and bool(((r >= 0) & (r < 1)).all())
            ),
        ),
        advlab.de.problem_seeds: Case(
            _positional(
                maybe(st.integers(1, 4)),
                seed=maybe(st.integers(0, 2**64 - 1)),
                generator=maybe(st.builds(lambda: torch.Generator().manual_seed(0))),
                device=DEVICES,
            ),
            lambda r, a, k: r.dtype == torch.int64 and r.shape == (a[0],),
        ),
        advlab.book.exercises.check_de_generation: Case(
            _kwargs_of(
                fn=Required(
                    st.integers(0, 1).flatmap(
                        lambda k: st.just(_good_de_generation) if k else _reader_functions()
                    )
                ),
                trials=maybe(st.integers(1, 2)),
                seed=maybe(st.integers(0, 2**64 - 1)),
                verbose=st.just(False),
            ),
            check_report_passes_for(_good_de_generation),
            budget=10,
        ),
        advlab.book.exercises.check_set_pixels: Case(
            _kwargs_of(
                fn=Required(
                    st.integers(0, 1).flatmap(
                        lambda k: st.just(apply_pixels) if k else _reader_functions()
                    )
                ),
                trials=maybe(st.integers(1, 2)),
                seed=maybe(st.integers(0, 2**64 - 1)),
                verbose=st.just(False),
            ),
            check_report_passes_for(apply_pixels),
            budget=10,
        ),
        advlab.data.color_digits: Case(
            _positional(
                maybe(tensors(batch=2)),
                st.sampled_from(
                    [torch.tensor([0, 1796]), torch.tensor([3, 3]), torch.tensor([-1, 5])]
                ).flatmap(lambda v: maybe(st.just(v))),
                maybe(st.sampled_from([8, 9, 16, 7, 10**6])),
                seed=maybe(st.integers(0, 2**64 - 1)),
            ),
            lambda r, a, k: r.shape == (2, 3, a[2], a[2]) and bool(((r >= 0) & (r <= 1)).all()),
        ),
        M.success_rate: _metric_case(lambda r, res: check_fraction(r, (), {})),
        M.adversarial_probability_label: _metric_case(
            lambda r, res: isinstance(r, float) and (math.isnan(r) or 0 <= r <= 1)
        ),
        M.class_pair_counts: _metric_case(
            lambda r, res: _check_counts(r, res, (3, 3), int(res.success.sum()))
        ),
        M.class_pair_success: _metric_case(
            lambda r, res: r.shape == (3, 3) and bool(((r >= 0) & (r <= 1) | r.isnan()).all())
        ),
        M.adversarial_class_counts: _metric_case(
            lambda r, res: _check_counts(r, res, (3,), int(res.success.sum()))
        ),
        M.one_pixel_summary: _metric_case(
            lambda r, res: 0 <= r["success_rate"] <= 1 and r["cases"] == len(res)
        ),
        M.target_class_counts: _metric_case(
            lambda r, res: _check_counts(r, res, (3,), 3), _image_ids()
        ),
        M.all_targets: Case(
            _positional(
                maybe(tensors(batch=3, valid=True)),
                st.sampled_from(
                    [torch.tensor([0, 1, 2]), torch.tensor([2, 2, 0]), torch.tensor([0, 5, 1])]
                ).flatmap(lambda v: maybe(st.just(v))),
                maybe(st.sampled_from([3, 4, 2])),
            ),
            lambda r, a, k: (
                len(r[0]) == len(r[1]) == len(r[2]) == 3 * (a[2] - 1)
                and bool((r[1] != a[1][r[2]]).all())
            ),
        ),
    }
)
for _model in (advlab.models.AllConv, advlab.models.NiN, advlab.models.VGG16):
    CASES[_model] = Case(
        _positional(
            maybe(st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))),
            maybe(st.integers(2, 5)),
            width=maybe(st.integers(1, 4)),
            mean=maybe(st.lists(FLOATS, min_size=1, max_size=3)),
        ),
        check_module,
        budget=10,
    )


# Figures of Part IV and the two former known gaps: valid arguments half the time, so the
# figure is really drawn (and checked); otherwise any argument may be junk.
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CLASSES3 = ("a", "b", "c")


def _figure_args(*good: Callable[[], Any], **kw_good: Callable[[], Any]):
    """Each argument is made by its factory (valid), or, in half of the calls, maybe junk."""

    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        valid = draw(st.booleans())
        wrap = (lambda v: st.just(v)) if valid else (lambda v: maybe(st.just(v)))
        args = tuple(draw(wrap(f())) for f in good)
        kwargs = {k: draw(wrap(f())) for k, f in kw_good.items() if draw(st.booleans())}
        return args, kwargs

    return draw_args


def check_figure(result: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(result, Figure) and len(result.axes) >= 1


def _axes() -> Axes:
    return plt.subplots()[1]


_mat = lambda: torch.tensor([[0.0, 2, 1], [1, 0, 0], [0, 5, 0]])  # noqa: E731
CASES.update(
    {
        advlab.viz.show_image: Case(
            _figure_args(_axes, lambda: torch.rand(1, 4, 4), lambda: "title"),
            lambda r, a, k: r is None and len(a[0].images) == 1,
            budget=10,
        ),
        advlab.viz.targeted_success_figure: Case(
            _figure_args(lambda: {"fgsm": _mat() / 5, "pgd": np.eye(3)}, lambda: CLASSES3),
            check_figure,
            budget=10,
        ),
        advlab.viz.class_pair_heatmap: Case(
            _figure_args(_mat, lambda: CLASSES3, vmax=lambda: 3.0, annotate=lambda: False),
            lambda r, a, k: isinstance(r, Axes),
            budget=10,
        ),
        advlab.viz.class_pair_figure: Case(
            _figure_args(lambda: {"a": _mat(), "b": np.full((3, 3), np.nan)}, lambda: CLASSES3),
            check_figure,
            budget=10,
        ),
        advlab.viz.adversarial_class_figure: Case(
            _figure_args(lambda: {"a": torch.tensor([1, 0, 2]), "b": [0, 0, 0]}, lambda: CLASSES3),
            check_figure,
            budget=10,
        ),
        advlab.viz.target_class_count_figure: Case(
            _figure_args(lambda: {"a": torch.tensor([1, 0, 2])}, title=lambda: "t"),
            check_figure,
            budget=10,
        ),
        advlab.viz.one_pixel_figure: Case(
            _figure_args(
                lambda: torch.rand(3, 4, 4),
                lambda: torch.rand(3, 4, 4),
                lambda: torch.tensor([0.2, 0.3, 0.5]),
                lambda: [0.6, 0.3, 0.1],
                lambda: CLASSES3,
                positions=lambda: torch.tensor([[0, 3], [2, 1]]),
            ),
            check_figure,
            budget=10,
        ),
        advlab.viz.de_population_figure: Case(
            _figure_args(
                lambda: lambda a, b: a**2 + b**2,
                lambda: torch.rand(6, 2),
                lambda: [-1.0, -1.0],
                lambda: (1.0, 2.0),
                best=lambda: [0.0, 0.5],
            ),
            check_figure,
            budget=10,
        ),
    }
)

# Evidence (advlab.stats): rates with Wilson intervals, exact paired tests, bootstrap intervals.
import advlab.stats  # noqa: E402

_S = advlab.stats
_FLAGS = st.lists(st.booleans(), min_size=1, max_size=12)
MASKS = maybe(
    st.one_of(
        _FLAGS,
        _FLAGS.map(torch.tensor),
        _FLAGS.map(lambda v: np.array(v, dtype=np.int8)),
        _FLAGS.map(lambda v: type("Result", (), {"success": torch.tensor(v)})()),
    )
)
SAMPLES = maybe(
    st.one_of(
        st.lists(FLOATS, min_size=2, max_size=8),
        st.lists(st.floats(-10, 10), min_size=2, max_size=8).map(np.array),
        st.lists(st.integers(-3, 3), min_size=2, max_size=8).map(torch.tensor),
    )
)
LEVELS = maybe(st.sampled_from([0.5, 0.9, 0.95, 0.999]))
_BOOT = {
    "confidence": LEVELS,
    "n_resamples": maybe(st.sampled_from([100, 250])),
    "seed": maybe(st.integers(0, 2**64 - 1)),
    "method": maybe(st.sampled_from(["BCa", "percentile", "basic"])),
}


def check_rate(r: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(r, _S.Rate) and 0.0 <= r.low <= r.value <= r.high <= 1.0


def check_interval(r: Any, args: tuple, kwargs: dict) -> None:
    assert isinstance(r, _S.Interval) and math.isfinite(r.low) and r.low <= r.high
    assert math.isfinite(r.estimate) and math.isfinite(r.high)


CASES.update(
    {
        _S.rate: Case(
            _positional(maybe(st.integers(0, 60)), maybe(st.integers(0, 60)), confidence=LEVELS),
            check_rate,
        ),
        _S.rate_of: Case(_positional(MASKS, confidence=LEVELS), check_rate),
        _S.paired_test: Case(
            _positional(
                MASKS,
                MASKS,
                alternative=maybe(st.sampled_from(["two-sided", "greater", "less"])),
                confidence=LEVELS,
            ),
            lambda r, a, k: isinstance(r, _S.PairedTest) and 0.0 <= r.p_value <= 1.0,
        ),
        _S.compare: Case(
            _positional(
                maybe(st.just("A")),
                MASKS,
                maybe(st.just("B")),
                MASKS,
                alpha=maybe(st.sampled_from([0.01, 0.05])),
                verb=maybe(st.just("beats")),
            ),
            lambda r, a, k: (
                isinstance(r, _S.Comparison) and (r.winner is not None) == r.significant
            ),
        ),
        _S.format_p: Case(
            _positional(maybe(st.floats(0, 1)), alpha=maybe(st.sampled_from([0.05, 1e-4]))),
            lambda r, a, k: isinstance(r, str) and r.startswith("p "),
        ),
        _S.bootstrap_ci: Case(
            _positional(SAMPLES, maybe(st.sampled_from([np.median, np.mean])), **_BOOT),
            check_interval,
            budget=10,
        ),
        _S.bootstrap_median_diff: Case(
            _positional(SAMPLES, SAMPLES, paired=FLAG, **_BOOT), check_interval, budget=10
        ),
        _S.bootstrap_indices: Case(
            _positional(
                maybe(st.just(lambda i: np.sin(i).mean(-1))),
                maybe(st.sampled_from([2, 30, 0, -1, True])),
                **_BOOT,
            ),
            check_interval,
            budget=10,
        ),
        # plain records
        **{
            rec: Case(_signature_args(rec), budget=3)
            for rec in (_S.Rate, _S.PairedTest, _S.Interval, _S.Comparison)
        },
    }
)

#: Known gaps: callables whose junk arguments still reach an error from inside a library
#: (none today). Strict xfail: the day one is fixed, the XPASS fails and its entry must go.
KNOWN_GAPS: set[Callable[..., Any]] = set()


# The book layer's chapter_setup (booklayer branch) and the linearity metrics of chapters 1-2.
import advlab.book.chapter  # noqa: E402
import advlab.metrics.linearity  # noqa: E402

_LIN = advlab.metrics.linearity


def check_margin_gradient(result: Any, args: tuple, kwargs: dict) -> None:
    _, x, _ = args
    m, g = result
    assert m.shape == (len(x),) and g.shape == x.shape
    assert not m.requires_grad and not g.requires_grad
    check_margins(m, args, kwargs)


def check_class_margins(result: Any, args: tuple, kwargs: dict) -> None:
    _, x, y = args
    m, g = result
    assert m.ndim == 2 and m.shape[0] == len(x) and g.shape == (len(x), m.shape[1], *x.shape[1:])
    assert (m[torch.arange(len(x)), y] == 0).all()


def _drops_args():
    @st.composite
    def draw_args(draw: st.DrawFn) -> tuple[tuple, dict]:
        (model, x, y), _ = draw(_half_valid(True)())
        eps = draw(st.sampled_from([[0.0, 0.1], [0.05], [], [-1.0], [float("nan")], "0.1", None]))
        ok = isinstance(x, Tensor)
        signs = torch.ones_like(x) if ok and draw(st.booleans()) else draw(maybe(st.just(None)))
        return (model, x, y, eps), {"signs": signs, "steps": draw(st.sampled_from([1, 2]))}

    return draw_args


def check_drops(result: Any, args: tuple, kwargs: dict) -> None:
    _, x, _, eps = args
    assert tuple(result) == _LIN.DROPS
    assert all(len(v) == len(eps) and all(a.shape == (len(x),) for a in v) for v in result.values())


CASES.update(
    {
        _LIN.margin_gradient: Case(lambda: _half_valid(True)(), check_margin_gradient, budget=30),
        _LIN.linear_flip_budget: Case(
            lambda: _half_valid(True)(),
            lambda r, a, k: isinstance(r, Tensor) and r.shape == (len(a[1]),),
            budget=30,
        ),
        _LIN.class_margins: Case(lambda: _half_valid(True)(), check_class_margins, budget=30),
        _LIN.margin_drops: Case(_drops_args(), check_drops, budget=20),
        advlab.book.chapter.ChapterSetup: Case(
            _signature_args(advlab.book.chapter.ChapterSetup), budget=3
        ),  # a record
        advlab.book.chapter.chapter_setup: Case(
            lambda: _kwargs_of(
                eval_set=maybe(st.sampled_from(["subset", "first", None, "all"])),
                n_first=maybe(st.sampled_from([1, 100, 0, -1, 2.5])),
                threads=maybe(st.sampled_from([1, None, "small-images", 0, "many"])),
                note=maybe(st.sampled_from(["", "ε = 0.1"])),
                dataset=maybe(st.sampled_from([None, "digits", "nope"])),
                progress=FLAG,
            )().map(lambda c: (c[0], {**c[1], "data": False, "model": False, "verbose": False})),
            lambda r, a, k: isinstance(r, advlab.book.ChapterSetup) and r.data is None,
            budget=10,
        ),
    }
)


# --- the tests ------------------------------------------------------------------------------


def public_callables() -> dict[str, Callable[..., Any]]:
    """Every callable defined in advlab and listed in the ``__all__`` of advlab or a public
    submodule (names starting with ``_`` are private and skipped)."""
    modules = [advlab]
    for info in pkgutil.walk_packages(advlab.__path__, "advlab."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            modules.append(importlib.import_module(info.name))
    found: dict[str, Callable[..., Any]] = {}
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if not getattr(obj, "__module__", "").startswith("advlab"):
                continue  # typing aliases such as zoo.Recipe
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_only_advlabs_own_errors_count_as_handled() -> None:
    """Issue 18 item 13: a renamed keyword must fail the suite, not pass as a "clear TypeError"."""
    model, x = tiny_linear(), torch.rand(2, 1, 4, 4)
    y = torch.tensor([0, 1])
    with pytest.raises(TypeError) as python_own:
        advlab.fgsm(model, x, y, epsilon=0.1)  # type: ignore[call-arg]
    assert not isinstance(python_own.value, ACCEPTED)
    with pytest.raises(advlab.ArgumentTypeError) as ours:
        advlab.fgsm(model, x, y, eps="0.1")  # type: ignore[arg-type]
    assert isinstance(ours.value, ACCEPTED) and isinstance(ours.value, TypeError)
    with pytest.raises(advlab.ArgumentError) as bad_value:
        advlab.fgsm(model, x, y, eps=-1.0)
    assert isinstance(bad_value.value, ValueError)


def test_every_public_callable_is_in_the_table() -> None:
    missing = sorted(name for name, obj in public_callables().items() if obj not in CASES)
    assert not missing, f"add these to CASES in {__file__}: {missing}"


@contextlib.contextmanager
def _quiet_environment() -> Any:
    """No GPU surprises, a private cache, and no progress bars or figures left open."""
    saved = {k: os.environ.get(k) for k in ("ADVLAB_CACHE", "ADVLAB_DEVICE")}
    os.environ["ADVLAB_CACHE"] = str(SCRATCH / "cache")
    os.environ.pop("ADVLAB_DEVICE", None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        import matplotlib.pyplot as plt

        plt.close("all")


def _name(obj: Callable[..., Any]) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


RUNS = {"examples": 0, "results": 0, "errors": 0}


def _bind(fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """Bind a call to ``fn``'s signature (``TypeError`` if it does not fit; built-ins: skipped)."""
    try:
        signature = inspect.signature(fn)
    except ValueError:
        return
    signature.bind(*args, **kwargs)


def fuzz(fn: Callable[..., Any], factor: int) -> None:
    """Run ``fn`` on ``factor * budget`` generated calls; only documented outcomes pass."""
    case = CASES[fn]

    @settings(
        max_examples=case.budget * factor,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case.args())
    def run(call: tuple[tuple, dict]) -> None:
        args, kwargs = call
        try:
            _bind(fn, args, kwargs)
        except TypeError as err:  # the strategy's mistake: Python, not advlab, would refuse it
            raise AssertionError(
                f"CASES[{_name(fn)}] generated a call that does not match its signature "
                f"({err}); give every required argument (Required(...) or _signature_args)"
            ) from None
        RUNS["examples"] += 1
        with _quiet_environment():
            try:
                result = fn(*args, **kwargs)
            except ACCEPTED + case.extra as err:
                RUNS["errors"] += 1
                message = str(err)
                if isinstance(err, SystemExit):
                    assert err.code == 2
                    return
                assert message and "Traceback" not in message
                return
            RUNS["results"] += 1
            # a check asserts, or returns False when the documented result does not hold
            assert case.check(result, args, kwargs) is not False, f"wrong result: {result!r}"

    run()


def _params() -> list[Any]:
    gap = pytest.mark.xfail(
        strict=True, reason="viz argument checks are the platform branch's (issue 8)"
    )
    return [pytest.param(f, id=_name(f), marks=[gap] if f in KNOWN_GAPS else []) for f in CASES]


@pytest.mark.parametrize("fn", _params())
def test_documented_result_or_clear_error(fn: Callable[..., Any]) -> None:
    fuzz(fn, 1)


@pytest.mark.slow
@pytest.mark.parametrize("fn", _params())
def test_documented_result_or_clear_error_10x(fn: Callable[..., Any]) -> None:
    fuzz(fn, 10)


def test_zz_report_the_number_of_cases(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many generated cases the suite ran (read it with ``-s`` or in the summary)."""
    with capsys.disabled():
        print(
            f"\nhypothesis: {RUNS['examples']} generated cases over {len(CASES)} callables "
            f"({RUNS['results']} documented results checked, {RUNS['errors']} clear errors)"
        )
    assert RUNS["examples"] == 0 or RUNS["examples"] >= len(CASES)


@pytest.mark.slow
def test_zz_report_the_number_of_cases_slow(capsys: pytest.CaptureFixture[str]) -> None:
    """The same report for ``-m slow``."""
    test_zz_report_the_number_of_cases(capsys)
