"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: :mod:`~advlab.metrics.robustness` (accuracy
under attack, logit margins, the first budget that fools along a grid, targeted
success by class pair), :mod:`~advlab.metrics.budget` (the smallest budget per
image, refined by bisection), and, as the later parts land, the masking sanity
checks and the one-pixel paper's four metrics.
"""

from .budget import BudgetSearch, smallest_budget
from .robustness import first_success, margin_at, robust_accuracy, success_matrix

__all__ = [
    "BudgetSearch",
    "first_success",
    "margin_at",
    "robust_accuracy",
    "smallest_budget",
    "success_matrix",
]
