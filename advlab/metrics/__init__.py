"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: robustness (accuracy under attack,
first success along a budget grid, class-pair success matrices), the
gradient-masking sanity checks (:func:`masking_report`), and, as the later
parts land, the one-pixel paper's four metrics.
"""

from .masking import MaskingCheck, MaskingReport, masking_report
from .table import AttackTable, attack_table

__all__ = ["AttackTable", "MaskingCheck", "MaskingReport", "attack_table", "masking_report"]
