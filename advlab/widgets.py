"""ipywidgets explorers for the book.

Each explorer redraws a matplotlib figure when a control moves. On a static
HTML page there is no kernel, so the controls move but nothing recomputes: the
figure drawn at build time stays. That is why every chapter also shows a static
figure of the default setting next to each explorer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display
from torch import Tensor, nn

from .attacks import fgsm
from .viz import adversarial_figure

__all__ = ["eps_explorer"]

Attack = Callable[..., Tensor]


def eps_explorer(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    classes: Sequence[str],
    *,
    attack: Attack = fgsm,
    eps: float = 0.1,
    eps_max: float = 0.5,
    eps_step: float = 0.01,
    index: int = 0,
) -> W.VBox:
    """Epsilon slider and image picker over ``attack(model, x, y, eps=...)``.

    Shows the clean image, the perturbation and the adversarial image with the
    model's class probabilities for each. ``x``/``y`` are the candidate images
    (on the model's device) and their true labels.
    """
    if not 0 <= index < len(x):
        raise ValueError(f"index must be in [0, {len(x) - 1}], got {index}")
    eps_slider = W.FloatSlider(
        value=eps,
        min=0.0,
        max=eps_max,
        step=eps_step,
        description="ε",
        readout_format=".2f",
        continuous_update=False,
    )
    picker = W.IntSlider(
        value=index, min=0, max=len(x) - 1, description="image", continuous_update=False
    )
    out = W.Output()

    def redraw(*_: object) -> None:
        i, e = picker.value, eps_slider.value
        xi, yi = x[i : i + 1], y[i : i + 1]
        x_adv = attack(model, xi, yi, eps=e)
        with out:
            out.clear_output(wait=True)
            fig = adversarial_figure(model, xi, x_adv, classes, true=int(yi[0]), eps=e)
            display(fig)
            plt.close(fig)

    eps_slider.observe(redraw, names="value")
    picker.observe(redraw, names="value")
    redraw()
    note = W.HTML(
        "<small>Move ε or pick another image (needs a running kernel; "
        "on the static page the figure shows the default setting).</small>"
    )
    return W.VBox([W.HBox([eps_slider, picker]), note, out])
