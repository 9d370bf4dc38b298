"""advlab.attacks.pgd: seeds, the random start, steps past the radius, restarts, and PGD against FGSM and BIM."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_conv

import advlab
from advlab import bim, fgsm, pgd
from advlab.attacks._common import objective

from ._models import images, tiny_linear


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


# --- issue 18 item 9: a tensor eps without a value -----------------------------------------------


@pytest.mark.parametrize("attack", [fgsm, bim, pgd], ids=["fgsm", "bim", "pgd"])
def test_a_meta_tensor_eps_is_named(attack) -> None:
    model, x = tiny_linear(), images(2)
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="eps is a meta tensor"):
        attack(model, x, y, eps=torch.tensor(0.1, device="meta"))


def test_a_one_element_tensor_eps_on_the_cpu_still_works() -> None:
    model, x = tiny_linear(), images(2)
    y = torch.tensor([0, 1])
    assert torch.equal(fgsm(model, x, y, eps=torch.tensor(0.1)), fgsm(model, x, y, eps=0.1))


# --- issue 18 item 10: the L2 ball on large images ------------------------------------------------


def test_l2_pgd_on_large_images_stays_within_the_documented_tolerance() -> None:
    from advlab.attacks._common import ball_tolerance

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.Flatten(), torch.nn.Linear(4 * 32 * 32, 10)
    ).eval()
    x = 0.3 + 0.4 * torch.rand(4, 3, 128, 128)  # away from 0 and 1: the ball, not the box, binds
    y = torch.arange(4)
    eps = 7.0
    x_adv = pgd(model, x, y, eps=eps, norm=2, steps=20, random_start=True, seed=0)
    length = (x_adv.double() - x.double()).flatten(1).norm(dim=1)
    assert float(length.max()) > eps - 1e-3  # on the sphere: the tolerance is what is tested
    tol = ball_tolerance(x.dtype, 2, eps=eps, numel=x[0].numel())
    assert float(length.max()) <= eps + tol
    # the per-pixel (L∞) tolerance alone does not cover an L2 ball of 49,152 pixels
    assert tol > ball_tolerance(x.dtype) * 100


def test_ball_tolerance_is_unchanged_for_linf_and_grows_with_the_image_for_l2() -> None:
    from advlab.attacks._common import ball_tolerance

    u = torch.finfo(torch.float32).eps
    assert ball_tolerance(torch.float32) == ball_tolerance(torch.float32, "inf") == 8 * u
    assert ball_tolerance(torch.float32, 2, eps=1.0, numel=64) == pytest.approx(8 * u * 9)
    small = ball_tolerance(torch.float32, 2, eps=1.0, numel=64)
    assert ball_tolerance(torch.float32, 2, eps=1.0, numel=3 * 128 * 128) > small
