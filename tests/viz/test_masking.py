"""advlab.viz.masking: Part III's figures draw and refuse junk."""

from __future__ import annotations

import pytest
import torch
from conftest import images


def test_part3_figures_draw_and_refuse_junk() -> None:
    import matplotlib.pyplot as plt

    from advlab.viz import (
        accuracy_matrix_figure,
        gradient_modes_figure,
        prediction_strip_figure,
        substitute_growth_figure,
    )

    classes = [str(k) for k in range(3)]
    x = images(4)
    figs = [
        gradient_modes_figure(
            x[0], {"p": torch.tensor([0.2, 0.8, 0.0])}, {"p": torch.zeros(1, 8, 8)}, classes
        ),
        prediction_strip_figure(x, torch.tensor([0, 1, 2, 1]), [0, 0, 2, 1], classes),
        accuracy_matrix_figure(["a", "b"], ["x"], [[0.5], [float("nan")]]),
        substitute_growth_figure([10, 20], {"acc": [0.5, 0.7]}),
    ]
    assert all(len(f.axes) >= 1 for f in figs)
    plt.close("all")
    with pytest.raises(ValueError, match="class indices"):
        prediction_strip_figure(x, [0, 1, 2, 5], [0, 0, 2, 1], classes)
    with pytest.raises(ValueError, match="has 1 values for 2 query counts"):
        substitute_growth_figure([10, 20], {"acc": [0.5]})
    with pytest.raises(ValueError, match=r"values must have shape \(2, 1\)"):
        accuracy_matrix_figure(["a", "b"], ["x"], [[0.5, 0.2]])
    for junk in [("a", "b", "c", "d"), (1, 2, 3, 4), (None, None, None, None)]:
        for fn in (gradient_modes_figure, prediction_strip_figure):
            with pytest.raises(TypeError):
                fn(*junk)
