"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: robustness (accuracy under attack,
first success along a budget grid, class-pair success matrices), the
smallest budget per image (:func:`smallest_budget`), and, as the later parts
land, the masking sanity checks and the one-pixel paper's four metrics.
"""

from .budget import BudgetSearch, smallest_budget

__all__: list[str] = ["BudgetSearch", "smallest_budget"]
