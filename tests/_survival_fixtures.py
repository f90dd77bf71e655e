"""Seeded synthetic analysis tables with a known churn process (shared by the survival,
activity and segment tests).

Every customer's lifetime is Weibull proportional hazards with known log hazard ratios;
while alive the customer logs in every ``event_every`` days and buys now and then, so the
last sign of life is within a few days of the true end of life.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"

AS_OF = pd.Timestamp("2025-06-30")
TRUE_LOG_HR = {
    "channel[offline]": -0.6,
    "channel[wechat]": 0.4,
    "category[data]": -0.3,
    "first_order_value": -2.0,  # per CNY 10,000
    "minor": 0.5,
}
SHAPE = 1.2
SCALE_DAYS = 500.0


def synthetic_tables(
    n: int = 1500,
    seed: int = 11,
    *,
    as_of: pd.Timestamp = AS_OF,
    years: float = 3.0,
    event_every: int = 7,
    log_hazard_ratios: dict[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Analysis tables (token-only columns) with a Weibull PH churn process.

    ``log_hazard_ratios`` replaces :data:`TRUE_LOG_HR` (e.g. all zero: no covariate effect).
    """
    rng = np.random.default_rng(seed)
    hr = dict(TRUE_LOG_HR if log_hazard_ratios is None else log_hazard_ratios)
    tokens = pd.Index([f"c{i:05d}" for i in range(n)])
    start = as_of - pd.Timedelta(days=int(years * 365))
    signup = start + pd.to_timedelta(rng.integers(0, int(years * 365) - 30, n), unit="D")
    channel = rng.choice(["search", "wechat", "offline"], n, p=[0.5, 0.3, 0.2])
    category = rng.choice(["programming", "data"], n, p=[0.6, 0.4])
    first_value = np.round(rng.uniform(500, 5000, n), 2)
    minor = rng.random(n) < 0.15
    age_band = np.where(minor, "<14", rng.choice(["18-24", "25-34", "35-44"], n))
    city_tier = rng.choice(["tier1", "tier2", "other"], n)

    linear = (
        hr["channel[offline]"] * (channel == "offline")
        + hr["channel[wechat]"] * (channel == "wechat")
        + hr["category[data]"] * (category == "data")
        + hr["first_order_value"] * first_value / 10000.0
        + hr["minor"] * minor
    )
    # Weibull PH: S(t|x) = exp(-(t/scale)^shape * exp(linear))
    u = rng.random(n)
    lifetime = SCALE_DAYS * (-np.log(u) / np.exp(linear)) ** (1.0 / SHAPE)
    first_purchase = signup + pd.to_timedelta(rng.integers(0, 10, n), unit="D")
    end = first_purchase + pd.to_timedelta(np.floor(lifetime).astype(int), unit="D")

    customers = pd.DataFrame(
        {
            "customer_token": pd.array(tokens, dtype="string"),
            "city_tier": pd.array(city_tier, dtype="string"),
            "age_band": pd.array(age_band, dtype="string"),
            "minor": pd.array(minor, dtype="boolean"),
            "signup_date": signup,
            "channel": pd.array(channel, dtype="string"),
            "consent_transfer": pd.array(rng.random(n) < 0.8, dtype="boolean"),
            "consent_marketing": pd.array(rng.random(n) < 0.6, dtype="boolean"),
            "contactable": pd.array(rng.random(n) < 0.9, dtype="boolean"),
        }
    )

    order_rows = []
    event_rows = []
    for i in range(n):
        fp, e = first_purchase[i], min(end[i], as_of + pd.Timedelta(days=400))
        order_rows.append((tokens[i], category[i], fp, first_value[i]))
        span = (e - fp).days
        if span > 0:
            n_repeat = rng.poisson(span / 120)
            for day in np.sort(rng.integers(1, span + 1, n_repeat)):
                order_rows.append((tokens[i], category[i], fp + pd.Timedelta(days=int(day)),
                                   float(np.round(rng.uniform(200, 2000), 2))))
            for day in range(event_every, span + 1, event_every):
                event_rows.append((tokens[i], fp + pd.Timedelta(days=day)))
    orders = pd.DataFrame(order_rows, columns=["customer_token", "category", "order_date", "amount"])
    orders.insert(0, "order_id", pd.array([f"o{i:06d}" for i in range(len(orders))], dtype="string"))
    orders["customer_token"] = orders["customer_token"].astype("string")
    orders["category"] = orders["category"].astype("string")
    orders["refund_amount"] = 0.0
    activity = pd.DataFrame(event_rows, columns=["customer_token", "event_date"])
    activity["customer_token"] = activity["customer_token"].astype("string")
    activity["event_type"] = pd.array(["login"] * len(activity), dtype="string")
    activity["count"] = np.int64(1)

    fb_customers = rng.choice(n, n // 2, replace=False)
    feedback = pd.DataFrame(
        {
            "customer_token": pd.array(tokens[fb_customers], dtype="string"),
            "feedback_date": first_purchase[fb_customers] + pd.Timedelta(days=30),
            "score": rng.integers(1, 6, len(fb_customers)).astype("float64"),
        }
    )
    return {"customers": customers, "orders": orders, "activity": activity, "feedback": feedback}


def load_sample(target: str, tmp_path: Path):
    """Read a sample target through ingest and the privacy gate into ``tmp_path``.

    Returns ``(analysis_tables, params, ground_truth)``; skips the test when the sample or a
    colleague's stage is not there yet.
    """
    import json

    import pytest

    folder = SAMPLES / target
    params_file = REPO / "params" / f"{target}.yaml"
    truth_file = folder / "ground_truth.json"
    if not truth_file.exists() or not params_file.exists():
        pytest.fail(f"sample {target} missing: data/samples is committed; run `valuation samples`")
    import valuation.ingest as ingest
    import valuation.privacy.gate as gate
    from valuation.params import load_params

    params = load_params(params_file)
    params = params.model_copy(
        update={"paths": params.paths.model_copy(update={"work_dir": tmp_path / "work"})}
    )
    result = gate.run_gate(ingest.read_exports(params), params, os.urandom(32))
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    return result.tables, params, truth
