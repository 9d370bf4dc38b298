"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: :mod:`~advlab.metrics.robustness` (accuracy
under attack, logit margins, the first budget that fools along a grid, targeted
success by class pair), :mod:`~advlab.metrics.budget` (the smallest budget per
image, refined by bisection), :mod:`~advlab.metrics.masking` (the gradient-masking
sanity checks, :func:`masking_report`), :mod:`~advlab.metrics.table` (every
model against every attack) and :mod:`~advlab.metrics.one_pixel` (the one-pixel
paper's four metrics), :mod:`~advlab.metrics.evaluation` (the standard evaluation:
the worst case over APGD-CE, APGD-DLR and Square) and :mod:`~advlab.metrics.linearity` (the margin's gradient and
how far it falls: the linearity argument of chapters 1 and 2).
"""

from .budget import BudgetSearch, smallest_budget
from .evaluation import RobustnessReport, evaluate_robustness
from .linearity import (
    DROPS,
    class_margins,
    linear_flip_budget,
    margin_drops,
    margin_gradient,
)
from .masking import MaskingCheck, MaskingReport, masking_report
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
from .robustness import first_success, margin_at, robust_accuracy, robust_mask, success_matrix
from .table import AttackTable, attack_table

__all__: list[str] = [
    "DROPS",
    "AttackTable",
    "BudgetSearch",
    "MaskingCheck",
    "MaskingReport",
    "RobustnessReport",
    "adversarial_class_counts",
    "adversarial_probability_label",
    "all_targets",
    "attack_table",
    "class_margins",
    "class_pair_counts",
    "class_pair_success",
    "evaluate_robustness",
    "first_success",
    "linear_flip_budget",
    "margin_at",
    "margin_drops",
    "margin_gradient",
    "masking_report",
    "one_pixel_summary",
    "robust_accuracy",
    "robust_mask",
    "smallest_budget",
    "success_matrix",
    "success_rate",
    "target_class_counts",
]
