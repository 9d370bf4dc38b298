"""advlab.models: the one-pixel paper's networks (scaled) build for any shape, learn the digits
and check their arguments."""

from __future__ import annotations

import pytest
import torch

import advlab
from advlab.models import Normalize, SmallCNN, build_model


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


def test_normalize_is_per_channel_and_inside_the_model() -> None:
    norm = Normalize([0.5, 0.0, 1.0], [0.5, 1.0, 2.0])
    x = torch.ones(2, 3, 4, 4)
    out = norm(x)
    assert torch.allclose(out[:, 0], torch.ones(2, 4, 4))
    assert torch.allclose(out[:, 1], torch.ones(2, 4, 4))
    assert torch.allclose(out[:, 2], torch.zeros(2, 4, 4))
    assert "normalize.mean" in SmallCNN((3, 8, 8), 10).state_dict()


@pytest.mark.parametrize(
    ("shape", "classes"), [((1, 8, 8), 10), ((1, 28, 28), 10), ((3, 32, 32), 7), ((3, 5, 9), 2)]
)
def test_small_cnn_adapts_to_any_shape_and_class_count(
    shape: tuple[int, int, int], classes: int
) -> None:
    model = build_model("small_cnn", shape, classes)
    assert model(torch.rand(4, *shape)).shape == (4, classes)


def test_build_model_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'resnet'.*'small_cnn'"):
        build_model("resnet", (1, 8, 8), 10)
    with pytest.raises(ValueError, match="image_shape must be"):
        build_model("small_cnn", (8, 8), 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_classes"):
        build_model("small_cnn", (1, 8, 8), 1)
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize([0.0], [0.0])
