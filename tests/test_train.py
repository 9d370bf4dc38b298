"""advlab.train: fit's determinism and hooks, bad data, predict and evaluate."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advlab import evaluate, fit, predict
from advlab.models import SmallCNN


def _tiny_problem() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 8, 8, generator=gen)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    return x, y


def test_fit_is_deterministic_given_the_seed() -> None:
    x, y = _tiny_problem()
    weights = []
    for _ in range(2):
        torch.manual_seed(1)
        model = SmallCNN((1, 8, 8), 2, width=4)
        fit(model, x, y, epochs=2, batch_size=16, seed=3, device="cpu", progress=False)
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_fit_hooks_perturb_and_soft_label_loss() -> None:
    x, y = _tiny_problem()
    seen: list[int] = []

    def perturb(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        seen.append(len(xb))
        return xb.flip(-1)

    soft = F.one_hot(y, 2).float() * 0.9 + 0.05
    model = SmallCNN((1, 8, 8), 2, width=4)
    hist = fit(
        model,
        x,
        soft,
        epochs=2,
        batch_size=32,
        device="cpu",
        progress=False,
        perturb=perturb,
        loss_fn=lambda logits, t: F.cross_entropy(logits, t),
    )
    assert seen == [32, 32, 32, 32] and len(hist.loss) == 2


def test_fit_perturb_may_return_a_larger_batch_with_its_labels() -> None:
    x, y = _tiny_problem()
    sizes: list[int] = []

    def mixed(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor):
        return torch.cat([xb, xb.flip(-1)]), torch.cat([yb, yb])

    def bad(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor):
        return torch.cat([xb, xb]), yb

    model = SmallCNN((1, 8, 8), 2, width=4)
    orig_forward = model.forward
    model.forward = lambda inp: (sizes.append(len(inp)), orig_forward(inp))[1]  # type: ignore[method-assign]
    fit(model, x, y, epochs=1, batch_size=32, device="cpu", progress=False, perturb=mixed)
    assert sizes == [64, 64]
    with pytest.raises(ValueError, match="64 images for 32 labels"):
        fit(model, x, y, epochs=1, batch_size=32, device="cpu", progress=False, perturb=bad)


def test_fit_rejects_mismatched_data() -> None:
    x, y = _tiny_problem()
    with pytest.raises(ValueError, match=r"y must have shape \(64,\) to match x's 64 images"):
        fit(SmallCNN((1, 8, 8), 2), x, y[:10], progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        fit(SmallCNN((1, 8, 8), 2), x, y, epochs=0, progress=False)


def test_predict_and_evaluate_restore_train_mode() -> None:
    x, y = _tiny_problem()
    model = SmallCNN((1, 8, 8), 2).train()
    model.classifier.eval()  # a mixed state is restored module by module
    evaluate(model, x, y)
    assert model.training and model.features.training and not model.classifier.training
    assert predict(model, x).shape == (64, 2)


# --- issue 18 item 1: a diverged (NaN) model is refused, not scored -------------------------------


def _nan_cnn() -> nn.Module:
    model = SmallCNN((1, 8, 8), 10, width=4)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    return model.eval()


def test_evaluate_refuses_a_nan_model() -> None:
    x, y = torch.rand(5, 1, 8, 8), torch.arange(5)
    with pytest.raises(ValueError, match="NaN or infinite logits for 5 of 5 images"):
        evaluate(_nan_cnn(), x, y)


def test_predict_refuses_inf_logits_and_names_the_image() -> None:
    class InfOnSecond(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = x.flatten(1)[:, :3].clone()
            z[1, 0] = float("inf")
            return z

    with pytest.raises(ValueError, match=r"1 of 3 images \(first: index 1\)"):
        predict(InfOnSecond(), torch.rand(3, 1, 2, 2))
