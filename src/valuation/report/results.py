"""``results.json``: every headline number of a brief, machine-readable.

The brief notebook writes it (aggregates only) next to its figures; the runner adds how long
each step took; the batch reads it to build the portfolio comparison. The ``headline`` block
has a fixed set of keys (:data:`HEADLINE_KEYS`) so targets can be compared side by side;
stage blocks (``valuation``, ``quality``, ...) hold each stage's own ``to_json_dict()``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuation.errors import ReportError
from valuation.fileio import write_text_atomic

SCHEMA_VERSION = 1

HEADLINE_KEYS: tuple[str, ...] = (
    "customers",
    "active_customers",
    "transferable_customers",
    "consent_coverage",
    "quality_score",
    "quality_haircut",
    "equity_point",
    "equity_p10",
    "equity_p50",
    "equity_p90",
    "anchor_price",
    "target_price",
    "walk_away_price",
    "asking_price",
    "price_per_active_customer",
    "revenue_multiple_price",
    "churn_12m",
    "median_lifetime_days",
    "expected_active_12m",
    "expected_alive_12m_bgnbd",
    "earn_out_amount",
    "earn_out_expected_retained",
    "top_risks",
    # issue 16: the negotiation plan
    "counterparty_price",
    "counterparty_price_kind",
    "equity_p10_model_only",
    "equity_p90_model_only",
    "reservation_price",
    "counterparty_reservation_estimate",
    "agreement_zone_exists",
    "earn_out_status",
)
"""The headline numbers every brief reports (``None`` when a stage cannot give one)."""


def to_jsonable(value: Any) -> Any:
    """Convert numpy / pandas / date values into plain JSON values (NaN -> ``None``)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Path):
        return value.name  # never an absolute path of the analyst's machine
    if isinstance(value, pd.DataFrame):
        return [to_jsonable(row) for row in value.reset_index().to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "to_json_dict"):
        return to_jsonable(value.to_json_dict())
    raise ReportError(f"results.json: cannot store a value of type {type(value).__name__}")


def build_results(
    *,
    target: str,
    name: str,
    as_of: dt.date | str,
    side: str,
    lang: str,
    headline: Mapping[str, Any],
    sections: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the results document.

    Parameters
    ----------
    target, name, as_of, side, lang
        Identify the brief.
    headline : mapping
        Values for :data:`HEADLINE_KEYS`; unknown keys are an error, missing ones are ``None``.
    sections : mapping, optional
        Per-stage blocks (e.g. ``{"valuation": result.to_json_dict()}``).

    Returns
    -------
    dict
        JSON-ready.
    """
    unknown = sorted(set(headline) - set(HEADLINE_KEYS))
    if unknown:
        raise ReportError(
            f"results.json: unknown headline key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(HEADLINE_KEYS)}"
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "target": target,
        "name": name,
        "as_of": to_jsonable(as_of),
        "side": side,
        "lang": lang,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "headline": {key: to_jsonable(headline.get(key)) for key in HEADLINE_KEYS},
        **{key: to_jsonable(block) for key, block in (sections or {}).items()},
    }


def write_results(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write results as indented UTF-8 JSON, atomically (strict JSON: no NaN)."""
    body = json.dumps(to_jsonable(results), ensure_ascii=False, indent=2, allow_nan=False)
    return write_text_atomic(path, body + "\n")


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a ``results.json``; a clear error when it is missing or not ours."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: results.json not found; run `valuation brief` first") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON (line {exc.lineno}); re-run the brief") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(f"{path}: not a results.json of schema version {SCHEMA_VERSION}")
    return data


def add_run_info(path: str | Path, run: Mapping[str, Any]) -> Path:
    """Add the ``run`` block (timings, notices, files) to an existing results.json."""
    results = read_results(path)
    results["run"] = to_jsonable(run)
    return write_results(results, path)
