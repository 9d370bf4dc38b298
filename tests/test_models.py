"""advlab.models: the one-pixel paper's networks (scaled) build for any shape, learn the digits
and check their arguments."""

from __future__ import annotations

import pytest
import torch

import advlab


@pytest.mark.parametrize("name", ["all_conv", "nin", "vgg16"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16), (3, 32, 32), (3, 9, 13)])
def test_paper_models_build_for_any_shape(name: str, shape: tuple[int, int, int]) -> None:
    model = advlab.build_model(name, shape, 7).eval()
    assert model(torch.rand(2, *shape)).shape == (2, 7)


@pytest.mark.parametrize("name", ["all_conv", "nin", "vgg16"])
def test_paper_models_learn_the_digits(name: str, digits: advlab.Dataset) -> None:
    torch.manual_seed(0)
    model = advlab.build_model(name, digits.image_shape, 10)
    advlab.fit(model, digits.x_train, digits.y_train, epochs=4, progress=False, device="cpu")
    assert advlab.evaluate(model.eval(), digits.x_test, digits.y_test) > 0.6


# --- found by the hypothesis suite (tests/test_fuzz_public_api.py) ------------------------------


@pytest.mark.parametrize("cls", [advlab.models.AllConv, advlab.models.NiN, advlab.models.VGG16])
def test_paper_models_check_their_arguments(cls: type) -> None:
    """Before: TypeError from inside nn.Conv2d (num_classes=2.5), a model built with
    width 0, or a mean with the wrong number of channels."""
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        cls((1, 8, 8), 2.5)
    with pytest.raises(ValueError, match="image_shape must be"):
        cls((1, 8), 3)
    with pytest.raises(ValueError, match="width must be an integer in 1"):
        cls((1, 8, 8), 3, width=0)
    with pytest.raises(ValueError, match="one value per channel"):
        cls((3, 8, 8), 3, mean=[0.5], width=1)
    model = cls((3, 8, 8), 4, width=1)
    assert model(torch.rand(2, 3, 8, 8)).shape == (2, 4)
