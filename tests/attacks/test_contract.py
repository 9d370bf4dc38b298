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

import advlab
from advlab import bim, cw_l2, fgsm, pgd
from advlab.attacks._common import ball_tolerance, objective

# --- tiny models and data ------------------------------------------------------------------------


def tiny_linear(num_classes: int = 3) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))


MODELS: dict[str, Callable[[], nn.Module]] = {"conv": tiny_conv, "linear": tiny_linear}


def images(n: int = 6, seed: int = 0) -> Tensor:
    """Random 1x8x8 images in [0, 1], with some pixels exactly 0 and 1 so clipping matters."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    x[:, :, 0] = 0.0
    x[:, :, -1] = 1.0
    return x


def prediction(model: nn.Module, x: Tensor) -> Tensor:
    return advlab.predict(model, x).argmax(dim=1)


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


@pytest.mark.parametrize("norm", ["inf", 2])
def test_pgd_seed_and_generator(norm: object) -> None:
    model, x = tiny_conv(), images()
    eps = 0.1 if norm == "inf" else 0.5
    a = pgd(model, x, eps=eps, norm=norm, steps=2, seed=3)
    assert torch.equal(a, pgd(model, x, eps=eps, norm=norm, steps=2, seed=3))
    assert torch.equal(
        a, pgd(model, x, eps=eps, norm=norm, steps=2, generator=torch.Generator().manual_seed(3))
    )
    assert not torch.equal(a, pgd(model, x, eps=eps, norm=norm, steps=2, seed=4))
    torch.manual_seed(5)  # without seed or generator, the global generator is used
    b = pgd(model, x, eps=eps, norm=norm, steps=2)
    torch.manual_seed(5)
    assert torch.equal(b, pgd(model, x, eps=eps, norm=norm, steps=2))


def test_pgd_random_start_fills_the_ball() -> None:
    """With alpha=0 the result is the random start: uniform in the L∞ box, inside the L2 ball."""
    x = torch.full((200, 1, 8, 8), 0.5)
    model = tiny_linear()
    start = pgd(model, x, eps=0.1, alpha=0.0, steps=1, seed=0) - x
    assert start.abs().max() <= 0.1 + 1e-6
    assert abs(float(start.mean())) < 0.005 and abs(float(start.abs().mean()) - 0.05) < 0.005
    start = pgd(model, x, eps=0.5, alpha=0.0, norm=2, steps=1, seed=0) - x
    length = start.flatten(1).norm(dim=1)
    assert length.max() <= 0.5 + 1e-6
    assert length.min() > 0.4  # uniform in a 64-dimensional ball: almost all near the sphere


def test_pgd_step_longer_than_eps_reaches_the_face_from_a_random_start() -> None:
    """alpha > eps is allowed (R+FGSM, FGSM-RS): from a random start, one step of 2 eps puts
    every pixel on the face of the L∞ box, while alpha = eps leaves many inside it."""
    x = torch.full((50, 1, 8, 8), 0.5)  # mid-grey: the [0, 1] clip never binds
    model, eps = tiny_linear(), 0.1
    on_face = {}
    for alpha in (eps, 1.25 * eps, 2 * eps):
        delta = pgd(model, x, eps=eps, alpha=alpha, steps=1, seed=0) - x
        assert delta.abs().max() <= eps + 1e-6
        on_face[alpha] = float(((delta.abs() - eps).abs() < 1e-6).float().mean())
    assert on_face[2 * eps] == 1.0
    assert on_face[eps] < on_face[1.25 * eps] < 1.0


@pytest.mark.parametrize("loss", ["ce", "margin"])
def test_pgd_restarts_keep_the_best_run(loss: str, digits, digits_model) -> None:
    """restarts=3 equals the per-image best of 3 single runs drawing from the same generator."""
    model, x, y = digits_model, digits.x_test[:64], digits.y_test[:64]
    kw = {"eps": 0.08, "steps": 3, "loss": loss}
    gen = torch.Generator().manual_seed(7)
    runs = [pgd(model, x, y, generator=gen, **kw) for _ in range(3)]
    combined = pgd(model, x, y, restarts=3, seed=7, **kw)
    logits = [advlab.predict(model, r) for r in runs]
    success = torch.stack([lg.argmax(1) != y for lg in logits])
    score = torch.stack([objective(lg, y, loss=loss, targeted=False) for lg in logits])
    picks = []
    for i in range(len(x)):
        ok = success[:, i]
        candidates = ok.nonzero().flatten() if ok.any() else torch.arange(3)
        best = int(candidates[score[candidates, i].argmax()])
        assert torch.equal(combined[i], runs[best][i]), i
        picks.append(best)
    assert len(set(picks)) == 3  # every run is the best for some image


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


def binary_linear() -> tuple[nn.Module, Tensor, Tensor, Tensor]:
    """f(x) = Wx + b with 2 classes, images near 0.5 (nothing clips), labels = predictions.

    Returns the model, x, y and u = w_other - w_y per image, the direction that
    increases every objective (cross-entropy and margin alike).
    """
    model = tiny_linear(2)
    g = torch.Generator().manual_seed(2)
    x = 0.5 + 0.1 * (torch.rand(8, 1, 8, 8, generator=g) - 0.5)
    y = prediction(model, x)
    w = model[1].weight.detach()
    u = (w[1 - y] - w[y]).view_as(x)
    return model, x, y, u


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


def test_cw_finds_the_smallest_l2_perturbation_of_a_linear_model() -> None:
    """For a linear binary classifier the closest adversarial lies margin / ||u|| away along u."""
    model, x, y, u = binary_linear()
    w, b = model[1].weight.detach(), model[1].bias.detach()
    flat = x.flatten(1)
    margin = (flat * (w[y] - w[1 - y])).sum(1) + b[y] - b[1 - y]
    smallest = margin / u.flatten(1).norm(dim=1)
    x_adv = cw_l2(model, x, y, steps=200, binary_search_steps=8, lr=0.01)
    assert (prediction(model, x_adv) != y).all()
    dist = (x_adv - x).flatten(1).norm(dim=1)
    assert (dist >= smallest * (1 - 1e-4)).all()
    assert (dist <= smallest * 1.05).all(), (dist / smallest).tolist()


def test_cw_returns_x_where_it_fails() -> None:
    model, x, y, _ = binary_linear()
    # one step with a tiny constant cannot cross the boundary
    x_adv = cw_l2(model, x, y, c=1e-6, binary_search_steps=1, steps=1)
    assert torch.equal(x_adv, x)


def test_cw_confidence_pushes_past_the_boundary() -> None:
    model, x, y, _ = binary_linear()
    near = cw_l2(model, x, y, steps=200, binary_search_steps=6)
    far = cw_l2(model, x, y, steps=200, binary_search_steps=6, confidence=2.0)
    logits = advlab.predict(model, far)
    gap = logits.gather(1, (1 - y)[:, None]) - logits.gather(1, y[:, None])
    assert (gap >= 2.0 - 1e-4).all()
    assert ((far - x).flatten(1).norm(dim=1) > (near - x).flatten(1).norm(dim=1)).all()


# --- real effects on the digits model ------------------------------------------------------------


def test_pgd_is_at_least_as_strong_as_fgsm_and_bim(digits, digits_model) -> None:
    # measured (120 images, eps 0.12): clean 0.95, FGSM 0.36, BIM and PGD 0.26
    x, y = digits.x_test[:120], digits.y_test[:120]
    model, eps = digits_model, 0.12
    clean = advlab.evaluate(model, x, y)
    acc = {
        "fgsm": advlab.evaluate(model, fgsm(model, x, y, eps=eps), y),
        "bim": advlab.evaluate(model, bim(model, x, y, eps=eps, steps=10), y),
        "pgd": advlab.evaluate(model, pgd(model, x, y, eps=eps, steps=10, seed=0), y),
    }
    assert clean > 0.9
    assert acc["fgsm"] < clean - 0.3, acc
    assert acc["pgd"] <= acc["fgsm"], acc
    assert acc["bim"] <= acc["fgsm"], acc


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


def test_cw_needs_less_l2_than_pgd_at_equal_success(digits, digits_model) -> None:
    """CW adapts the budget per image; PGD-L2 uses the whole ball on every image.

    PGD's eps is the smallest of a grid at which it fools the model at least as
    often as CW does; on the images both fool, CW's perturbations are shorter.
    """
    # measured: CW fools all 48 with mean L2 0.45; PGD needs eps 1.5 to fool all 48
    x, y = digits.x_test[:48], digits.y_test[:48]
    model = digits_model
    x_cw = cw_l2(model, x, y)
    cw_ok = prediction(model, x_cw) != y
    assert cw_ok.float().mean() > 0.8
    for eps in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        x_pgd = pgd(model, x, y, eps=eps, norm=2, steps=20, seed=0)
        pgd_ok = prediction(model, x_pgd) != y
        if pgd_ok.float().mean() >= cw_ok.float().mean():
            break
    both = cw_ok & pgd_ok
    assert both.sum() >= 0.7 * len(y)
    cw_dist = (x_cw - x).flatten(1).norm(dim=1)[both]
    pgd_dist = (x_pgd - x).flatten(1).norm(dim=1)[both]
    assert cw_dist.mean() < pgd_dist.mean(), (float(cw_dist.mean()), float(pgd_dist.mean()), eps)
    assert cw_dist.median() < pgd_dist.median()


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
