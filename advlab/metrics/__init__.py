"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: robustness (accuracy under attack,
first success along a budget grid, class-pair success matrices), and, as the
later parts land, the masking sanity checks and the one-pixel paper's four
metrics (:mod:`advlab.metrics.one_pixel`).
"""

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

__all__: list[str] = [
    "adversarial_class_counts",
    "adversarial_probability_label",
    "all_targets",
    "class_pair_counts",
    "class_pair_success",
    "one_pixel_summary",
    "success_rate",
    "target_class_counts",
]
