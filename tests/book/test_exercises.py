"""The exercise checkers accept correct attacks and name the typical mistakes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advlab.book.exercises import check_fgsm, check_pgd


def _grad(model, x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    (g,) = torch.autograd.grad(loss, x)
    return g


def good_fgsm(model, x, y, eps):
    return (x + eps * _grad(model, x, y).sign()).clamp(0, 1).detach()


def flipped_fgsm(model, x, y, eps):
    return (x - eps * _grad(model, x, y).sign()).clamp(0, 1).detach()


def unclipped_fgsm(model, x, y, eps):
    return (x + eps * _grad(model, x, y).sign()).detach()


def raw_gradient_fgsm(model, x, y, eps):
    g = _grad(model, x, y)
    g = g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return (x + eps * g).clamp(0, 1).detach()


def inplace_fgsm(model, x, y, eps):
    x += 0.0 * x + eps * _grad(model, x, y).sign()
    return x.clamp_(0, 1)


def make_pgd(*, sign=1.0, project=True, clip=True, l2_step=False, refresh=True):
    def my_pgd(model, x, y, eps, alpha, steps):
        x_adv = x.clone()
        g = _grad(model, x, y)
        for _ in range(steps):
            if refresh:
                g = _grad(model, x_adv, y)
            if l2_step:
                step = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            else:
                step = g.sign()
            x_adv = x_adv + sign * alpha * step
            if project:
                x_adv = x + (x_adv - x).clamp(-eps, eps)
            if clip:
                x_adv = x_adv.clamp(0, 1)
        return x_adv.detach()

    return my_pgd


def good_pgd_l2(model, x, y, eps, alpha, steps):
    x_adv = x.clone()
    for _ in range(steps):
        g = _grad(model, x_adv, y)
        x_adv = x_adv + alpha * g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        d = x_adv - x
        n = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        x_adv = (x + d * (eps / n).clamp(max=1)).clamp(0, 1)
    return x_adv.detach()


def test_correct_fgsm_is_an_exact_match(capsys) -> None:
    report = check_fgsm(good_fgsm)
    assert report.passed and "exact match" in str(report)
    assert "exact match" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (flipped_fgsm, "stepped against the gradient"),
        (unclipped_fgsm, "leaves [0, 1]"),
        (raw_gradient_fgsm, "along the gradient itself, not its sign"),
        (inplace_fgsm, "modified x in place"),
        (lambda m, x, y, eps: x.clone(), "differs from advlab.fgsm"),
        (lambda m, x, y, eps: (x + 2 * eps * _grad(m, x, y).sign()).clamp(0, 1), "ε-ball"),
        (lambda m, x, y, eps: x[:1].clone(), "shape"),
        (lambda m, x, y: x, "raised TypeError"),
    ],
)
def test_fgsm_mistakes_are_named(fn, message: str) -> None:
    report = check_fgsm(fn, verbose=False)
    assert not report.passed
    assert message in str(report)


def test_correct_pgd_passes_in_both_norms() -> None:
    assert check_pgd(make_pgd(), verbose=False).passed
    assert check_pgd(good_pgd_l2, norm=2, verbose=False).passed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sign": -1.0}, "stepped against the gradient"),
        ({"project": False}, "projection is missing"),
        ({"clip": False}, "leaves [0, 1]"),
        ({"l2_step": True}, "L2 steps in an L∞ attack"),
        ({"refresh": False}, "differs from advlab.pgd"),
    ],
)
def test_pgd_mistakes_are_named(kwargs, message: str) -> None:
    report = check_pgd(make_pgd(**kwargs), verbose=False)
    assert not report.passed
    assert message in str(report)


def test_checkers_reject_bad_arguments() -> None:
    with pytest.raises(TypeError, match="your FGSM function"):
        check_fgsm("fgsm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="norm must be 'inf' or 2"):
        check_pgd(make_pgd(), norm=1)
    with pytest.raises(ValueError, match="trials"):
        check_fgsm(good_fgsm, trials=0)


def test_checkers_leave_the_global_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_fgsm(good_fgsm, verbose=False)
    assert torch.equal(torch.rand(3), expected)
