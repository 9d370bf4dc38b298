"""Matrices drawn as heat-maps: source × target success of targeted attacks."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from .._validate import ArgumentError
from ._checks import as_array, check_classes, check_mapping, check_title

__all__ = ["targeted_success_figure"]


def targeted_success_figure(
    success: dict[str, np.ndarray | Tensor],
    classes: Sequence[str],
    *,
    heatmap: str | None = None,
    title: str | None = None,
) -> Figure:
    """Targeted success rates: bars per target class for each attack, and one source→target map.

    ``success`` maps an attack's name to a (K, K) array whose entry ``[s, t]``
    is the fraction of images of class ``s`` that the attack turned into class
    ``t`` (NaN on the diagonal, or wherever nothing was attacked). The bars
    average over sources; the heat-map shows the attack named ``heatmap``
    (default: the last one).

    Raises
    ------
    ValueError
        If ``success`` is not a non-empty mapping of (K, K) arrays with K = len(classes),
        ``classes`` is not a sequence, or ``heatmap`` names no attack in ``success``.
    """
    check_mapping(success, "success", "attack's (K, K) success matrix")
    check_classes(classes)
    check_title(title)
    n = len(classes)
    mats = {k: as_array(v, f"success[{k!r}]", 2) for k, v in success.items()}
    for k, m in mats.items():
        if m.shape != (n, n):
            raise ArgumentError(f"success[{k!r}] must be ({n}, {n}) for {n} classes, got {m.shape}")
    heatmap = heatmap if heatmap is not None else list(mats)[-1]
    if not isinstance(heatmap, str) or heatmap not in mats:
        raise ArgumentError(f"heatmap must be one of {list(mats)}, got {heatmap!r}")
    fig, (bars, hm) = plt.subplots(
        1, 2, figsize=(10.4, 4.0), layout="constrained", gridspec_kw={"width_ratios": [1.3, 1]}
    )
    width = 0.8 / len(mats)
    pos = np.arange(n)
    for j, (name, m) in enumerate(mats.items()):
        per_target = np.nanmean(m, axis=0)
        bars.bar(pos + (j - (len(mats) - 1) / 2) * width, per_target, width, label=name)
    bars.set_xticks(pos, [str(c) for c in classes], fontsize=8)
    bars.set_xlabel("target class")
    bars.set_ylabel("success rate")
    bars.set_ylim(0, 1)
    bars.grid(alpha=0.3, axis="y")
    bars.legend(fontsize=9)
    bars.set_title("targeted success, averaged over source classes", fontsize=10)
    im = hm.imshow(mats[heatmap], vmin=0, vmax=1, cmap="viridis")
    hm.set_xticks(pos, [str(c) for c in classes], fontsize=8)
    hm.set_yticks(pos, [str(c) for c in classes], fontsize=8)
    hm.set_xlabel("target class")
    hm.set_ylabel("true (source) class")
    hm.set_title(f"{heatmap}: source → target success", fontsize=10)
    fig.colorbar(im, ax=hm, shrink=0.85, label="success rate")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
