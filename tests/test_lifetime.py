"""The one lifetime definition (valuation.lifetime): known answers, unbiased Kaplan-Meier on
simulated lifetimes, and the same curve in the churn section and the valuation's retention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from _lifetime_sim import AS_OF, simulate_lifetimes, true_survival
from valuation.errors import ModelInputError
from valuation.lifetime import customer_lifetimes, lifetime_frame, observable_rows
from valuation.survival import kaplan_meier_curves, median_lifetimes, survival_table
from valuation.value.retention import ResidualRetention, attrition_ratio
from valuation.value.retention import customer_lifetimes as retention_lifetimes

D = pd.Timestamp
WINDOW = 90


def _with_customers(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    tokens = tables["orders"]["customer_token"].drop_duplicates().reset_index(drop=True)
    return {**tables, "customers": pd.DataFrame({"customer_token": tokens})}


def _km_at(curve: pd.DataFrame, days: float) -> float:
    return float(curve.loc[curve["days"] <= days, "survival"].iloc[-1])


# ---------------------------------------------------------------------------------------
# the definition, by hand
# ---------------------------------------------------------------------------------------
def test_lifetime_frame_known_answers():
    as_of = D("2025-06-30")  # confirm_by = as_of - 90 days = 2025-04-01
    first = pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2025-03-01",
                            "2025-05-01", "2025-04-01"]).to_numpy()
    last = pd.to_datetime(["2024-03-01", "2025-06-20", "2025-03-15", "2025-03-01",
                           "2025-06-29", "2025-04-01"]).to_numpy()
    frame = lifetime_frame(first, last, as_of, WINDOW, index=pd.Index(list("abcdef")))
    # a: churned (inactive 486 days): lifetime ends at the last sign of life
    assert frame.loc["a", ["event", "duration", "observable"]].tolist() == [1, 60, True]
    # b: seen 10 days ago: censored at confirm_by (456 days), not at the last sign (536 days)
    assert frame.loc["b", ["event", "duration", "span_days"]].tolist() == [0, 456, 536]
    # c: last seen 107 days ago -> churned at 439 days
    assert frame.loc["c", ["event", "duration"]].tolist() == [1, 439]
    # d: one-off customer confirmed gone: churned at day 0
    assert frame.loc["d", ["event", "duration", "observable"]].tolist() == [1, 0, True]
    # e: first purchase after confirm_by: too new to judge, left out of estimates
    assert frame.loc["e", ["event", "duration", "observable"]].tolist() == [0, 0, False]
    # f: first purchase exactly at confirm_by: censored at 0, observable
    assert frame.loc["f", ["event", "duration", "observable"]].tolist() == [0, 0, True]
    assert list(observable_rows(frame).index) == list("abcdf")
    assert frame.loc["b", "age_days"] == 546 and frame.loc["b", "days_inactive"] == 10


def test_refunded_orders_and_late_records_are_not_signs_of_life():
    orders = pd.DataFrame({
        "customer_token": pd.array(["a", "a", "a", "b"], dtype="string"),
        "order_date": [D("2024-01-01"), D("2024-06-01"), D("2025-08-01"), D("2024-02-01")],
        "amount": [100.0, 200.0, 300.0, 50.0],
        "refund_amount": [0.0, 200.0, 0.0, 50.0],
    })
    activity = pd.DataFrame({"customer_token": pd.array(["a", "b"], dtype="string"),
                             "event_date": [D("2024-03-01"), D("2025-01-01")]})
    life = customer_lifetimes({"orders": orders, "activity": activity}, "2025-06-30", WINDOW)
    # b's only order is fully refunded: no purchase, no lifetime (its activity is ignored)
    assert list(life.index) == ["a"]
    # a: the refunded June order and the order after as_of do not extend the lifetime
    assert life.loc["a", "last_seen"] == D("2024-03-01") and life.loc["a", "duration"] == 60
    with pytest.raises(ModelInputError, match="no purchases"):
        customer_lifetimes({"orders": orders.iloc[[3]], "activity": None}, "2025-06-30", WINDOW)


# ---------------------------------------------------------------------------------------
# simulated lifetimes: Kaplan-Meier is unbiased, in both users of the definition
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, scale", [(1.0, 450.0), (0.7, 350.0), (1.6, 520.0)],
                         ids=["exponential", "weibull-0.7", "weibull-1.6"])
def test_kaplan_meier_recovers_simulated_survival(shape, scale):
    tables = _with_customers(simulate_lifetimes(30_000, shape=shape, scale=scale, seed=7))
    table = survival_table(tables, AS_OF, WINDOW)
    curve = kaplan_meier_curves(table)
    retention = ResidualRetention().fit(
        retention_lifetimes(tables["orders"], tables["activity"], AS_OF, WINDOW))
    for days in (365.0, 730.0):
        truth = float(true_survival(days, shape, scale))
        churn_section = _km_at(curve, days)
        assert churn_section == pytest.approx(truth, abs=0.015), days
        # the valuation's retention is the same curve over the same customers
        assert float(retention.lifetime_survival(days)[0]) == churn_section
    assert retention.n_customers_ == int(table["observable"].sum())
    assert median_lifetimes(table)["customers"].iloc[0] == retention.n_customers_


def test_censoring_at_the_last_sign_of_life_would_fail_the_same_check():
    """The check above has teeth: the old definition (a customer not yet churned censored at
    the last sign of life) misses the truth by more than the tolerance."""
    shape, scale = 1.0, 450.0
    tables = simulate_lifetimes(30_000, shape=shape, scale=scale, seed=7)
    life = customer_lifetimes(tables, AS_OF, WINDOW)
    old = KaplanMeierFitter().fit(life["span_days"], life["event"])
    truth = true_survival(np.array([365.0, 730.0]), shape, scale)
    error = old.survival_function_at_times([365.0, 730.0]).to_numpy() - truth
    assert (error > 0.015).all()


def test_current_customers_are_conditioned_on_their_last_sign_of_life():
    tables = simulate_lifetimes(5_000, seed=3)
    retention = ResidualRetention().fit(
        retention_lifetimes(tables["orders"], tables["activity"], AS_OF, WINDOW))
    now, year = retention.survival([0.0, 1.0])
    # some current customers have already left (not yet confirmable): below 1 at t = 0
    assert 0.8 < now < 1.0 and year < now
    # the change-of-owner shock starts at the transfer: no effect at t = 0
    ratio = attrition_ratio([0.0, 0.5, 1.0, 2.0], retention, 0.1, 2.0, 12)
    assert ratio[0] == pytest.approx(0.9)
    assert ratio[1] > ratio[2] and ratio[2] == pytest.approx(ratio[3])
    assert ratio[2] == pytest.approx(0.9 * year / now)  # (1 - l) * (S(h) / S(0)) ** (m - 1)


# ---------------------------------------------------------------------------------------
# the samples: churn section and valuation retention are one curve
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["online_school", "bootcamp", "cert_school"])
def test_churn_section_and_valuation_retention_agree_on_each_sample(target, tmp_path):
    from _survival_fixtures import load_sample
    from valuation.quality import clean_tables
    from valuation.value.equity import CustomerBase

    tables, params, _ = load_sample(target, tmp_path)
    cleaned = clean_tables(tables, params).tables
    window = params.churn.inactivity_days
    table = survival_table(cleaned, params.as_of, window)
    churn_12m = _km_at(kaplan_meier_curves(table), 365.0)
    base = CustomerBase.__new__(CustomerBase)  # only the retention part of a fitted base
    base.tables_, base.as_of_, base._retention = dict(cleaned), pd.Timestamp(params.as_of), {}
    retention = base.retention(window)
    assert float(retention.lifetime_survival(365.0)[0]) == churn_12m
    assert retention.n_customers_ == int(table["observable"].sum())
