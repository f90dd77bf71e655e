"""Fallback purchase method, outstanding instalments, future acquisitions and the one-step
Newton bootstrap (issue 6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from test_value_fixtures import AS_OF, make_params, synthetic_tables
from valuation.value import Assumptions, BridgeInputs, CustomerBase, valuate
from valuation.value.acquisitions import acquisition_value
from valuation.value.equity import net_orders
from valuation.value.fallback import MIN_REPEAT_BUYERS, EmpiricalRateStream
from valuation.value.instalments import InstalmentStream, instalment_plans
from valuation.value.newton import newton_step
from valuation.value.retention import customer_lifetimes
from valuation.value.sensitivity import transferable_value


def one_purchase_each(tables: dict, repeaters: int = 0) -> dict:
    """The synthetic tables with every customer's first order only (plus the second order of
    the first ``repeaters`` customers that have one): a bootcamp-like target."""
    orders = tables["orders"].sort_values(["customer_token", "order_date"], kind="stable")
    rank = orders.groupby("customer_token").cumcount()
    with_second = orders.loc[rank == 1, "customer_token"].unique()[:repeaters]
    keep = (rank == 0) | ((rank == 1) & orders["customer_token"].isin(with_second))
    return {**tables, "orders": orders.loc[keep].reset_index(drop=True)}


@pytest.fixture(scope="module")
def no_repeat_result():
    tables = one_purchase_each(synthetic_tables(300, seed=4))
    return valuate(tables, make_params(), replicates=12)


def test_zero_repeat_buyers_fall_back_and_say_why(no_repeat_result):
    result = no_repeat_result
    assert result.purchase_method == "empirical_rate_fallback"
    assert "0 customer(s) with a repeat purchase" in result.purchase_fallback_reason
    assert any(note.startswith("FALLBACK") for note in result.method_notes)
    assert result.streams.loc["purchases", "label"].startswith("FALLBACK")
    data = json.loads(json.dumps(result.to_json_dict(), allow_nan=False))
    assert data["purchase_method"] == "empirical_rate_fallback"
    assert "FALLBACK" in " ".join(data["method_notes"])
    assert "FALLBACK" in result.summary("en") and "替代" in result.summary("zh")
    # no repeat purchase observed: the rate is 0, so is the purchase equity
    assert result.models["purchases"]["rate_per_customer_year"] == 0.0
    assert result.streams.loc["purchases", "equity"] == 0.0
    bridge = result.bridge
    total = list(bridge["step"]).index("transferable_value")  # scenarios may follow it
    assert bridge["amount_cents"].iloc[:total].sum() == bridge["amount_cents"].iloc[total]
    assert np.isfinite(result.value)


def test_fallback_rate_and_spend_are_the_empirical_ones():
    params = make_params()
    tables = one_purchase_each(synthetic_tables(300, seed=4), repeaters=12)
    base = CustomerBase().fit(tables, params)
    stream = base.purchase_
    assert isinstance(stream, EmpiricalRateStream) and 12 < MIN_REPEAT_BUYERS
    assert "12 customer(s) with a repeat purchase" in base.purchase_fallback_reason_
    orders = net_orders(tables["orders"], pd.Timestamp(AS_OF))
    life = customer_lifetimes(orders, tables["activity"], pd.Timestamp(AS_OF), 180)
    repeats = orders.groupby("customer_token").size() - 1
    expected_rate = repeats.sum() / (life["duration_days"].sum() / 365.25)
    assert stream.rate_ == pytest.approx(expected_rate, rel=1e-12)
    assert stream.rate_events_ == 12
    # fewer than 10 repeat orders would use all orders; 12 use the repeat orders' mean
    second = orders.sort_values("order_date").groupby("customer_token").nth(1)
    assert stream.spend_ == pytest.approx(second["amount"].mean(), rel=1e-12)
    # value = rate x spend x expected years alive (discounted) x margin, churned customers 0
    a = Assumptions.from_params(params)
    values = base.customer_values(a)
    churned = life["churned"].reindex(values.index).fillna(True).to_numpy(bool)
    assert (values.loc[churned, "clv_purchase"] == 0).all()
    assert (values.loc[~churned, "clv_purchase"] > 0).all()
    # more repeat purchases in the data, more value
    more = CustomerBase().fit(one_purchase_each(synthetic_tables(300, seed=4), 20), params)
    assert more.purchase_.rate_ > stream.rate_
    assert transferable_value(more, a, BridgeInputs()) > transferable_value(base, a, BridgeInputs())


def test_flat_or_failing_purchase_models_fall_back():
    from valuation.value.fallback import purchase_fallback_reason
    from valuation.errors import ConvergenceError

    assert purchase_fallback_reason(500) is None
    assert "flat" in purchase_fallback_reason(500, fit_notes=["BG/NBD: flat along a, b"])
    error = ConvergenceError("BG/NBD did not converge: saddle.\nThings to try: ...")
    reason = purchase_fallback_reason(500, error=error)
    assert "saddle" in reason and "Things to try" not in reason


def _plan_orders() -> pd.DataFrame:
    """Course A: list price 12,000 (paid in full by one student). Student s1 pays 2,000 a
    month on a 6-instalment plan, 2 paid, the last 10 days before as_of (running); s2 and s3
    completed 6-instalment plans long ago (continuation 100%)."""
    as_of = pd.Timestamp(AS_OF)
    rows = [("s0", "A", as_of - pd.Timedelta(days=400), 12000.0, "full")]
    for token, start, paid in (("s1", as_of - pd.Timedelta(days=40), 2),
                               ("s2", as_of - pd.Timedelta(days=500), 6),
                               ("s3", as_of - pd.Timedelta(days=700), 6)):
        rows += [(token, "A", start + pd.Timedelta(days=30 * k), 2000.0, "instalment")
                 for k in range(paid)]
    frame = pd.DataFrame(rows, columns=["customer_token", "course", "order_date", "net_amount",
                                        "payment_plan"])
    frame["category"] = "programming"
    return frame


def test_outstanding_instalments_known_answer():
    plans = instalment_plans(_plan_orders(), pd.Timestamp(AS_OF))
    assert plans.attrs["cadence_days"] == 30.0
    plans = plans.set_index("customer_token")
    assert (plans["length"] == 6).all()
    assert plans.loc["s1", "running"] and not plans.loc[["s2", "s3"], "running"].any()
    stream = InstalmentStream().fit(plans.reset_index(), pd.Timestamp(AS_OF))
    assert stream.summary()["expected_outstanding_amount"] == pytest.approx(4 * 2000.0)
    edges = np.array([0.0, 0.25, 0.5, 1.0])
    pv, pv_shocked = stream.customer_revenue(edges, np.ones(3), np.full(3, 0.5))
    s1 = list(stream.tokens_).index("s1")
    assert pv[s1] == pytest.approx(8000.0) and pv_shocked[s1] == pytest.approx(4000.0)
    # a horizon that ends before the last instalments leaves them out
    short = stream.customer_revenue(np.array([0.0, 0.1]), np.ones(1), np.ones(1))[0]
    assert short[s1] == pytest.approx(2000.0)  # due in 20 days; the next (50) is beyond


def test_abandoned_plans_lower_the_expected_instalments():
    orders = _plan_orders()
    as_of = pd.Timestamp(AS_OF)
    start = as_of - pd.Timedelta(days=900)
    # s4 stopped after 3 of 6 long ago. Fewer than 5 plans at risk at every step, so the
    # rate is pooled: 13 plans-steps at risk (s2, s3, s4 at 1-3; s2, s3 at 4-5), 12 paid on
    stopped = pd.DataFrame({"customer_token": "s4", "course": "A", "net_amount": 2000.0,
                            "payment_plan": "instalment", "category": "programming",
                            "order_date": [start + pd.Timedelta(days=30 * k) for k in range(3)]})
    plans = instalment_plans(pd.concat([orders, stopped], ignore_index=True), as_of)
    stream = InstalmentStream().fit(plans, as_of)
    c = 12 / 13
    assert np.allclose(stream.continuation_, c)
    # s1 has paid 2 of 6: instalment k (3..6) is paid with probability c^(k-2)
    assert stream.summary()["expected_outstanding_amount"] == pytest.approx(
        2000.0 * (c + c**2 + c**3 + c**4))


def test_newton_step_known_answer_and_refusals():
    # a quadratic log-likelihood: one step lands on the maximum exactly
    hess = -np.array([[4.0, 1.0], [1.0, 3.0]])
    g = np.array([0.2, -0.1])
    step = newton_step(g, hess)
    assert np.allclose(hess @ step, -g)
    assert newton_step(g * 100, hess) is None  # too long
    assert newton_step(g, -hess) is None  # a minimum, not a maximum
    flat = -np.diag([4.0, 0.0])
    assert np.allclose(newton_step(np.array([0.4, 0.3]), flat), [0.1, 0.0])


def test_one_step_bootstrap_agrees_with_full_refits():
    from valuation.models import BetaGeo

    params = make_params()
    # BG/NBD given (the holdout would pick Pareto/NBD here, whose beta is weakly identified
    # on 400 customers): the check is of the Newton step, on a well-identified model
    base = CustomerBase(BetaGeo(), max_horizon_years=10).fit(synthetic_tables(400, seed=1), params)
    a = Assumptions.from_params(params)
    transferable = base.customers_["transferable"].to_numpy(bool)
    n = len(base.customers_)

    def value(b, w):
        v = b.value_arrays(a)
        return float((w * v["clv"])[transferable].sum())

    point = value(base, np.ones(n))
    gaps, spreads = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        w = rng.multinomial(n, np.full(n, 1 / n)).astype(float)
        newton, _, how = base.replicate(w, rng)
        assert how == "newton"
        refit = base.refit(w)
        p_new = np.asarray(newton.purchase_.purchase_model_.params_)
        p_ref = np.asarray(refit.purchase_.purchase_model_.params_)
        p_hat = np.asarray(base.purchase_.purchase_model_.params_)
        # the steps land where the refit does: error << size of the move
        assert np.max(np.abs(np.log(p_new / p_ref))) < 0.05 * np.max(np.abs(np.log(p_ref / p_hat)))
        v_ref = value(refit, w)
        gaps.append(abs(value(newton, w) - v_ref))
        spreads.append(abs(v_ref - point))
    # two Newton steps: within 0.1% of the value, 1% of the replicate's own deviation
    assert max(gaps) < 0.001 * point
    assert np.mean(gaps) < 0.01 * np.mean(spreads)


def test_acquisitions_off_by_default_separate_and_labelled_when_on(no_repeat_result):
    tables = synthetic_tables(300, seed=1)
    off = valuate(tables, make_params(), replicates=4)
    assert off.acquisitions is None and "future_acquisitions" not in set(off.bridge["step"])
    acq = {"customers_per_year": 100.0, "cost_per_customer": 50.0, "years": 2.5}
    on = valuate(tables, make_params(deal__acquisitions=acq), replicates=4)
    bridge = on.bridge.set_index("step")
    steps = list(on.bridge["step"])
    assert steps[-5:] == ["transferable_value", "reconsent_recovery", "value_with_reconsent",
                          "future_acquisitions", "value_with_acquisitions"]
    # existing-customer value untouched; the new line is labelled and adds up exactly
    assert on.value == off.value
    assert bridge.loc["future_acquisitions", "kind"] == "assumption"
    assert "assumption" in bridge.loc["future_acquisitions", "label"]
    cents = on.bridge.set_index("step")["amount_cents"]
    assert cents["value_with_acquisitions"] == cents["transferable_value"] + cents["future_acquisitions"]
    # known answer: N (CLV_new - cost) discounted from the middle of each year (last: half)
    clv_new = on.acquisitions["clv_new_customer"]
    expected = (100 * (clv_new - 50) * (1.12 ** -0.5 + 1.12 ** -1.5)
                + 50 * (clv_new - 50) * 1.12 ** -2.25)
    assert on.acquisitions["value"] == pytest.approx(expected)
    assert 0 < clv_new < 10_000
    assert any("Future acquisitions INCLUDED" in n for n in on.method_notes)
    assert on.to_json_dict()["acquisitions"]["label"].startswith("future acquisitions")
    # dearer acquisition, lower value
    dear = acquisition_value(clv_new, type("A", (), {**acq, "cost_per_customer": 500.0})(),
                             Assumptions.from_params(make_params()))
    assert dear.value < on.acquisitions["value"]
