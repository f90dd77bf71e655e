"""The data review (due diligence): authenticity 真实性, completeness 完整性, consistency 一致性.

>>> report = review(load_analysis(params), params)  # doctest: +SKIP
>>> print(report.summary("zh"))  # doctest: +SKIP
>>> cleaned = clean_tables(tables, params, report)  # doctest: +SKIP

* :mod:`valuation.quality.base` -- the check record, its context and result, helpers;
* :mod:`valuation.quality.checks` -- the named checks of ``docs/contract.md`` and their
  treatments (exclude or flag);
* :mod:`valuation.quality.report` -- :func:`review`, :class:`QualityReport`, score and haircut;
* :mod:`valuation.quality.clean` -- :func:`clean_tables`, the tables the models use.
"""

from __future__ import annotations

from valuation.quality.base import Check, CheckResult
from valuation.quality.checks import CHECK_NAMES, CHECKS
from valuation.quality.clean import CleanedTables, clean_tables
from valuation.quality.report import HAIRCUT_CAP, QualityReport, review

__all__ = [
    "CHECKS", "CHECK_NAMES", "Check", "CheckResult", "CleanedTables", "HAIRCUT_CAP",
    "QualityReport", "clean_tables", "review",
]
