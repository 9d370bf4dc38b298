"""JSMA: the L0 budget, reaching targets, any classes and channels, a dense reference, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import advlab
from advlab.attacks import ATTACKS, JSMAResult, jsma, saliency_map


def block_model(shape: tuple[int, int, int], classes: int) -> nn.Module:
    """A linear model whose class k sums the k-th block of features (weights centred per feature).

    Brightening a pixel of the target's block raises the target's logit and lowers
    the others' sum, so JSMA can always make progress and reaches any target.
    """
    d = shape[0] * shape[1] * shape[2]
    block = torch.arange(d) * classes // d
    weight = (block[None, :] == torch.arange(classes)[:, None]).float() - 1.0 / classes
    weight += 0.01 * torch.randn(classes, d, generator=torch.Generator().manual_seed(0))
    layer = nn.Linear(d, classes)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.zero_()
    return nn.Sequential(nn.Flatten(), layer).eval()


def other_targets(model: nn.Module, x: Tensor, classes: int, shift: int = 1) -> Tensor:
    with torch.no_grad():
        return (model(x).argmax(1) + shift) % classes


def reference_jsma(
    model: nn.Module, x: Tensor, target: int, theta: float, gamma: float, jacobian: str
) -> Tensor:
    """A plain one-image JSMA with the dense pair search of the paper (no candidates)."""
    x = x.clone()
    d = x.numel()
    budget = int(gamma * d + 1e-9)
    domain = (x.flatten() < 1) if theta > 0 else (x.flatten() > 0)
    changed = torch.zeros(d, dtype=torch.bool)
    sign = 1.0 if theta > 0 else -1.0
    for _ in range(budget // 2):
        xi = x.clone().requires_grad_(True)
        logits = model(xi[None])[0]
        if int(logits.argmax()) == target:
            break
        if int(changed.sum()) + 2 > budget:
            break
        out = F.softmax(logits, 0) if jacobian == "probs" else logits
        a = torch.autograd.grad(out[target], xi, retain_graph=True)[0].flatten()
        b = torch.autograd.grad(out.sum(), xi)[0].flatten() - a
        best, pair = None, None
        for p in range(d):
            for q in range(p + 1, d):
                if not (domain[p] and domain[q]):
                    continue
                ap, bp = a[p] + a[q], b[p] + b[q]
                if sign * ap > 0 and sign * bp < 0:
                    score = float(-ap * bp)
                    if best is None or score > best:
                        best, pair = score, (p, q)
        if pair is None:
            break
        flat = x.view(-1)
        for i in pair:
            flat[i] = (flat[i] + theta).clamp(0, 1)
            changed[i] = True
            domain[i] = bool(flat[i] < 1) if theta > 0 else bool(flat[i] > 0)
    return x


def test_jsma_is_registered_as_an_l0_attack_returning_a_result() -> None:
    info = ATTACKS["jsma"]
    assert info.fn is jsma and info.norm == "0" and info.returns == "result"
    assert not info.takes_eps and not info.randomised and info.targeted


def test_changes_at_most_gamma_of_the_pixels_and_reaches_most_targets(
    digits: advlab.Dataset, digits_model: nn.Module
) -> None:
    x = digits.x_test[:40]
    target = other_targets(digits_model, x, 10)
    before = x.clone()
    result = jsma(digits_model, x, target, gamma=0.25)
    assert isinstance(result, JSMAResult)
    assert torch.equal(x, before)
    assert result.x_adv.min() >= 0 and result.x_adv.max() <= 1
    changed = (result.x_adv != x).flatten(1).sum(1)
    assert torch.equal(changed, result.pixels_changed)
    assert int(changed.max()) <= int(0.25 * 64)
    assert (result.fraction_changed <= 0.25).all()
    with torch.no_grad():
        hit = digits_model(result.x_adv).argmax(1) == target
    assert torch.equal(hit, result.success)
    assert result.success.float().mean() >= 0.7
    # two gradient passes per iteration, one more check after the last change
    iterations = (result.pairs[:, :, 0] >= 0).sum(1)
    assert torch.all(result.gradient_evals >= 2 * iterations)
    assert torch.all(result.gradient_evals <= 2 * iterations + 2)


def test_batched_search_matches_a_dense_per_image_reference(
    digits: advlab.Dataset, digits_model: nn.Module
) -> None:
    x = digits.x_test[:2]
    target = other_targets(digits_model, x, 10, shift=3)
    for theta, jac in [(1.0, "probs"), (-1.0, "logits"), (0.5, "logits")]:
        result = jsma(digits_model, x, target, theta=theta, gamma=0.2, jacobian=jac)
        for i in range(len(x)):
            expected = reference_jsma(digits_model, x[i], int(target[i]), theta, 0.2, jac)
            torch.testing.assert_close(result.x_adv[i], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("shape", "classes"), [((1, 6, 6), 3), ((1, 6, 6), 10), ((3, 8, 8), 4)])
def test_any_number_of_classes_and_colour_images(shape: tuple[int, int, int], classes: int) -> None:
    model = block_model(shape, classes)
    x = 0.5 * torch.rand(12, *shape, generator=torch.Generator().manual_seed(1))
    target = other_targets(model, x, classes)
    result = jsma(model, x, target, gamma=0.5, jacobian="logits")
    assert result.x_adv.shape == x.shape
    assert int(result.pixels_changed.max()) <= int(0.5 * x[0].numel())
    assert result.success.float().mean() >= 0.75


def test_candidates_bound_memory_on_32x32_colour_images() -> None:
    model = advlab.build_model("small_cnn", (3, 32, 32), 10).eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    target = other_targets(model, x, 10)
    result = jsma(model, x, target, gamma=0.01, jacobian="logits", candidates=32)
    assert int(result.pixels_changed.max()) <= int(0.01 * 3 * 32 * 32)
    assert result.pairs.shape == (2, int(0.01 * 3072) // 2, 2)


def test_numpy_scalars_are_numbers(digits: advlab.Dataset, digits_model: nn.Module) -> None:
    import numpy as np

    x = digits.x_test[:4]
    target = other_targets(digits_model, x, 10)
    a = jsma(digits_model, x, target, theta=np.float32(1.0), gamma=np.float64(0.25))
    b = jsma(digits_model, x, target, theta=1.0, gamma=0.25)
    assert torch.equal(a.x_adv, b.x_adv)


def test_deterministic_and_polite(digits: advlab.Dataset, digits_model: nn.Module) -> None:
    x = digits.x_test[:6]
    target = other_targets(digits_model, x, 10)
    digits_model.train()
    try:
        a = jsma(digits_model, x, target)
        b = jsma(digits_model, x, target)
        assert digits_model.training
        assert all(p.requires_grad for p in digits_model.parameters())
    finally:
        digits_model.eval()
    assert torch.equal(a.x_adv, b.x_adv) and torch.equal(a.pairs, b.pairs)
    assert a.x_adv.dtype == x.dtype and not a.x_adv.requires_grad


def test_saliency_map_halves_have_the_image_shape(
    digits: advlab.Dataset, digits_model: nn.Module
) -> None:
    x = digits.x_test[:3]
    target = other_targets(digits_model, x, 10)
    alpha, beta = saliency_map(digits_model, x, target, jacobian="logits")
    assert alpha.shape == x.shape and beta.shape == x.shape
    # softmax outputs sum to one, so the others' gradient is minus the target's
    alpha_p, beta_p = saliency_map(digits_model, x, target)
    torch.testing.assert_close(beta_p, -alpha_p, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gamma": 0.0}, r"gamma .* must lie in \(0, 1\], got 0.0"),
        ({"gamma": 1.5}, r"gamma .* must lie in \(0, 1\], got 1.5"),
        ({"gamma": -0.1}, r"must lie in \(0, 1\]"),
        ({"gamma": 0.01}, r"gamma=0.01 allows 0 of the 64 features to change"),
        ({"theta": 0.0}, r"theta .* must be a non-zero number in \[-1, 1\]"),
        ({"theta": 2.0}, r"theta .* must be a non-zero number in \[-1, 1\]"),
        ({"theta": "up"}, r"theta .* got 'up'"),
        ({"jacobian": "softmax"}, r"jacobian must be 'probs' .* or 'logits', got 'softmax'"),
        ({"targeted": False}, r"JSMA is a targeted attack"),
        ({"candidates": 1}, r"candidates must be an integer >= 2"),
    ],
)
def test_bad_arguments_raise_clear_errors(
    digits: advlab.Dataset, digits_model: nn.Module, kwargs: dict[str, object], message: str
) -> None:
    x = digits.x_test[:2]
    target = other_targets(digits_model, x, 10)
    with pytest.raises(ValueError, match=message):
        jsma(digits_model, x, target, **kwargs)


def test_a_target_equal_to_the_true_class_is_refused(
    digits: advlab.Dataset, digits_model: nn.Module
) -> None:
    x, y = digits.x_test[:20], digits.y_test[:20]
    with torch.no_grad():
        right = digits_model(x).argmax(1) == y
    assert right.any()
    with pytest.raises(ValueError, match="already classified as their target class"):
        jsma(digits_model, x[right], y[right])


def _reader_best_pair(alpha: Tensor, beta: Tensor) -> tuple[int, int] | None:
    best, pair = None, None
    for p in range(len(alpha)):
        for q in range(p + 1, len(alpha)):
            a, b = float(alpha[p] + alpha[q]), float(beta[p] + beta[q])
            if a > 0 and b < 0 and (best is None or a * -b > best):
                best, pair = a * -b, (q, p)
    return pair


def test_best_pair_checker_accepts_a_right_answer_and_names_mistakes() -> None:
    from advlab.book.exercises import check_best_pair

    assert check_best_pair(_reader_best_pair, verbose=False).passed

    def top_alpha(alpha: Tensor, beta: Tensor) -> tuple[int, int]:
        p, q = alpha.topk(2).indices.tolist()
        return p, q

    report = check_best_pair(top_alpha, verbose=False)
    assert not report.passed
    assert "picked the two largest α" in str(report) or "only pairs with" in str(report)

    def never_none(alpha: Tensor, beta: Tensor) -> tuple[int, int]:
        return _reader_best_pair(alpha, beta) or (0, 1)

    assert "return None" in str(check_best_pair(never_none, verbose=False))


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) --------------------------------


def test_best_pairs_checks_its_arguments() -> None:
    from advlab.attacks.jsma import best_pairs

    a, b = torch.randn(2, 5), torch.randn(2, 5)
    domain = torch.ones(2, 5, dtype=torch.bool)
    cases = [
        ((None, b, domain), {}, "alpha must be a torch.Tensor"),
        ((a[0], b[0], domain[0]), {}, "alpha must be a float tensor of shape \\(M, D\\)"),
        ((a, b[:, :-1], domain), {}, "beta must match alpha"),
        ((a, b, domain.float()), {}, "domain must be a bool tensor"),
        ((a[:, :0], b[:, :0], domain[:, :0]), {}, "alpha has no features"),
        ((a, b, domain), {"sign": 0.0}, "sign must be \\+1"),
        ((a, b, domain), {"sign": "up"}, "sign must be \\+1"),
        ((a, b, domain), {"candidates": 1}, "candidates must be an integer >= 2"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            best_pairs(*args, **kwargs)


def test_best_pairs_uses_only_the_sign_of_sign() -> None:
    from advlab.attacks.jsma import best_pairs

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 6, generator=g), torch.randn(3, 6, generator=g)
    domain = torch.ones(3, 6, dtype=torch.bool)
    for s in (-1.0, 1.0):
        pairs, found = best_pairs(a, b, domain, sign=s)
        pairs5, found5 = best_pairs(a, b, domain, sign=5 * s)
        assert torch.equal(found, found5) and torch.equal(pairs[found], pairs5[found5])


def test_jsma_refuses_a_jacobian_that_is_not_a_string() -> None:
    model = block_model((1, 4, 4), 3)
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="jacobian must be 'probs'"):
        saliency_map(model, x, torch.tensor([0, 1]), jacobian=np.zeros(2))  # type: ignore[arg-type]
