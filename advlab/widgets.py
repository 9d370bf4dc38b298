"""ipywidgets explorers for the book.

Each explorer redraws a matplotlib figure when a control moves. On a static
HTML page there is no kernel, so the controls move but nothing recomputes: the
figure drawn at build time stays. That is why every chapter also shows a static
figure of the default setting next to each explorer.

Figures are rendered to PNG and placed in the explorer's ``Output`` widget
directly (not captured with ``with out: display(...)``), so the widget state
that the book embeds in its static pages carries the image, and the explorers
also redraw where no kernel captures output (e.g. in tests).
"""

from __future__ import annotations

import base64
import inspect
import io
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from .attacks import bim, fgsm, pgd
from .train import predict
from .viz import adversarial_figure

__all__ = ["DEFAULT_ATTACKS", "attack_explorer", "eps_explorer", "show_figure"]

Attack = Callable[..., Tensor]

#: The L∞ attacks of chapter 2, by the names the explorer shows.
DEFAULT_ATTACKS: dict[str, Attack] = {"FGSM": fgsm, "BIM": bim, "PGD": pgd}


def show_figure(out: W.Output, fig: Figure, *, dpi: int = 100) -> None:
    """Replace what ``out`` shows by ``fig`` (as a PNG), and close ``fig``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": png, "text/plain": "<Figure>"},
            "metadata": {},
        },
    )


def _accepts(fn: Callable[..., object], name: str) -> bool:
    """Whether ``fn`` takes a keyword argument ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature: assume the common shape
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _check_candidates(x: Tensor, y: Tensor, index: int) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4 or len(x) == 0:
        raise ValueError("x must be a non-empty (N, C, H, W) tensor of candidate images")
    if not isinstance(y, Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must hold one label per image, shape ({len(x)},)")
    if not 0 <= index < len(x):
        raise ValueError(f"index must be in [0, {len(x) - 1}], got {index}")


def _eps_slider(eps: float, eps_max: float, eps_step: float) -> W.FloatSlider:
    return W.FloatSlider(
        value=eps,
        min=0.0,
        max=eps_max,
        step=eps_step,
        description="ε",
        readout_format=".2f",
        continuous_update=False,
    )


def _image_picker(index: int, n: int) -> W.IntSlider:
    return W.IntSlider(value=index, min=0, max=n - 1, description="image", continuous_update=False)


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
    _check_candidates(x, y, index)
    eps_slider = _eps_slider(eps, eps_max, eps_step)
    picker = _image_picker(index, len(x))
    out = W.Output()

    def redraw(*_: object) -> None:
        i, e = picker.value, eps_slider.value
        xi, yi = x[i : i + 1], y[i : i + 1]
        x_adv = attack(model, xi, yi, eps=e)
        show_figure(out, adversarial_figure(model, xi, x_adv, classes, true=int(yi[0]), eps=e))

    eps_slider.observe(redraw, names="value")
    picker.observe(redraw, names="value")
    redraw()
    note = W.HTML(
        "<small>Move ε or pick another image (needs a running kernel; "
        "on the static page the figure shows the default setting).</small>"
    )
    return W.VBox([W.HBox([eps_slider, picker]), note, out])


def attack_explorer(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    classes: Sequence[str],
    *,
    attacks: Mapping[str, Attack] | None = None,
    attack: str | None = None,
    eps: float = 0.1,
    eps_max: float = 0.5,
    eps_step: float = 0.01,
    steps: int = 10,
    steps_max: int = 50,
    target: int | None = None,
    index: int = 0,
    seed: int = 0,
) -> W.VBox:
    """Pick an attack, ε, the number of steps, a target class and an image; see the result.

    Each redraw runs ``attacks[name](model, x_i, label, eps=ε, ...)`` on one
    image and shows the clean image, the perturbation (amplified, with its true
    scale printed) and the adversarial image, with the model's probabilities.
    ``steps`` is passed to attacks that take it (the slider is disabled for the
    others, e.g. FGSM), ``seed`` to those that take one (PGD's random start), so
    a setting always redraws the same picture.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    x, y:
        Candidate images (N, C, H, W) in [0, 1] on the model's device, and their
        true labels (N,).
    classes:
        Class names, one per logit.
    attacks:
        Name → attack with advlab's call shape; default FGSM, BIM and PGD (L∞).
    attack:
        The name selected first (default: the first of ``attacks``).
    eps, eps_max, eps_step:
        L∞ budget in pixel units: initial value, slider maximum and step.
    steps, steps_max:
        Initial number of iterations and the slider maximum.
    target:
        ``None`` for untargeted, else the class index the attack should reach
        (``y`` then holds the targets, ``targeted=True``). If the model already
        predicts the target for the chosen image, nothing is attacked and the
        figure says so.
    index:
        Which candidate image is shown first.
    seed:
        Seed for randomised attacks.

    Returns
    -------
    ipywidgets.VBox
        The controls above an ``Output`` that holds the current figure.

    Raises
    ------
    ValueError
        For an empty or non-callable ``attacks``, an unknown ``attack`` name, a
        ``target`` or ``index`` out of range, ``eps`` outside ``[0, eps_max]``,
        ``steps`` outside ``[1, steps_max]``, or ``x``/``y`` of mismatched shapes.
    """
    attacks = dict(DEFAULT_ATTACKS if attacks is None else attacks)
    if not attacks or not all(callable(f) for f in attacks.values()):
        raise ValueError("attacks must map at least one name to an attack function")
    names = list(attacks)
    attack = names[0] if attack is None else attack
    if attack not in attacks:
        raise ValueError(f"unknown attack {attack!r}; choose one of {', '.join(names)}")
    _check_candidates(x, y, index)
    if target is not None and not (isinstance(target, int) and 0 <= target < len(classes)):
        raise ValueError(
            f"target must be None (untargeted) or a class index in [0, {len(classes) - 1}], "
            f"got {target!r}"
        )
    if not 0 <= eps <= eps_max:
        raise ValueError(f"eps must be in [0, eps_max={eps_max}], got {eps}")
    if not (isinstance(steps, int) and 1 <= steps <= steps_max):
        raise ValueError(f"steps must be an integer in [1, steps_max={steps_max}], got {steps!r}")

    attack_menu = W.Dropdown(options=names, value=attack, description="attack")
    target_menu = W.Dropdown(
        options=[("untargeted", -1)] + [(f"→ “{c}”", k) for k, c in enumerate(classes)],
        value=-1 if target is None else target,
        description="target",
    )
    eps_slider = _eps_slider(eps, eps_max, eps_step)
    steps_slider = W.IntSlider(
        value=steps, min=1, max=steps_max, description="steps", continuous_update=False
    )
    picker = _image_picker(index, len(x))
    out = W.Output()

    def redraw(*_: object) -> None:
        name, fn = attack_menu.value, attacks[attack_menu.value]
        i, e, t = picker.value, eps_slider.value, target_menu.value
        takes_steps = _accepts(fn, "steps")
        steps_slider.disabled = not takes_steps
        target_menu.disabled = not _accepts(fn, "targeted")
        targeted = t >= 0 and not target_menu.disabled
        xi, yi = x[i : i + 1], y[i : i + 1]
        kwargs: dict[str, object] = {"eps": e}
        if takes_steps:
            kwargs["steps"] = steps_slider.value
        if _accepts(fn, "seed"):
            kwargs["seed"] = seed
        what = f"{name}, ε = {e:.2f}" + (f", {steps_slider.value} steps" if takes_steps else "")
        if targeted:
            clean_pred = int(predict(model, xi).argmax(dim=1)[0])
            if clean_pred == t:
                fig = adversarial_figure(model, xi, xi, classes, true=int(yi[0]), eps=0.0)
                fig.suptitle(
                    f"the model already predicts “{classes[t]}” for this image: "
                    "pick another target or image",
                    fontsize=10,
                )
                show_figure(out, fig)
                return
            x_adv = fn(model, xi, torch.full_like(yi, t), targeted=True, **kwargs)
        else:
            x_adv = fn(model, xi, yi, **kwargs)
        pred = int(predict(model, x_adv).argmax(dim=1)[0])
        if targeted:
            verdict = f"target “{classes[t]}” " + ("reached" if pred == t else "not reached")
        else:
            verdict = "fooled" if pred != int(yi[0]) else "not fooled"
        fig = adversarial_figure(model, xi, x_adv, classes, true=int(yi[0]), eps=e)
        fig.suptitle(f"{what}: {verdict}", fontsize=11)
        show_figure(out, fig)

    for control in (attack_menu, target_menu, eps_slider, steps_slider, picker):
        control.observe(redraw, names="value")
    redraw()
    note = W.HTML(
        "<small>Pick an attack, a target and an image, move ε and the number of steps "
        "(needs a running kernel; on the static page the figure shows the default "
        "setting).</small>"
    )
    return W.VBox(
        [
            W.HBox([attack_menu, target_menu]),
            W.HBox([eps_slider, steps_slider]),
            picker,
            note,
            out,
        ]
    )
