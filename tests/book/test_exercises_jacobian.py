"""advlab.book.exercises.check_jacobian_augmentation (chapter 6's exercise): accepts the right answer,
names each typical mistake. (To join tests/test_exercises.py; see tests/README.md.)"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

# --- the chapter's exercise checker, the defense catalogue and the attack table ------------------


def _logit_grad(model: nn.Module, x: Tensor, labels: Tensor) -> Tensor:
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xg).gather(1, labels[:, None]).sum(), xg)
    return g


def good_augment(model, x, labels, lam):
    return (x + lam * _logit_grad(model, x, labels).sign()).clamp(0, 1).detach()


def own_prediction_augment(model, x, labels, lam):
    return good_augment(model, x, model(x).argmax(1), lam)


def loss_augment(model, x, labels, lam):
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(xg), labels), xg)
    return (x + lam * g.sign()).clamp(0, 1).detach()


def unsigned_lam_augment(model, x, labels, lam):
    return good_augment(model, x, labels, abs(lam))


def unclipped_augment(model, x, labels, lam):
    return (x + lam * _logit_grad(model, x, labels).sign()).detach()


@pytest.mark.parametrize(
    ("fn", "passed", "match"),
    [
        (good_augment, True, "exact match"),
        (own_prediction_augment, False, "substitute's own prediction"),
        (loss_augment, False, "gradient of the cross-entropy loss"),
        (unsigned_lam_augment, False, "dropped the sign of λ"),
        (unclipped_augment, False, r"clip the images"),
    ],
)
def test_check_jacobian_augmentation_names_the_mistake(fn, passed: bool, match: str) -> None:
    from advlab.book.exercises import check_jacobian_augmentation

    report = check_jacobian_augmentation(fn, verbose=False)
    assert report.passed is passed
    assert match in str(report) or __import__("re").search(match, str(report)), str(report)
