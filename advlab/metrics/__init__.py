"""Metrics the chapters report, computed from models, attacks and their results.

Split by topic and re-exported here: robustness (accuracy under attack,
first success along a budget grid, class-pair success matrices), and, as the
later parts land, the masking sanity checks and the one-pixel paper's four
metrics.
"""

__all__: list[str] = []
