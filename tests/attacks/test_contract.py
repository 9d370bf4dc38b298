"""Gradient attacks: one property battery for all of them, known answers, real effects, bad input.

The battery runs every attack in :data:`ATTACKS` on tiny models built here (a
conv net with Normalize, BatchNorm and Dropout, so a model left in train mode
would change its answers; and a linear model) and on the digits model of
``conftest.py``. Known answers use a linear model, where the optimum of the
L∞ and L2 problems and the smallest L2 adversarial are closed-form.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from conftest import tiny_conv
from torch import Tensor, nn

from advlab import bim, cw_l2, fgsm, pgd
from advlab.attacks._common import ball_tolerance

from ._models import binary_linear, images, prediction, tiny_linear

# --- tiny models and data ------------------------------------------------------------------------


MODELS: dict[str, Callable[[], nn.Module]] = {"conv": tiny_conv, "linear": tiny_linear}


def other_class(pred: Tensor, num_classes: int, seed: int = 0) -> Tensor:
    """A random target different from each prediction."""
    g = torch.Generator().manual_seed(seed)
    shift = torch.randint(1, num_classes, pred.shape, generator=g)
    return (pred + shift) % num_classes


# --- the attacks under test ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One attack of the battery, called as ``attack(model, x, y, **overrides)``."""

    name: str
    fn: Callable[..., Tensor]
    defaults: dict[str, object]  # keyword arguments of the battery's standard call
    norm: str | None  # the ball the result must lie in; None: no eps (CW)
    eps: float = math.inf  # a typical radius in that norm for 8x8 images
    randomised: bool = False  # has a random start (batch consistency then needs it off)

    def __call__(
        self, model: nn.Module, x: Tensor, y: Tensor | None = None, **kw: object
    ) -> Tensor:
        eps = {} if self.norm is None else {"eps": self.eps}
        return self.fn(model, x, y, **{**eps, **self.defaults, **kw})


ATTACKS = [
    Attack("fgsm", fgsm, {}, "inf", 0.1),
    Attack("bim", bim, {"steps": 5}, "inf", 0.1),
    Attack("pgd-linf", pgd, {"steps": 5, "seed": 0}, "inf", 0.1, randomised=True),
    Attack("pgd-l2", pgd, {"steps": 5, "norm": 2, "seed": 0}, "2", 0.5, randomised=True),
    Attack(
        "pgd-restarts", pgd, {"steps": 3, "restarts": 3, "seed": 0}, "inf", 0.1, randomised=True
    ),
    Attack("cw-l2", cw_l2, {"steps": 10, "binary_search_steps": 3}, None),
]
EPS_ATTACKS = [a for a in ATTACKS if a.norm is not None]
ids = [a.name for a in ATTACKS]
eps_ids = [a.name for a in EPS_ATTACKS]


def assert_in_ball(x_adv: Tensor, x: Tensor, attack: Attack, eps: float | None = None) -> None:
    eps = attack.eps if eps is None else eps
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).flatten(1).double()
    tol = ball_tolerance(x.dtype)  # rounding slack of x + delta in x's dtype, per pixel
    if attack.norm == "inf":
        assert delta.abs().amax(dim=1).max() <= eps + tol
    elif attack.norm == "2":
        assert delta.norm(dim=1).max() <= eps + tol * delta.shape[1] ** 0.5


# --- property battery ----------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
@pytest.mark.parametrize("targeted", [False, True], ids=["untargeted", "targeted"])
def test_stays_in_ball_and_box_and_is_pure(attack: Attack, model_name: str, targeted: bool) -> None:
    model = MODELS[model_name]()
    model.train()
    model[-1].bias.requires_grad_(False)  # one frozen parameter must stay frozen
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    buffers = [b.clone() for b in model.buffers()]  # BatchNorm statistics move in train mode
    x = images()
    x_before = x.clone()
    pred = prediction(model, x)  # in eval mode; the model stays in train mode
    y = other_class(pred, 3) if targeted else pred
    y_before = y.clone()

    x_adv = attack(model, x, y, targeted=targeted)

    assert torch.equal(x, x_before) and torch.equal(y, y_before), "inputs were modified"
    assert [m.training for m in model.modules()] == modes, "train/eval modes not restored"
    assert [p.requires_grad for p in model.parameters()] == flags, "requires_grad not restored"
    assert all(p.grad is None for p in model.parameters()), "parameter gradients were computed"
    assert all(map(torch.equal, model.buffers(), buffers)), "the attack ran in train mode"
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and x_adv.device == x.device
    assert not x_adv.requires_grad and x_adv.grad_fn is None
    assert x_adv.data_ptr() != x.data_ptr()
    assert_in_ball(x_adv, x, attack)
    assert not torch.equal(x_adv, x), "the attack did nothing"


@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_on_digits_model_stays_in_ball(attack: Attack, digits, digits_model) -> None:
    x, y = digits.x_test[:32], digits.y_test[:32]
    x_adv = attack(digits_model, x, y)
    assert_in_ball(x_adv, x, attack)
    assert not digits_model.training


@pytest.mark.parametrize("attack", EPS_ATTACKS, ids=eps_ids)
@pytest.mark.parametrize("model_name", list(MODELS))
def test_eps_zero_returns_x_exactly(attack: Attack, model_name: str) -> None:
    x = images()
    kwargs = {"alpha": 0.0} if attack.name != "fgsm" else {}
    assert torch.equal(attack(MODELS[model_name](), x, eps=0.0, **kwargs), x)
    assert torch.equal(attack(MODELS[model_name](), x, eps=0.0), x)  # default alpha


@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_deterministic(attack: Attack) -> None:
    model, x = tiny_conv(), images()
    assert torch.equal(attack(model, x), attack(model, x))


@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
@pytest.mark.parametrize("model_name", ["conv", "digits"])
def test_batch_equals_its_halves(attack: Attack, model_name: str, digits, digits_model) -> None:
    """Attacking 2k images at once equals attacking each half (no random start)."""
    if model_name == "digits":
        model, x, y = digits_model, digits.x_test[:16], digits.y_test[:16]
    else:
        model, x = tiny_conv(), images(16)
        y = prediction(model, x)
    kw = {"random_start": False, "restarts": 1} if attack.randomised else {}
    whole = attack(model, x, y, **kw)
    halves = torch.cat([attack(model, x[:8], y[:8], **kw), attack(model, x[8:], y[8:], **kw)])
    # Convolutions may sum in another order for another batch size; a sign step
    # then flips only where a gradient is ~0. Measured: identical on the CPU.
    differ = (whole - halves).abs() > 1e-5
    assert differ.float().mean() <= 1e-3


@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_float64_model_and_images(attack: Attack) -> None:
    model, x = tiny_conv().double(), images().double()
    x_adv = attack(model, x)
    assert x_adv.dtype == torch.float64
    assert_in_ball(x_adv, x, attack)


@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_works_under_no_grad(attack: Attack) -> None:
    model, x = tiny_conv(), images()
    expected = attack(model, x)
    with torch.no_grad():
        assert torch.equal(attack(model, x), expected)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_cuda_matches_cpu(attack: Attack, digits, digits_model) -> None:
    import copy

    x, y = digits.x_test[:64], digits.y_test[:64]
    on_cpu = attack(digits_model, x, y)
    gpu_model = copy.deepcopy(digits_model).cuda()
    on_gpu = attack(gpu_model, x.cuda(), y.cuda())
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == x.dtype
    assert_in_ball(on_gpu.cpu(), x, attack)
    # Different kernels round differently; sign steps flip only where a gradient is ~0.
    differ = (on_gpu.cpu() - on_cpu).abs() > 1e-4
    assert differ.float().mean() <= 1e-2


# --- known answers on a linear model -------------------------------------------------------------


@pytest.mark.parametrize("loss", ["ce", "margin"])
@pytest.mark.parametrize("targeted", [False, True], ids=["untargeted", "targeted"])
def test_linf_optimum_on_linear_model(loss: str, targeted: bool) -> None:
    model, x, y, u = binary_linear()
    labels = 1 - y if targeted else y  # targeting the other class is the same problem
    eps = 0.02
    best = x + eps * u.sign()
    kw = {"loss": loss, "targeted": targeted}
    torch.testing.assert_close(fgsm(model, x, labels, eps=eps, **kw), best, atol=1e-6, rtol=0)
    torch.testing.assert_close(bim(model, x, labels, eps=eps, **kw), best, atol=1e-6, rtol=0)
    for seed in range(3):  # from any random start: steps * alpha = 2.5 eps crosses the box
        x_adv = pgd(model, x, labels, eps=eps, seed=seed, **kw)
        torch.testing.assert_close(x_adv, best, atol=1e-6, rtol=0)


@pytest.mark.parametrize("loss", ["ce", "margin"])
def test_l2_optimum_on_linear_model(loss: str) -> None:
    model, x, y, u = binary_linear()
    eps = 0.3
    best = x + eps * u / u.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    x_adv = pgd(model, x, y, eps=eps, norm=2, random_start=False, loss=loss)
    torch.testing.assert_close(x_adv, best, atol=1e-6, rtol=0)
    # from a random start the tangential part shrinks geometrically with each projection
    x_adv = pgd(model, x, y, eps=eps, alpha=eps, steps=50, norm=2, seed=0, loss=loss)
    torch.testing.assert_close(x_adv, best, atol=1e-4, rtol=0)


# --- real effects on the digits model ------------------------------------------------------------


def test_targeted_attacks_hit_their_targets(digits, digits_model) -> None:
    x = digits.x_test[:120]
    target = other_class(prediction(digits_model, x), 10)
    x_adv = {
        "fgsm": fgsm(digits_model, x, target, eps=0.2, targeted=True),
        "pgd": pgd(digits_model, x, target, eps=0.2, steps=10, seed=0, targeted=True),
        "cw": cw_l2(digits_model, x[:40], target[:40], targeted=True),
    }
    hit = {
        name: float((prediction(digits_model, xa) == target[: len(xa)]).float().mean())
        for name, xa in x_adv.items()
    }
    # measured: FGSM 0.48, PGD 0.67, CW 1.0; chance is 1/10
    assert hit["fgsm"] > 0.25, hit
    assert hit["pgd"] > 0.5, hit
    assert hit["pgd"] >= hit["fgsm"], hit
    assert hit["cw"] > 0.9, hit


# --- bad arguments -------------------------------------------------------------------------------


def call(attack: Attack, model: nn.Module, x: Tensor, y: Tensor | None, **kw: object) -> Tensor:
    return attack(model, x, y, **kw)


BY_NAME = {a.name: a for a in ATTACKS}
ITERATIVE = ["bim", "pgd-linf", "pgd-l2"]

BAD_KWARGS = [
    *[(name, {"eps": -0.1}, "eps must be a finite number >= 0") for name in eps_ids],
    *[(name, {"eps": float("nan")}, "eps must be a finite number >= 0") for name in eps_ids],
    *[(name, {"eps": float("inf")}, "eps must be a finite number >= 0") for name in eps_ids],
    *[(name, {"eps": "0.1"}, "eps must be a number") for name in eps_ids],
    *[(name, {"alpha": -0.01}, "alpha must be a finite number >= 0") for name in ITERATIVE],
    *[(name, {"steps": 0}, "steps must be an integer >= 1") for name in [*ITERATIVE, "cw-l2"]],
    *[(name, {"steps": 2.5}, "steps must be an integer >= 1") for name in ITERATIVE],
    *[(name, {"loss": "hinge"}, "unknown loss 'hinge'") for name in ["fgsm", *ITERATIVE]],
    ("pgd-linf", {"norm": 1}, "unknown norm 1"),
    ("pgd-linf", {"norm": "l1"}, "unknown norm 'l1'"),
    ("pgd-linf", {"restarts": 0}, "restarts must be an integer >= 1"),
    ("pgd-linf", {"restarts": 2, "random_start": False}, "restarts > 1 needs random_start"),
    ("pgd-linf", {"generator": torch.Generator()}, "either generator= or seed="),
    ("pgd-linf", {"seed": "zero"}, "seed must be an int"),
    ("pgd-linf", {"seed": -1}, r"seed must be an integer in 0 \.\.\. 2\*\*64 - 1, got seed=-1"),
    ("pgd-linf", {"seed": 2**64}, f"got seed={2**64}"),
    ("pgd-linf", {"random_start": "False"}, "random_start must be True or False, got 'False'"),
    *[(name, {"targeted": "False"}, "targeted must be True or False") for name in ids],
    ("cw-l2", {"c": 0.0}, "c must be a finite number > 0"),
    ("cw-l2", {"confidence": -1.0}, "confidence must be a finite number >= 0"),
    ("cw-l2", {"lr": float("nan")}, "lr must be a finite number > 0"),
    ("cw-l2", {"binary_search_steps": 0}, "binary_search_steps must be an integer >= 1"),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "match"), BAD_KWARGS, ids=[f"{n}-{k}" for n, k, _ in BAD_KWARGS]
)
def test_bad_arguments(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(BY_NAME[name], tiny_conv(), images(), None, **kwargs)


@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_bad_images_and_labels(attack: Attack) -> None:
    model, x = tiny_conv(), images()
    y = prediction(model, x)
    cases: list[tuple[Tensor, Tensor | None, str]] = [
        (x * 2, y, r"x must lie in \[0, 1\]"),
        (x - 0.5, y, r"x must lie in \[0, 1\]"),
        ((x * 255).to(torch.uint8), y, "x must be a floating-point tensor"),
        (x[0], y[:1], r"x must have shape \(N, C, H, W\)"),
        (x.double(), y, "x has dtype torch.float64 but the model's parameters are torch.float32"),
        (torch.full_like(x, float("nan")), y, "NaN or infinite"),
        (torch.where(x > 0.9, float("inf"), x), y, "NaN or infinite"),
        (x, y[:3], r"y must have shape \(6,\)"),
        (x, y[:, None], r"y must have shape \(6,\)"),
        (x, y.float(), "y must hold integer class indices"),
        (x, y + 3, r"class indices in \[0, 2\]"),
    ]
    for bad_x, bad_y, match in cases:
        with pytest.raises(ValueError, match=match):
            attack(model, bad_x, bad_y)
    with pytest.raises(ValueError, match="a targeted attack needs y"):
        attack(model, x, None, targeted=True)
    with pytest.raises(ValueError, match="already classified as their target class"):
        attack(model, x, y, targeted=True)  # the predictions themselves as targets
    with pytest.raises(ValueError, match="x is on cpu but the model is on meta"):
        attack(tiny_conv().to("meta"), x, y)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("attack", ATTACKS, ids=ids)
def test_device_mismatch(attack: Attack) -> None:
    model, x = tiny_conv(), images()
    with pytest.raises(ValueError, match="x is on cuda"):
        attack(model, x.cuda())
    with pytest.raises(ValueError, match="y is on cuda"):
        attack(model, x, prediction(model, x).cuda())


@pytest.mark.parametrize(
    "norm", ["inf", "linf", "Linf", "l_inf", float("inf"), 2, 2.0, "2", "l2", "L2"]
)
def test_norm_spellings(norm: object) -> None:
    model, x = tiny_linear(), images()
    expected = "inf" if norm in ("inf", "linf", "Linf", "l_inf", float("inf")) else 2
    eps = 0.1 if expected == "inf" else 0.5
    reference = pgd(model, x, eps=eps, norm=expected, steps=2, seed=0)
    assert torch.equal(pgd(model, x, eps=eps, norm=norm, steps=2, seed=0), reference)


def test_registry_describes_every_exported_attack() -> None:
    from advlab.attacks import ATTACKS, attack_info

    assert {"fgsm", "bim", "pgd", "cw_l2"} <= set(ATTACKS)
    for name, info in ATTACKS.items():
        assert attack_info(name) is info and attack_info(info.fn) is info
        params = inspect.signature(info.fn).parameters
        assert ("eps" in params) == info.takes_eps, name
        assert ("steps" in params) == info.takes_steps, name
        assert ("seed" in params) == info.randomised, name
        assert ("targeted" in params) == info.targeted, name
    with pytest.raises(ValueError, match="unknown attack 'nope'"):
        attack_info("nope")
