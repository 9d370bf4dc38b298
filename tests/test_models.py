"""The one-pixel paper's networks (scaled) and the offline colour digits at several sizes."""

from __future__ import annotations

import pytest
import torch

import advlab
from advlab.data import color_digits


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


def test_colour_digits_same_images_at_every_size(digits: advlab.Dataset) -> None:
    sets = {
        n: advlab.load_dataset(n) for n in ("digits-color-8", "digits-color", "digits-color-32")
    }
    for name, size in (("digits-color-8", 8), ("digits-color", 16), ("digits-color-32", 32)):
        d = sets[name]
        assert d.x_test.shape == (360, 3, size, size) and d.x_train.shape[0] == 1437
        assert torch.equal(d.y_test, digits.y_test) and torch.equal(d.y_train, digits.y_train)
        assert d.x_test.min() >= 0 and d.x_test.max() <= 1
    small, big = sets["digits-color-8"].x_test, sets["digits-color-32"].x_test
    # same colours: down-sampling the 32 px images recovers the 8 px ones closely
    down = torch.nn.functional.avg_pool2d(big, 4)
    assert (down - small).abs().mean() < 0.08
    # each image has its own colours, the same on every load
    assert torch.equal(advlab.load_dataset("digits-color").x_test, sets["digits-color"].x_test)
    corners = small[:, :, 0, 0]
    assert len(torch.unique(corners, dim=0)) > 300


def test_color_digits_checks_size() -> None:
    with pytest.raises(ValueError, match="size must be an integer >= 8"):
        color_digits(torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long), 4)


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


def test_color_digits_checks_images_index_and_seed() -> None:
    """Before: AttributeError on junk x/index, and NumPy's own error for a negative index."""
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="x must be floating-point"):
        color_digits(None, torch.tensor([0, 1]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        color_digits(x * 255, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="index must be an integer tensor"):
        color_digits(x, torch.zeros(2))
    with pytest.raises(ValueError, match="index must hold non-negative"):
        color_digits(x, torch.tensor([-1, 1]))
    with pytest.raises(ValueError, match="seed must be an integer"):
        color_digits(x, torch.tensor([0, 1]), seed=-1)
    with pytest.raises(ValueError, match="size must be at most"):
        color_digits(x, torch.tensor([0, 1]), 10**6)
    assert color_digits(x, torch.tensor([0, 1]), 8).shape == (2, 3, 8, 8)
