"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: :mod:`~advlab.metrics.robustness` (accuracy
under attack, logit margins, the first budget that fools along a grid, targeted
success by class pair), and, as the later parts land, the masking sanity checks
and the one-pixel paper's four metrics.
"""

from .robustness import first_success, margin_at, robust_accuracy, success_matrix

__all__ = ["first_success", "margin_at", "robust_accuracy", "success_matrix"]
