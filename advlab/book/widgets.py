"""ipywidgets explorers that respond on the static page, and in a running kernel.

A static HTML page has no kernel: a control can move, but nothing can
recompute. So every explorer here *precomputes* its views over a small grid of
its controls when the chapter is executed, and switches between them in the
browser: each control's ``index`` is ``jslink``-ed to the ``selected_index`` of
an ``ipywidgets.Stack`` of views (nested Stacks for two or three controls).
This uses core ipywidgets only, so it works in the book's offline HTML, in
JupyterLab and in Colab alike. With ``live=True`` an explorer also gets free
controls that recompute any setting, for a running kernel.

:func:`precomputed_explorer` is the one mechanism; :func:`eps_explorer` and
:func:`attack_explorer` are built on it, and every later explorer should be.

Every explorer's outer box carries the CSS class ``advlab-explorer``, each
control ``advlab-control``, and each view a caption element of class
``advlab-caption`` whose ``data-advlab-setting`` attribute lists the labels of
the setting it shows (in control order): the browser test reads them to check
that moving a control shows the matching view.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeGuard

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from .._validate import (
    ArgumentError,
    ArgumentTypeError,
    check_budgets,
    check_count,
    check_eps,
    check_flag,
    check_label_range,
    check_labels,
    check_module,
    check_seed,
)
from ..attacks.registry import ATTACKS, AttackInfo
from ..attacks.result import adversarial_images
from ..train import predict
from ..viz import adversarial_figure
from ..viz._checks import check_class_index, check_classes, check_model_images

__all__ = [
    "DEFAULT_ATTACKS",
    "PrecomputedExplorer",
    "attack_explorer",
    "eps_explorer",
    "figure_png",
    "precomputed_explorer",
    "show_figure",
]

#: The attacks :func:`attack_explorer` offers by default (registry names, chapter 2's order).
DEFAULT_ATTACKS: tuple[str, ...] = ("fgsm", "bim", "pgd", "cw_l2")

#: Most views one explorer may precompute by default (each is a small PNG on the page).
MAX_VIEWS = 160

#: The resolutions a view may have, in dots per inch (the book uses 72-90).
DPI_RANGE = (10, 1000)


# ---------------------------------------------------------------- figures as PNG


def _check_dpi(dpi: object) -> int:
    """Return ``dpi`` if it is an integer in :data:`DPI_RANGE`; raise naming it otherwise."""
    lo, hi = DPI_RANGE
    if isinstance(dpi, (bool, np.bool_)) or not isinstance(dpi, numbers.Integral):
        raise ArgumentTypeError(
            f"dpi must be an integer >= {lo} and <= {hi} (dots per inch), got {type(dpi).__name__}"
        )
    if not lo <= int(dpi) <= hi:
        raise ArgumentError(
            f"dpi must be an integer >= {lo} and <= {hi} (dots per inch), got {int(dpi)}"
        )
    return int(dpi)


def _check_figure(fig: object) -> Figure:
    if not isinstance(fig, Figure):
        raise ArgumentTypeError(
            f"fig must be a matplotlib Figure (e.g. from plt.subplots()), got {type(fig).__name__}"
        )
    return fig


def figure_png(fig: Figure, *, dpi: int = 80) -> bytes:
    """Render ``fig`` to PNG bytes (tight bounding box) and close it.

    Raises
    ------
    ValueError
        If ``fig`` is not a matplotlib Figure or ``dpi`` not an integer in
        10 … 1000 (a wrong type is also a ``TypeError``); ``fig`` is then left open.
    """
    fig = _check_figure(fig)
    dpi = _check_dpi(dpi)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def show_figure(out: W.Output, fig: Figure, *, dpi: int = 80) -> None:
    """Replace what ``out`` shows by ``fig`` (as a PNG), and close ``fig``.

    The PNG is placed in ``out.outputs`` directly (not captured with
    ``with out: display(...)``), so it is part of the widget state a static page
    embeds, and it shows where no kernel captures output (e.g. in tests).

    Raises
    ------
    ValueError
        If ``out`` is not an ``ipywidgets.Output``, ``fig`` not a matplotlib
        Figure or ``dpi`` not an integer in 10 … 1000 (a wrong type is also a
        ``TypeError``).
    """
    if not isinstance(out, W.Output):
        raise ArgumentTypeError(
            f"out must be an ipywidgets.Output to show the figure in, got {type(out).__name__}"
        )
    fig = _check_figure(fig)
    dpi = _check_dpi(dpi)
    png = base64.b64encode(figure_png(fig, dpi=dpi)).decode("ascii")
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": png, "text/plain": "<Figure>"},
            "metadata": {},
        },
    )


# ---------------------------------------------------------------- the helper


def _is_number(v: object) -> TypeGuard[numbers.Real]:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _format(v: object) -> str:
    if _is_number(v) and not isinstance(v, numbers.Integral):
        return f"{float(v):g}"
    return str(v)


def _same(a: object, b: object) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    try:
        return bool(a == b)
    except Exception:  # e.g. tensors: compare by identity
        return a is b


def _check_keys(what: str, mapping: object, names: Sequence[str]) -> Mapping[str, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ArgumentTypeError(f"{what} must be a mapping from control name to value, or None")
    unknown = [k for k in mapping if k not in names]
    if unknown:
        raise ArgumentError(
            f"{what} names unknown control(s) {', '.join(map(repr, unknown))}; "
            f"the grid's controls are {', '.join(map(repr, names))}"
        )
    return mapping


class PrecomputedExplorer(W.VBox):
    """The box :func:`precomputed_explorer` returns: an ``ipywidgets.VBox`` with handles.

    Attributes
    ----------
    grid:
        Control name → the tuple of values it steps through.
    labels:
        Control name → the display text of each value.
    controls:
        Control name → its widget (a ``SelectionSlider`` or a ``Dropdown``).
    views:
        Index tuple (one index per control) → the view shown for that setting
        (a ``VBox`` of caption and content).
    links:
        The ``jslink`` s from each control's ``index`` to the ``selected_index``
        of the Stacks it drives; ``links[k]`` holds those of control ``k``.
    live_controls:
        With ``live=True``, control name → the free control that recomputes.
    """

    grid: dict[str, tuple[object, ...]]
    labels: dict[str, tuple[str, ...]]
    controls: dict[str, W.ValueWidget]
    views: dict[tuple[int, ...], W.VBox]
    links: list[list[W.Link]]
    live_controls: dict[str, W.ValueWidget]

    def __init__(self, children: Sequence[W.Widget] = (), **kwargs: Any) -> None:
        """Make a box of ``children`` (widgets), as ``ipywidgets.VBox``; the handles start empty.

        Raises
        ------
        TypeError
            If ``children`` is not a list or tuple of ipywidgets (an
            :class:`~advlab.ArgumentTypeError`). Other keywords are the VBox's traits.
        """
        if not isinstance(children, (list, tuple)):
            raise ArgumentTypeError(
                f"children must be a list of ipywidgets to stack, got {type(children).__name__}"
            )
        bad = [i for i, c in enumerate(children) if not isinstance(c, W.Widget)]
        if bad:
            raise ArgumentTypeError(
                f"children must be ipywidgets, but children[{bad[0]}] is "
                f"{type(children[bad[0]]).__name__}"
            )
        super().__init__(list(children), **kwargs)
        self.grid, self.labels, self.controls = {}, {}, {}
        self.views, self.links, self.live_controls = {}, [], {}

    def setting(self) -> dict[str, object]:
        """Return the grid setting the controls select now (name → value)."""
        return {name: self.grid[name][c.index] for name, c in self.controls.items()}


def precomputed_explorer(
    draw: Callable[..., object],
    grid: Mapping[str, Sequence[object]],
    *,
    labels: Mapping[str, Sequence[str]] | None = None,
    initial: Mapping[str, object] | None = None,
    description: Mapping[str, str] | None = None,
    caption: Callable[..., str] | None = None,
    note: str | None = None,
    live: bool = False,
    view_key: Callable[..., Hashable] | None = None,
    dpi: int = 80,
    max_views: int = MAX_VIEWS,
) -> PrecomputedExplorer:
    """Build an explorer whose views are computed now and switched in the browser, kernel or not.

    ``draw`` is called once for every setting of the grid (the Cartesian product
    of the controls' values) and its views are stacked in nested
    ``ipywidgets.Stack`` s, each ``jslink`` -ed to its control. Moving a control on
    the static HTML page therefore shows the precomputed view of the new setting.

    Parameters
    ----------
    draw:
        ``draw(**setting)`` → a matplotlib ``Figure`` (rendered to PNG at ``dpi``
        and closed here), an ipywidget, or an HTML string.
    grid:
        Control name (a Python identifier: it is passed as a keyword to ``draw``)
        → its values, in order; one, two or three controls. Controls whose values
        are all numbers become sliders over the values (with the value's label as
        readout), the others dropdowns.
    labels:
        Control name → display text of each value (default: the value, formatted
        with ``:g`` for floats). Labels of one control must be distinct.
    initial:
        Control name → the value shown first (default: each control's first value).
    description:
        Control name → the text beside the control (default: the name).
    caption:
        ``caption(**setting)`` → the text shown above each view (default: every
        control's description and label, e.g. ``"eps: 0.1 · image: 3"``).
    note:
        A sentence under the controls that says what the static page covers; by
        default one is written from the grid's size. ``""`` shows none.
    live:
        Also show free controls (under the grid) that call ``draw`` for any
        value in each numeric control's range, and any value of the others: for
        a running kernel. On a static page they would not respond, so the book
        passes ``live=False`` (``advlab.book.settings.settings().live``).
    view_key:
        ``view_key(**setting)`` → a hashable key; settings with equal keys share
        one drawn view (e.g. an ε that an attack ignores). Default: every setting
        is drawn.
    dpi:
        Resolution of figure views; keep it small (72–90) so pages stay light.
    max_views:
        The most settings the grid may have (each is a view embedded in the page).

    Returns
    -------
    PrecomputedExplorer
        A ``VBox``: the controls, the note, the views (and the live controls).

    Raises
    ------
    TypeError
        If ``draw`` or ``caption`` is not callable, ``grid`` is not a mapping,
        ``live`` is not a bool, or ``draw`` returns something that is not a
        Figure, a widget or a string.
    ValueError
        If the grid has no control or more than three, a name that is not an
        identifier, a control with no values or repeated labels, more than
        ``max_views`` settings, or ``labels``/``initial``/``description`` refer
        to unknown controls, have the wrong length, or an initial value not in
        the grid.
    """
    _check_explorer_args(
        draw, caption=caption, view_key=view_key, live=live, grid=grid, note=note, dpi=dpi
    )
    names, values = _grid_values(grid, max_views=max_views)
    labels_in = _check_keys("labels", labels, names)
    initial_in = _check_keys("initial", initial, names)
    desc_in = _check_keys("description", description, names)
    shown = _grid_labels(names, values, labels_in)
    start = _start_indices(names, values, shown, initial_in)
    desc = {name: str(desc_in.get(name, name)) for name in names}
    controls = _grid_controls(names, values, shown, start, desc=desc)
    views = _draw_views(
        draw, names, values, shown, desc, caption=caption, view_key=view_key, dpi=dpi
    )
    links: list[list[W.Link]] = [[] for _ in names]
    view_area = _stack_views(names, values, views, controls, start=start, links=links)
    if note is None:
        sizes = " × ".join(f"{len(values[n])} {desc[n]}" for n in names)
        note = (
            f"On this page: {sizes}, precomputed when the book was built. "
            "In a running notebook every value can be computed."
        )
    parts: list[W.Widget] = [W.HBox(list(controls.values()))]
    if note:
        parts.append(W.HTML(f"<small>{html.escape(note)}</small>"))
    parts.append(view_area)
    live_controls: dict[str, W.ValueWidget] = {}
    if live:
        parts.append(
            _live_part(draw, names, values, start, desc=desc, dpi=dpi, live_controls=live_controls)
        )

    box = PrecomputedExplorer(parts)
    box.add_class("advlab-explorer")
    box.grid, box.labels, box.controls = values, shown, controls
    box.views, box.links, box.live_controls = views, links, live_controls
    return box


def _check_explorer_args(
    draw: object,
    *,
    caption: object,
    view_key: object,
    live: object,
    grid: object,
    note: object,
    dpi: object,
) -> None:
    """Raise :func:`precomputed_explorer`'s errors for its arguments other than the grid's."""
    if not callable(draw):
        raise ArgumentTypeError(
            "draw must be a function draw(**setting) -> Figure, widget or HTML str"
        )
    if caption is not None and not callable(caption):
        raise ArgumentTypeError("caption must be a function caption(**setting) -> str, or None")
    if view_key is not None and not callable(view_key):
        raise ArgumentTypeError(
            "view_key must be a function view_key(**setting) -> hashable, or None"
        )
    if not isinstance(live, bool):
        raise ArgumentTypeError(f"live must be True or False, got {live!r}")
    if not isinstance(grid, Mapping):
        raise ArgumentTypeError("grid must map each control name to its list of values")
    if not 1 <= len(grid) <= 3:
        raise ArgumentError(f"grid must have 1, 2 or 3 controls, got {len(grid)}")
    if note is not None and not isinstance(note, str):
        raise ArgumentTypeError("note must be a string or None")
    _check_dpi(dpi)


def _grid_values(
    grid: Mapping[str, Sequence[object]], *, max_views: int
) -> tuple[list[str], dict[str, tuple[object, ...]]]:
    """Return the grid's control names and each one's values, checked."""
    max_views = check_count(max_views, "max_views")
    names = list(grid)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ArgumentError(f"control names must be Python identifiers, got {name!r}")
    values: dict[str, tuple[object, ...]] = {}
    for name in names:
        vals = grid[name]
        if isinstance(vals, (str, bytes, Mapping)) or not hasattr(vals, "__iter__"):
            raise ArgumentTypeError(
                f"grid[{name!r}] must be a list of values, got {type(vals).__name__}"
            )
        values[name] = tuple(vals)
        if len(values[name]) == 0:
            raise ArgumentError(f"grid[{name!r}] has no values; give at least one")
    n_views = math.prod(len(v) for v in values.values())
    if n_views > max_views:
        sizes = " × ".join(str(len(v)) for v in values.values())
        raise ArgumentError(
            f"the grid has {sizes} = {n_views} settings, more than max_views={max_views}; "
            "use fewer values (every view is embedded in the page)"
        )
    return names, values


def _grid_labels(
    names: list[str], values: dict[str, tuple[object, ...]], labels_in: Mapping[str, Any]
) -> dict[str, tuple[str, ...]]:
    """Return each control's display text per value (given or formatted), checked."""
    shown: dict[str, tuple[str, ...]] = {}
    for name in names:
        if name in labels_in:
            lab = tuple(labels_in[name])
            if len(lab) != len(values[name]) or not all(isinstance(s, str) for s in lab):
                raise ArgumentError(
                    f"labels[{name!r}] must give one string per value ({len(values[name])})"
                )
        else:
            lab = tuple(_format(v) for v in values[name])
        if len(set(lab)) != len(lab):
            raise ArgumentError(f"the labels of control {name!r} must be distinct, got {list(lab)}")
        shown[name] = lab
    return shown


def _start_indices(
    names: list[str],
    values: dict[str, tuple[object, ...]],
    shown: dict[str, tuple[str, ...]],
    initial_in: Mapping[str, Any],
) -> dict[str, int]:
    """Return the index of each control's first shown value (``initial``'s, or 0)."""
    start: dict[str, int] = {}
    for name in names:
        if name in initial_in:
            hits = [i for i, v in enumerate(values[name]) if _same(v, initial_in[name])]
            if not hits:
                raise ArgumentError(
                    f"initial[{name!r}] = {initial_in[name]!r} is not one of the grid's values "
                    f"{list(shown[name])}"
                )
            start[name] = hits[0]
        else:
            start[name] = 0
    return start


def _grid_controls(
    names: list[str],
    values: dict[str, tuple[object, ...]],
    shown: dict[str, tuple[str, ...]],
    start: dict[str, int],
    *,
    desc: dict[str, str],
) -> dict[str, W.ValueWidget]:
    """Return the controls: sliders over the value index for numbers, dropdowns otherwise."""
    controls: dict[str, W.ValueWidget] = {}
    for name in names:
        numeric = all(_is_number(v) for v in values[name])
        cls = W.SelectionSlider if numeric and len(values[name]) > 1 else W.Dropdown
        control = cls(
            options=list(shown[name]),
            index=start[name],
            description=desc[name],
            style={"description_width": "initial"},
        )
        control.add_class("advlab-control")
        controls[name] = control
    return controls


def _draw_views(
    draw: Callable[..., object],
    names: list[str],
    values: dict[str, tuple[object, ...]],
    shown: dict[str, tuple[str, ...]],
    desc: dict[str, str],
    *,
    caption: Callable[..., str] | None,
    view_key: Callable[..., Hashable] | None,
    dpi: int,
) -> dict[tuple[int, ...], W.VBox]:
    """Return the views, one per setting (caption above content), drawn once per view key."""
    cache: dict[Hashable, W.Widget] = {}
    views: dict[tuple[int, ...], W.VBox] = {}
    for idx in itertools.product(*(range(len(values[n])) for n in names)):
        setting = {n: values[n][i] for n, i in zip(names, idx, strict=True)}
        key = view_key(**setting) if view_key is not None else idx
        if key not in cache:
            cache[key] = _as_widget(draw(**setting), dpi)
        if caption is not None:
            text = caption(**setting)
            if not isinstance(text, str):
                raise ArgumentTypeError(f"caption must return a string, got {type(text).__name__}")
        else:
            text = " · ".join(f"{desc[n]}: {shown[n][i]}" for n, i in zip(names, idx, strict=True))
        data = json.dumps([shown[n][i] for n, i in zip(names, idx, strict=True)])
        cap = W.HTML(
            f'<div class="advlab-caption" data-advlab-setting="{html.escape(data)}">'
            f"{html.escape(text)}</div>"
        )
        views[idx] = W.VBox([cap, cache[key]])
    return views


def _stack_views(
    names: list[str],
    values: dict[str, tuple[object, ...]],
    views: dict[tuple[int, ...], W.VBox],
    controls: dict[str, W.ValueWidget],
    *,
    start: dict[str, int],
    links: list[list[W.Link]],
) -> W.Widget:
    """Nest the views in Stacks, one level per control, each jslinked to its control."""

    def stack(level: int, prefix: tuple[int, ...]) -> W.Widget:
        if level == len(names):
            return views[prefix]
        name = names[level]
        children = [stack(level + 1, (*prefix, i)) for i in range(len(values[name]))]
        st = W.Stack(children, selected_index=start[name])
        links[level].append(W.jslink((controls[name], "index"), (st, "selected_index")))
        return st

    return stack(0, ())


def _as_widget(view: object, dpi: int) -> W.Widget:
    if isinstance(view, Figure):
        return W.Image(value=figure_png(view, dpi=dpi), format="png")
    if isinstance(view, W.Widget):
        return view
    if isinstance(view, str):
        return W.HTML(view)
    raise ArgumentTypeError(
        f"draw must return a matplotlib Figure, an ipywidget or an HTML string, "
        f"got {type(view).__name__}"
    )


def _live_part(
    draw: Callable[..., object],
    names: list[str],
    values: dict[str, tuple[object, ...]],
    start: dict[str, int],
    *,
    desc: dict[str, str],
    dpi: int,
    live_controls: dict[str, W.ValueWidget],
) -> W.VBox:
    """Free controls and an Output that redraws on change (needs a kernel)."""
    for name in names:
        vals = values[name]
        ints = [v for v in vals if isinstance(v, numbers.Integral) and not isinstance(v, bool)]
        reals = [v for v in vals if _is_number(v)]
        if len(ints) == len(vals):
            ctl: W.ValueWidget = W.IntSlider(
                value=int(ints[start[name]]),
                min=int(min(ints)),
                max=int(max(ints)),
                description=desc[name],
            )
        elif len(reals) == len(vals) and len(vals) > 1:
            lo, hi = float(min(reals)), float(max(reals))
            ctl = W.FloatSlider(
                value=float(reals[start[name]]),
                min=lo,
                max=hi,
                step=(hi - lo) / 100,
                description=desc[name],
            )
        else:
            ctl = W.Dropdown(
                options=[(_format(v), v) for v in vals], index=start[name], description=desc[name]
            )
        ctl.continuous_update = False
        live_controls[name] = ctl
    out = W.Output()

    def redraw(*_: object) -> None:
        view = draw(**{n: c.value for n, c in live_controls.items()})
        if isinstance(view, Figure):
            show_figure(out, view, dpi=dpi)
        else:
            out.outputs = ()
            out.append_display_data(_as_widget(view, dpi))

    for ctl in live_controls.values():
        ctl.observe(redraw, names="value")
    redraw()
    head = W.HTML("<small>Any setting (recomputed by the running kernel):</small>")
    return W.VBox([head, W.HBox(list(live_controls.values())), out])


# ---------------------------------------------------------------- the book's explorers


def _check_candidates(model: object, x: object, y: object, index: object, classes: object) -> int:
    """Check an explorer's model, candidates and class names; return ``index`` as an int.

    One forward pass on the first image reads the number of logits K, so that
    ``classes`` (one name per logit) and the labels (in [0, K)) are checked too.
    """
    net = check_module(model)
    x = check_model_images(x, "x")
    if not isinstance(y, Tensor):
        raise ArgumentTypeError(
            f"y must be a tensor that holds one label per image, shape ({len(x)},), "
            f"got {type(y).__name__}"
        )
    if y.shape != (len(x),):
        raise ArgumentError(
            f"y must hold one label per image, shape ({len(x)},), got {tuple(y.shape)}"
        )
    y = check_labels(y, x)
    index = check_count(index, "index", minimum=0)
    if index >= len(x):
        raise ArgumentError(f"index must be an integer in [0, {len(x) - 1}], got {index}")
    check_classes(classes)
    k = predict(net, x[:1]).shape[1]
    check_classes(classes, k)
    check_label_range(y, k)
    return index


def _check_eps_values(eps_values: object, eps: object) -> tuple[tuple[float, ...], float | None]:
    """Return the grid's budgets (increasing, >= 0) and ``eps`` (one of them, or None)."""
    vals = tuple(check_budgets(eps_values, "eps_values", increasing=True))
    if eps is None:
        return vals, None
    e = check_eps(eps)
    if not any(math.isclose(e, v) for v in vals):
        raise ArgumentError(f"eps={e} is not one of eps_values {vals}; add it or pick one of them")
    return vals, e


def eps_explorer(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    classes: Sequence[str],
    *,
    attack: Callable[..., Tensor] | None = None,
    eps_values: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4),
    eps: float | None = None,
    index: int = 0,
    live: bool = False,
    dpi: int = 72,
) -> PrecomputedExplorer:
    """ε slider and image picker over ``attack(model, x, y, eps=...)`` (FGSM by default).

    Each view shows the clean image, the perturbation and the adversarial image,
    with the model's class probabilities for each. The views for every ε in
    ``eps_values`` and every candidate image are computed here (one batched
    attack per ε), so they switch on the static page.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    x, y:
        Candidate images (N, C, H, W) in [0, 1] on the model's device, and their
        true labels (N,). Keep N small (≈ 6–8): every image × ε is a view.
    classes:
        Class names, one per logit.
    attack:
        An attack with advlab's call shape that takes ``eps``; default :func:`advlab.fgsm`.
    eps_values:
        The L∞ budgets of the grid, pixel units, increasing.
    eps:
        The budget shown first (one of ``eps_values``; default the first).
    index:
        The candidate image shown first.
    live:
        Add free controls that recompute any ε (for a running kernel).
    dpi:
        Resolution of the views.

    Returns
    -------
    PrecomputedExplorer
        See :func:`precomputed_explorer`.

    Raises
    ------
    ValueError
        For ``x``/``y`` of mismatched shapes, ``index`` out of range, ``eps_values``
        not increasing non-negative numbers, or ``eps`` not among them.
    """
    from ..attacks import fgsm

    attack = fgsm if attack is None else attack
    if not callable(attack):
        raise ArgumentTypeError("attack must be an attack function taking eps=")
    index = _check_candidates(model, x, y, index, classes)
    vals, eps = _check_eps_values(eps_values, eps)
    live = check_flag(live, "live")
    dpi = _check_dpi(dpi)
    adv: dict[float, Tensor] = {}

    def adversarial(e: float) -> Tensor:
        if e not in adv:
            adv[e] = attack(model, x, y, eps=e)
        return adv[e]

    def draw(eps: float, image: int) -> Figure:
        if eps in vals:
            x_adv = adversarial(eps)[image]
        else:  # live: a value off the grid
            x_adv = attack(model, x[image : image + 1], y[image : image + 1], eps=eps)[0]
        return adversarial_figure(model, x[image], x_adv, classes, true=int(y[image]), eps=eps)

    def caption(eps: float, image: int) -> str:
        pred = int(predict(model, adversarial(eps)[image : image + 1]).argmax(dim=1)[0])
        true = int(y[image])
        verdict = "still right" if pred == true else f"now “{classes[pred]}”"
        return f"ε = {eps:g}, image {image} (a “{classes[true]}”): {verdict}"

    return precomputed_explorer(
        draw,
        {"eps": vals, "image": list(range(len(x)))},
        initial={"eps": vals[0] if eps is None else eps, "image": index},
        description={"eps": "ε", "image": "image"},
        caption=caption,
        note=(
            f"On this page: {len(vals)} values of ε × {len(x)} images, precomputed when the "
            "book was built. In a running notebook (live=True) any ε and any image can be tried."
        ),
        live=live,
        dpi=dpi,
    )


def _resolve_attacks(attacks: object) -> list[AttackInfo]:
    if attacks is not None and (
        isinstance(attacks, (str, bytes)) or not isinstance(attacks, Sequence)
    ):
        raise ArgumentTypeError(
            "attacks must be a list of registered attack names or AttackInfo s, "
            f"e.g. ['fgsm', 'pgd'], or None, got {type(attacks).__name__}"
        )
    chosen = list(DEFAULT_ATTACKS if attacks is None else attacks)
    if not chosen:
        raise ArgumentError("attacks must name at least one attack")
    infos: list[AttackInfo] = []
    for a in chosen:
        if isinstance(a, AttackInfo):
            infos.append(a)
        elif isinstance(a, str) and a in ATTACKS:
            infos.append(ATTACKS[a])
        else:
            by_title = [i for i in ATTACKS.values() if isinstance(a, str) and i.label == a]
            if not by_title:
                raise ArgumentError(
                    f"unknown attack {a!r}; use a registered name ({', '.join(ATTACKS)}) "
                    "or an AttackInfo"
                )
            infos.append(by_title[0])
    titles = [i.label for i in infos]
    if len(set(titles)) != len(titles):
        raise ArgumentError(f"attacks must have distinct titles, got {titles}")
    return infos


def _targetable(infos: list[AttackInfo], target: int | None) -> list[AttackInfo]:
    """Return the attacks that can reach ``target`` (all of them if it is None)."""
    if target is not None:
        infos = [i for i in infos if i.targeted]
        if not infos:
            raise ArgumentError("none of the chosen attacks can be targeted; use target=None")
    return infos


def _first_attack(infos: list[AttackInfo], attack: str | None) -> AttackInfo:
    """Return the attack shown first: ``attack`` by registry name or title, or the first one."""
    if attack is None:
        return infos[0]
    if not isinstance(attack, str):
        raise ArgumentTypeError(
            f"attack must be the name or title of the attack shown first (e.g. 'pgd'), or None, "
            f"got {type(attack).__name__}"
        )
    hits = [i for i in infos if attack in (i.name, i.label)]
    if not hits:
        raise ArgumentError(
            f"unknown attack {attack!r}; choose one of {', '.join(i.name for i in infos)}"
        )
    return hits[0]


def _attack_note(
    infos: list[AttackInfo], vals: tuple[float, ...], *, steps: int, n_images: int
) -> str:
    """Return the sentence under :func:`attack_explorer`'s controls: what the page covers."""
    any_eps = any(i.takes_eps for i in infos)
    sizes = f"{len(infos)} attacks" + (f" × {len(vals)} values of ε" if any_eps else "")
    details = []
    if any(i.takes_eps and i.takes_steps for i in infos):
        details.append(f"{steps} steps for the iterative attacks")
    details += [f"{i.label} takes no ε" for i in infos if not i.takes_eps]
    return (
        f"On this page: {sizes} × {n_images} images"
        + (f" ({'; '.join(details)})" if details else "")
        + ", precomputed when the book was built. In a running notebook, live=True recomputes "
        "any ε and image, and steps= and target= choose the rest."
    )


class _AttackViews:
    """:func:`attack_explorer`'s views: each attack run once per ε on all images, then drawn."""

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        classes: Sequence[str],
        infos: list[AttackInfo],
        *,
        vals: tuple[float, ...],
        steps: int,
        target: int | None,
        seed: int,
    ) -> None:
        self.model, self.x, self.y, self.classes = model, x, y, classes
        self.by_title = {i.label: i for i in infos}
        self.vals, self.steps, self.target, self.seed = vals, steps, target, seed
        self.labels_y = y if target is None else torch.full_like(y, target)
        self.adv: dict[tuple[str, float | None], Tensor] = {}

    def run(self, info: AttackInfo, e: float | None, xs: Tensor, ys: Tensor) -> Tensor:
        """Run ``info``'s attack at budget ``e`` on ``xs`` and return the adversarial images."""
        kwargs: dict[str, object] = {}
        if info.takes_eps:
            kwargs["eps"] = e
            if info.takes_steps:
                kwargs["steps"] = self.steps
        if info.randomised:
            kwargs["seed"] = self.seed
        if self.target is not None:
            kwargs["targeted"] = True
        out = info.fn(self.model, xs, ys, **kwargs)
        return adversarial_images(out, xs)

    def adversarial(self, info: AttackInfo, e: float | None) -> Tensor:
        """Return ``info``'s adversarial images of every candidate at ``e`` (run once)."""
        key = (info.name, e if info.takes_eps else None)
        if key not in self.adv:
            self.adv[key] = self.run(info, key[1], self.x, self.labels_y)
        return self.adv[key]

    def describe(self, info: AttackInfo, e: float | None) -> str:
        """Return the attack and its budget in words."""
        if not info.takes_eps:
            return f"{info.label} (no ε: it looks for the smallest perturbation)"
        more = f", {self.steps} steps" if info.takes_steps else ""
        return f"{info.label}, ε = {e:g}{more}"

    def draw(self, image: int, attack: str, eps: float | None = None) -> Figure:
        """Draw one view: the image, its adversarial version and the probabilities."""
        info = self.by_title[attack]
        xi = self.x[image : image + 1]
        if eps is None or any(math.isclose(eps, v) for v in self.vals) or not info.takes_eps:
            x_adv = self.adversarial(info, eps)[image : image + 1]
        else:  # live: a budget off the grid
            x_adv = self.run(info, eps, xi, self.labels_y[image : image + 1])
        shown_eps = eps if info.takes_eps else None
        fig = adversarial_figure(
            self.model, xi, x_adv, self.classes, true=int(self.y[image]), eps=shown_eps
        )
        fig.suptitle(self.describe(info, eps), fontsize=11)
        return fig

    def caption(self, image: int, attack: str, eps: float | None = None) -> str:
        """Return the text above one view: the setting and whether the model was fooled."""
        info = self.by_title[attack]
        x_adv = self.adversarial(info, eps)[image : image + 1]
        pred = int(predict(self.model, x_adv).argmax(dim=1)[0])
        true = int(self.y[image])
        classes, target = self.classes, self.target
        if target is not None:
            verdict = f"target “{classes[target]}” " + ("reached" if pred == target else "missed")
        else:
            verdict = "not fooled" if pred == true else f"fooled: “{classes[pred]}”"
        return f"{self.describe(info, eps)}; image {image} (a “{classes[true]}”): {verdict}"

    def view_key(self, image: int, attack: str, eps: float | None = None) -> Hashable:
        """Return the key of one view: settings whose attack ignores ε share one."""
        return (attack, eps if self.by_title[attack].takes_eps else None, image)


def attack_explorer(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    classes: Sequence[str],
    *,
    attacks: Sequence[str | AttackInfo] | None = None,
    attack: str | None = None,
    eps_values: Sequence[float] = (0.05, 0.1, 0.15, 0.2, 0.3),
    eps: float | None = None,
    steps: int = 10,
    target: int | None = None,
    index: int = 0,
    seed: int = 0,
    live: bool = False,
    dpi: int = 72,
) -> PrecomputedExplorer:
    """Pick an attack, ε and an image; see the adversarial image and the model's probabilities.

    The controls come from the attack registry (:mod:`advlab.attacks.registry`):
    a dropdown of the attacks, an ε slider if any of them takes a budget (an
    attack that does not, like CW-L2, shows the same view for every ε and says
    so), and an image slider. Every view is precomputed, one batched attack per
    attack and ε, so the explorer responds on the static page.

    Parameters
    ----------
    model:
        Classifier returning logits for images in [0, 1].
    x, y:
        Candidate images (N, C, H, W) in [0, 1] on the model's device, and their
        true labels (N,). Keep N small (≈ 5–6): every attack × ε × image is a view.
    classes:
        Class names, one per logit.
    attacks:
        Registry names (or :class:`~advlab.attacks.registry.AttackInfo` s for attacks
        of your own); default FGSM, BIM, PGD and CW-L2.
    attack:
        The attack shown first, by registry name or title (``"pgd"`` or ``"PGD"``).
    eps_values:
        L∞/L2 budgets of the grid in pixel units (in the attack's own norm), increasing.
    eps:
        The budget shown first (one of ``eps_values``; default the first).
    steps:
        Iterations of the budgeted iterative attacks (BIM, PGD). Minimum-distance
        attacks (CW-L2) keep their own defaults.
    target:
        ``None`` for untargeted attacks, else the class every attack should
        reach (``targeted=True``; attacks that cannot be targeted are left out).
    index:
        The candidate image shown first.
    seed:
        Seed for randomised attacks (PGD's random start), so views are reproducible.
    live:
        Add free controls that recompute any ε and image (for a running kernel).
    dpi:
        Resolution of the views.

    Returns
    -------
    PrecomputedExplorer
        See :func:`precomputed_explorer`.

    Raises
    ------
    ValueError
        For an unknown attack name, an empty ``attacks``, a ``target`` or ``index``
        out of range, bad ``eps_values``/``eps``, ``steps`` < 1, or ``x``/``y`` of
        mismatched shapes.
    """
    infos = _resolve_attacks(attacks)
    index = _check_candidates(model, x, y, index, classes)
    target = check_class_index(target, "target", len(classes))
    infos = _targetable(infos, target)
    steps = check_count(steps, "steps")
    vals, eps = _check_eps_values(eps_values, eps)
    seed = check_seed(seed)
    live = check_flag(live, "live")
    dpi = _check_dpi(dpi)
    first = _first_attack(infos, attack)
    any_eps = any(i.takes_eps for i in infos)
    views = _AttackViews(
        model, x, y, classes, infos, vals=vals, steps=steps, target=target, seed=seed
    )
    grid: dict[str, Sequence[object]] = {"attack": [i.label for i in infos]}
    initial: dict[str, object] = {"attack": first.label, "image": index}
    if any_eps:
        grid["eps"] = vals
        initial["eps"] = vals[0] if eps is None else eps
    grid["image"] = list(range(len(x)))
    note = _attack_note(infos, vals, steps=steps, n_images=len(x))
    return precomputed_explorer(
        views.draw,
        grid,
        initial=initial,
        description={
            k: v for k, v in (("attack", "attack"), ("eps", "ε"), ("image", "image")) if k in grid
        },
        caption=views.caption,
        note=note,
        live=live,
        view_key=views.view_key,
        dpi=dpi,
    )
