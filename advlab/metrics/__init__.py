"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: :mod:`~advlab.metrics.robustness` (accuracy
under attack, logit margins, the first budget that fools along a grid, targeted
success by class pair), :mod:`~advlab.metrics.budget` (the smallest budget per
image, refined by bisection), :mod:`~advlab.metrics.one_pixel` (the one-pixel
paper's four metrics), and, as Part III lands, the masking sanity checks.
"""

from .budget import BudgetSearch, smallest_budget
from .one_pixel import (
    adversarial_class_counts,
    adversarial_probability_label,
    all_targets,
    class_pair_counts,
    class_pair_success,
    one_pixel_summary,
    success_rate,
    target_class_counts,
)
from .robustness import first_success, margin_at, robust_accuracy, success_matrix

__all__: list[str] = [
    "BudgetSearch",
    "adversarial_class_counts",
    "adversarial_probability_label",
    "all_targets",
    "class_pair_counts",
    "class_pair_success",
    "first_success",
    "margin_at",
    "one_pixel_summary",
    "robust_accuracy",
    "smallest_budget",
    "success_matrix",
    "success_rate",
    "target_class_counts",
]
