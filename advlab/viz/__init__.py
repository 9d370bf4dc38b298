"""Matplotlib figures used by the book. Every function returns the Figure it drew.

Split by topic; every figure is re-exported here, so ``advlab.viz.gallery`` and
``from advlab.viz import gallery`` work whichever module holds it:

:mod:`advlab.viz.images`
    images, probability bars, clean-versus-adversarial panels, galleries;
:mod:`advlab.viz.curves`
    line plots: training curves, quantities against ε or a dimension;
:mod:`advlab.viz.matrices`
    heat-maps (class pairs);
:mod:`advlab.viz.one_pixel`
    differential evolution's population on a contour plot, one-pixel results,
    the paper's class-pair heat-maps and success distributions.
"""

from .curves import (
    accuracy_confidence_figure,
    linearity_figure,
    norm_comparison_figure,
    plot_curves,
)
from .images import (
    adversarial_figure,
    attack_comparison_figure,
    gallery,
    image_to_numpy,
    probability_bars,
    show_image,
)
from .matrices import targeted_success_figure
from .one_pixel import (
    adversarial_class_figure,
    class_pair_figure,
    class_pair_heatmap,
    de_population_figure,
    one_pixel_figure,
    target_class_count_figure,
)

__all__ = [
    "accuracy_confidence_figure",
    "adversarial_class_figure",
    "adversarial_figure",
    "attack_comparison_figure",
    "class_pair_figure",
    "class_pair_heatmap",
    "de_population_figure",
    "gallery",
    "image_to_numpy",
    "linearity_figure",
    "norm_comparison_figure",
    "one_pixel_figure",
    "plot_curves",
    "probability_bars",
    "show_image",
    "target_class_count_figure",
    "targeted_success_figure",
]
