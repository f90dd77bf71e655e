"""The portfolio of a batch: from the outcomes to :mod:`valuation.report.portfolio`.

Built on the client from each brief's ``results.json`` as returned by the workers and written
into the client's own ``outputs/<target>/`` (see :mod:`valuation.batch.receive`); rendering,
escaping, CSV neutralisation, scanning and the atomic write live in the report layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from valuation.batch.outcome import TargetOutcome


def portfolio_entries(outcomes: Sequence["TargetOutcome"]) -> list[dict[str, Any]]:
    """Each target's results.json (with where its brief is, and its run time), or its
    failure record: the input of :mod:`valuation.report.portfolio`."""
    from valuation.report.results import read_results

    entries: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"target": outcome.target, "seconds": round(outcome.seconds, 1)}
        if outcome.ok and outcome.output_dir:
            entry.update(read_results(Path(outcome.output_dir) / "results.json"))
            entry.update(status="ok", brief_path=str(Path(outcome.output_dir) / "brief.html"))
        else:
            entry.update(status="failed", error=outcome.error)
        entries.append(entry)
    return entries


def portfolio_table(outcomes: Sequence["TargetOutcome"],
                    out_dir: str | Path = ".") -> "pd.DataFrame":
    """One row per target (see :func:`valuation.report.portfolio.portfolio_frame`)."""
    from valuation.report.portfolio import portfolio_frame

    return portfolio_frame(portfolio_entries(outcomes), out_dir)


def write_portfolio(outcomes: Sequence["TargetOutcome"], out_dir: str | Path,
                    lang: str = "en") -> tuple[Path, Path]:
    """Write ``portfolio.html`` and ``portfolio.csv`` to ``out_dir`` in ``lang`` ("en"/"zh")
    (:func:`valuation.report.portfolio.write_portfolio`: escaped, scanned, atomic)."""
    from valuation.report import portfolio

    return portfolio.write_portfolio(portfolio_entries(outcomes), out_dir, lang=lang)
