"""A post-closing continuation of a sample target with a KNOWN retention (issue 19).

What the buyer would export ``months`` after closing: the same customers with the same
identifiers (so the same deal key gives the same tokens), and the orders and learning
activity since the closing date (the valuation date ``as_of``). Each customer of the
transfer roster (:func:`valuation.monitor.metric.roster_ids`) is *retained* with probability
``retention``: it keeps learning every few days up to the measurement date. The others stop
at a drawn month early enough that they are no longer retained at the measurement date
(never later than ``window_days`` before it), so the retained count at the measurement date
is exactly the drawn set. Customers off the roster get some activity too (they must not be
counted). ``ground_truth.json`` holds the retained count at every month, computed from the
written events by the metric's definition, and the drawn set's size. Counts only.

Files are Parquet with the English export headers (the ingest's built-in aliases map them):
a buyer's system is not the seller's, so the monitor reads them without the target's column
mapping.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from valuation.errors import SampleError
from valuation.fileio import write_text_atomic
from valuation.monitor.metric import events, month_dates, retained_by_month, roster_ids
from valuation.samples.export import parquet_frame
from valuation.tables import RAW_COLUMNS

TRUTH_FILE = "ground_truth.json"
EVENT_STEP_DAYS = 7
"""A retained customer learns once a week (any window of a week or more sees it)."""


def _ids(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _activity_rows(ids: list[str], starts: np.ndarray, ends: np.ndarray,
                   rng: np.random.Generator) -> pd.DataFrame:
    """Weekly events for each id between its start and end day (datetime64[D])."""
    rows_id, rows_day = [], []
    for cid, start, end in zip(ids, starts, ends):
        first = start + np.timedelta64(int(rng.integers(0, EVENT_STEP_DAYS)), "D")
        days = np.arange(first, end + np.timedelta64(1, "D"), np.timedelta64(EVENT_STEP_DAYS, "D"))
        rows_id += [cid] * len(days)
        rows_day.append(days)
    day = np.concatenate(rows_day) if rows_day else np.array([], "datetime64[D]")
    return pd.DataFrame({"customer_id": pd.array(rows_id, dtype="string"),
                         "event_date": pd.to_datetime(day), "event_type": "login",
                         "count": np.ones(len(day), "int64")})


def post_closing_tables(params, key: bytes, *, months: int, retention: float,
                        seed: int) -> tuple[dict[str, pd.DataFrame], dict]:
    """The buyer's post-closing raw tables and the ground truth (see the module doc)."""
    from valuation.ingest import read_exports
    from valuation.privacy.gate import build_customers

    if not 0.0 <= retention <= 1.0:
        raise SampleError(f"--retention must lie in [0, 1] (got {retention})")
    if months < 1:
        raise SampleError(f"--months must be at least 1 (got {months})")
    raw = read_exports(params).tables
    closing, window = params.as_of, int(params.churn.inactivity_days)
    customers = build_customers(raw["customers"], key, closing)
    customers["cid"] = _ids(raw["customers"]["customer_id"]).to_numpy()
    pre = raw["orders"].assign(customer_id=_ids(raw["orders"]["customer_id"]))
    act = raw["activity"].assign(customer_id=_ids(raw["activity"]["customer_id"]))
    roster = sorted(roster_ids(customers, pre.rename(columns={"customer_id": "cid"}),
                               act.rename(columns={"customer_id": "cid"}), "cid", closing,
                               window))
    rng = np.random.default_rng([int(seed), 19])
    kept = rng.random(len(roster)) < retention
    dates = month_dates(closing, months)
    close_day = np.datetime64(closing, "D")
    end_day = np.datetime64(dates[-1], "D")
    # the leavers' last event lies more than `window` days before the measurement date
    latest_leave = end_day - np.timedelta64(window + 1, "D")  # churned: > window days
    leave_days = np.array([close_day + np.timedelta64(int(d), "D") for d in
                           rng.integers(0, max(int((latest_leave - close_day)
                                                   / np.timedelta64(1, "D")), 0) + 1,
                                        len(roster))], "datetime64[D]")
    start = np.full(len(roster), close_day + np.timedelta64(1, "D"))
    ends = np.where(kept, end_day, leave_days)
    activity = _activity_rows(roster, start, ends, rng)
    others = sorted(set(customers["cid"].dropna()) - set(roster))
    noisy = [c for c in others if rng.random() < 0.3]
    activity = pd.concat([activity, _activity_rows(
        noisy, np.full(len(noisy), start[0] if len(start) else close_day),
        np.full(len(noisy), end_day), rng)], ignore_index=True)
    buyers = [c for c, k in zip(roster, kept) if k and rng.random() < 0.5]
    order_days = close_day + rng.integers(1, max((end_day - close_day).astype(int), 2),
                                          len(buyers)).astype("timedelta64[D]")
    orders = pd.DataFrame({
        "order_id": [f"PC{n:07d}" for n in range(1, len(buyers) + 1)],
        "customer_id": buyers, "course": "Continuing course", "category": "continuing",
        "order_date": pd.to_datetime(order_days), "amount": 1990.0, "refund_amount": 0.0,
        "payment_plan": "full"})
    tables = {"customers": raw["customers"],
              "orders": orders.astype(RAW_COLUMNS["orders"]),
              "activity": activity.astype(RAW_COLUMNS["activity"])}
    by_month = retained_by_month(events(tables["orders"], tables["activity"], "customer_id"),
                                 set(roster), closing, months, window)
    truth = {
        "target": params.target, "kind": "post_closing_continuation", "seed": int(seed),
        "closing_date": closing.isoformat(), "months": int(months),
        "measurement_date": dates[-1].isoformat(), "window_days": window,
        "retention_probability": float(retention), "roster_customers": len(roster),
        "retained_drawn": int(kept.sum()),
        "retained_at_measurement": int(by_month["retained"].iloc[-1]),
        "retained_by_month": by_month.to_dict(orient="records"),
        "counts": {t: int(len(f)) for t, f in tables.items()},
    }
    return tables, truth


def write_post_closing(params, key: bytes, out: str | Path, *, months: int = 12,
                       retention: float = 0.6, seed: int = 19) -> Path:
    """Write the buyer's exports (Parquet) and ``ground_truth.json`` into ``out``."""
    tables, truth = post_closing_tables(params, key, months=months, retention=retention,
                                        seed=seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for table, frame in tables.items():
        parquet_frame(table, frame, "en").to_parquet(out / f"{table}.parquet", index=False)
    write_text_atomic(out / TRUTH_FILE, json.dumps(truth, indent=2) + "\n")
    return out


__all__ = ["TRUTH_FILE", "post_closing_tables", "write_post_closing"]
