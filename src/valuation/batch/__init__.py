"""Briefs for many targets: local worker processes or a Dask cluster, and a portfolio view.

The client validates each target's params and sends them as data
(:mod:`~valuation.batch.spec`); a worker checks the exports and the deal key where it runs,
produces the brief in a private folder and returns the published files as bytes with its
outcome (:mod:`~valuation.batch.worker`); the client writes them into its own
``outputs/<target>/`` after scanning them again (:mod:`~valuation.batch.receive`) and builds
the portfolio from them (:mod:`~valuation.batch.portfolio`). Nothing assumes a disk shared
between the client and the workers. Whatever goes wrong with one target is recorded as a
:class:`TargetOutcome` and the others go on: in local processes a killed process fails its
own target only (:mod:`~valuation.batch.local`); on Dask a lost worker's target is retried
once on another worker (:mod:`~valuation.batch.cluster`).

Examples
--------
>>> report = run_batch(discover_params(["params/"]), workers=2)  # doctest: +SKIP
>>> report.ok, report.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BatchReport": "outcome", "TargetOutcome": "outcome",
    "portfolio_entries": "portfolio", "portfolio_table": "portfolio",
    "write_portfolio": "portfolio",
    "discover_params": "run", "run_batch": "run",
    "TargetSpec": "spec",
    "PUBLISHED_FILES": "worker", "brief_runner": "worker", "run_target": "worker",
}
"""Public names and their modules, imported on first use: a worker process that runs one
target imports only what it needs (not pandas for the portfolio)."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
