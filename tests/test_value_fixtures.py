"""Seeded synthetic analysis tables for the valuation tests (and a check of the generator).

``synthetic_tables(n, seed)`` simulates a BG/NBD purchase process with Gamma-distributed
spend (weekly units), consent flags and activity; ``membership=True`` adds annual memberships
renewed with sBG churn. Tables follow ``valuation.tables.ANALYSIS_COLUMNS``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from valuation.params import parse_params
from valuation.tables import ANALYSIS_COLUMNS

AS_OF = dt.date(2025, 6, 30)
START = pd.Timestamp("2022-01-01")


def make_params(side: str = "buyer", *, membership_fee: float | None = None, **overrides):
    """A valid DealParams for the synthetic target (no files needed)."""
    raw = {
        "target": "synthetic", "name": "Synthetic school", "as_of": AS_OF,
        "calibration_end": dt.date(2024, 12, 31),
        "data": {"files": {"customers": "customers.csv", "orders": "orders.csv"},
                 "opened": dt.date(2021, 1, 1)},
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12, "horizon_years": 5,
                      "membership_fee": membership_fee},
        "deal": {"side": side, "asking_price": None, "notification_cost_per_customer": 1.5,
                 "integration_cost": 1000.0},
        "uncertainty": {"bootstrap_replicates": 20, "seed": 11},
    }
    for dotted, value in overrides.items():
        node = raw
        *path, last = dotted.split("__")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return parse_params(raw, check_files=False)


def synthetic_tables(n: int = 400, seed: int = 1, *, consent_share: float = 0.8,
                     membership: bool = False) -> dict[str, pd.DataFrame]:
    """Analysis tables of ``n`` customers simulated with a fixed seed."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp(AS_OF)
    span = (as_of - START).days
    tokens = np.array([f"tok{i:06d}" for i in range(n)])
    signup = START + pd.to_timedelta(rng.integers(0, span - 30, n), unit="D")
    lam = rng.gamma(0.6, 1 / 6.0, n)  # purchases per week while alive
    p_drop = rng.beta(0.8, 3.0, n)
    mean_spend = rng.gamma(6.0, 60.0, n)
    orders = []
    for i in range(n):
        t = signup[i]
        while t <= as_of:
            amount = float(np.round(rng.gamma(4.0, mean_spend[i] / 4.0), 2)) + 1.0
            orders.append((tokens[i], t, amount))
            if rng.random() < p_drop[i]:
                break
            t = t + pd.Timedelta(days=float(rng.exponential(7.0 / max(lam[i], 1e-3))))
    orders = pd.DataFrame(orders, columns=["customer_token", "order_date", "amount"])
    orders["order_date"] = orders["order_date"].dt.normalize()
    orders["category"] = rng.choice(["programming", "data", "cloud"], len(orders))
    if membership:
        members = rng.random(n) < 0.5
        sbg_p = rng.beta(1.0, 3.0, n)
        rows = []
        for i in np.flatnonzero(members):
            t = signup[i]
            while t <= as_of:
                rows.append((tokens[i], t, 1200.0))
                if rng.random() < sbg_p[i]:
                    break
                t = t + pd.Timedelta(days=365)
        extra = pd.DataFrame(rows, columns=["customer_token", "order_date", "amount"])
        extra["category"] = "membership"
        orders = pd.concat([orders, extra], ignore_index=True)
    orders["order_id"] = [f"o{k:07d}" for k in range(len(orders))]
    orders["course"] = orders["category"] + "-101"
    orders["refund_amount"] = 0.0
    orders["payment_plan"] = "full"
    last_order = orders.groupby("customer_token")["order_date"].max()
    act = pd.DataFrame({"customer_token": last_order.index,
                        "event_date": (last_order + pd.to_timedelta(
                            rng.integers(0, 20, len(last_order)), unit="D")).clip(
                            upper=as_of).to_numpy()})
    act["event_type"] = "login"
    act["count"] = 1
    consent = rng.random(n) < consent_share
    minor = rng.random(n) < 0.03
    customers = pd.DataFrame({
        "customer_token": tokens, "person_token": [f"p{t}" for t in tokens],
        "mobile_token": [f"m{t}" for t in tokens], "city": "Shanghai", "city_tier": "tier1",
        "province": "31", "sex": rng.choice(["F", "M"], n), "birth_year_band": "1995-1999",
        "age_band": np.where(minor, "<14", "25-34"), "minor": minor, "signup_date": signup,
        "channel": rng.choice(["search", "wechat", "referral", "offline"], n),
        "consent_transfer": consent, "consent_marketing": consent,
        "guardian_consent": np.where(minor, rng.random(n) < 0.5, pd.NA),
        "id_present": True, "id_valid": True, "id_checksum_ok": True, "id_birthdate_ok": True,
        "mobile_present": True, "mobile_valid": True, "mobile_dummy": False,
        "email_valid": True, "contactable": rng.random(n) < 0.9, "name_present": True,
    })
    feedback = pd.DataFrame({"customer_token": tokens[:5],
                             "feedback_date": signup[:5] + pd.Timedelta(days=3),
                             "score": 4.0, "text_redacted": "good"})
    tables = {"customers": customers, "orders": orders, "activity": act, "feedback": feedback}
    out = {}
    for name, columns in ANALYSIS_COLUMNS.items():
        frame = tables[name]
        out[name] = pd.DataFrame({c: frame[c].astype(dtype) for c, dtype in columns.items()})
    return out


def test_generator_is_deterministic_and_follows_the_contract():
    a, b = synthetic_tables(50, seed=3), synthetic_tables(50, seed=3)
    for name, columns in ANALYSIS_COLUMNS.items():
        assert list(a[name].columns) == list(columns)
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not synthetic_tables(50, seed=4)["orders"].equals(a["orders"])
    assert (a["orders"]["order_date"] <= pd.Timestamp(AS_OF)).all()
