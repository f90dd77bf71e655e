"""Valuation core: bridge adds up, streams agree with the models, values move the right way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from valuation.units import WEEKS_PER_YEAR

from test_value_fixtures import make_params, synthetic_tables
from valuation.models import BetaGeo, ShiftedBetaGeometric
from valuation.quality import clean_tables, review
from valuation.value import Assumptions, BridgeInputs, CustomerBase, bridge_amounts, value_bridge
from valuation.value.sensitivity import transferable_value
from valuation.value.streams import MembershipStream, time_grid


@pytest.fixture(scope="module")
def fitted():
    params = make_params()
    tables = synthetic_tables(400, seed=1)
    cleaned = clean_tables(tables, params, review(tables, params)).tables
    base = CustomerBase(max_horizon_years=10).fit(cleaned, params)
    return params, base


def test_bridge_adds_up_exactly_and_matches_the_closed_form(fitted):
    params, base = fitted
    a = Assumptions.from_params(params)
    values = base.customer_values(a)
    inputs = BridgeInputs(haircut=0.07, notification_cost_per_customer=1.5,
                          integration_cost=12345.67, excluded_customers=3)
    bridge = value_bridge(values, base.customers_, inputs)
    cents = bridge["amount_cents"].to_numpy()
    assert cents[:-1].sum() == cents[-1]
    assert bridge["amount"].iloc[:-1].sum() == pytest.approx(bridge["amount"].iloc[-1], abs=1e-6)
    t = base.customers_["transferable"].to_numpy(bool)
    expected = (0.93 * values["clv_transferred"].to_numpy()[t].sum()
                - 1.5 * t.sum() - 12345.67)
    assert bridge["amount"].iloc[-1] == pytest.approx(expected, abs=0.01 * len(bridge))
    assert list(bridge["step"]) == ["gross_equity", "quality_haircut", "not_transferable",
                                    "change_of_owner_attrition", "notification_cost",
                                    "integration_cost", "transferable_value"]


def test_acquisitions_step_is_off_by_default_and_labelled_when_on(fitted):
    params, base = fitted
    values = base.customer_values(Assumptions.from_params(params))
    off = value_bridge(values, base.customers_, BridgeInputs())
    on = value_bridge(values, base.customers_, BridgeInputs(acquisitions_value=5000.0))
    assert "future_acquisitions" not in set(off["step"])
    row = on.set_index("step").loc["future_acquisitions"]
    assert row["kind"] == "assumption" and "assumption" in row["label"]
    assert on["amount_cents"].iloc[-1] - off["amount_cents"].iloc[-1] == 500000


def test_weighted_bridge_equals_duplicated_customers():
    clv = np.array([10.0, 20.0, 30.0])
    after = clv * 0.5
    trans = np.array([True, False, True])
    inputs = BridgeInputs(haircut=0.1, notification_cost_per_customer=2.0, integration_cost=1.0)
    weighted = bridge_amounts(clv, after, trans, inputs, weights=np.array([2.0, 0.0, 1.0]))
    dup = bridge_amounts(np.array([10.0, 10, 30]), np.array([5.0, 5, 15]),
                         np.array([True, True, True]), inputs)
    assert weighted["final"] == pytest.approx(dup["final"])
    assert weighted["final"] == pytest.approx(0.9 * 25 - 6 - 1)


def test_grid_transactions_match_the_models_discounted_transactions(fitted):
    params, base = fitted
    stream = base.purchase_
    rfm = stream.rfm_
    edges = time_grid(5.0)
    mid = (edges[:-1] + edges[1:]) / 2
    per_pair = stream.expected_transactions(edges) @ (1.12 ** -mid)
    ours = per_pair[stream.xt_inverse_] * stream.alive()
    theirs = np.asarray(stream.purchase_model_.discounted_expected_transactions(
        rfm["frequency"], rfm["recency"], rfm["T"], 0.12, WEEKS_PER_YEAR,
        horizon_periods=5 * WEEKS_PER_YEAR))
    # quarterly mid-point discounting against the models' continuous quadrature
    assert np.allclose(ours, theirs, rtol=0.01, atol=1e-4)
    # the (x, T) factorisation reproduces the direct conditional expectation
    direct = np.asarray(stream.purchase_model_.conditional_expected_purchases(
        WEEKS_PER_YEAR, rfm["frequency"], rfm["recency"], rfm["T"]))
    one_year = stream.expected_transactions(np.array([0.0, 1.0]))[:, 0]
    assert np.allclose(one_year[stream.xt_inverse_] * stream.alive(), direct, rtol=1e-9)


def test_membership_stream_long_horizon_matches_derl():
    sbg = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    members = pd.DataFrame({"payments": [1, 3, 6], "observed_decisions": [0, 2, 5],
                            "next_due_years": [0.0, 0.0, 0.0], "active": True},
                           index=["a", "b", "c"])
    stream = MembershipStream(ShiftedBetaGeometric(), fee=1.0)
    stream.members_, stream.survival_model_ = members, sbg
    edges = np.arange(0, 51, 1.0)  # payments due at whole years, discounted at year start
    flows = stream.revenue_flows(edges)
    ours = flows @ (1.10 ** -edges[:-1])
    # DERL counts payments after the coming renewal decision; ours also starts there
    derl = np.asarray(sbg.discounted_expected_residual_lifetime(np.array([1, 3, 6]), 0.10))
    # the 50-year cap only drops the far tail: a little below, within 0.5%
    assert np.all(ours < derl) and np.allclose(ours, derl, rtol=5e-3)


@pytest.mark.parametrize("name, low, high, direction", [
    ("annual_discount_rate", 0.08, 0.20, -1),
    ("gross_margin", 0.5, 0.7, +1),
    ("one_off_loss", 0.0, 0.3, -1),
    ("hazard_multiplier", 1.0, 2.0, -1),
    ("horizon_years", 3.0, 10.0, +1),
])
def test_value_moves_in_the_right_direction(fitted, name, low, high, direction):
    params, base = fitted
    a = Assumptions.from_params(params)
    inputs = BridgeInputs(haircut=0.05, notification_cost_per_customer=1.5)
    v_low = transferable_value(base, a.replace(**{name: low}), inputs)
    v_high = transferable_value(base, a.replace(**{name: high}), inputs)
    assert np.sign(v_high - v_low) == direction


def test_lower_consent_gives_lower_transferable_value():
    params = make_params()
    values = []
    for share in (0.9, 0.5):
        tables = synthetic_tables(300, seed=5, consent_share=share)
        base = CustomerBase(max_horizon_years=10).fit(tables, params)
        values.append(transferable_value(base, Assumptions.from_params(params), BridgeInputs()))
    assert values[1] < values[0]


def test_attrition_is_one_off_loss_only_when_multiplier_is_one(fitted):
    params, base = fitted
    a = Assumptions.from_params(params).replace(hazard_multiplier=1.0, one_off_loss=0.2)
    values = base.customer_values(a)
    assert np.allclose(values["clv_transferred"], 0.8 * values["clv"])


def test_custom_purchase_model_template_is_used(fitted):
    params, base = fitted
    other = CustomerBase(purchase_model=BetaGeo(penalizer=0.1), max_horizon_years=10)
    other.fit(base.tables_, params)
    assert other.purchase_.purchase_model_.penalizer == 0.1
    assert not np.allclose(other.purchase_.purchase_model_.params_, base.purchase_.purchase_model_.params_)


def test_instalments_are_one_purchase():
    from valuation.value.equity import collapse_instalments

    orders = pd.DataFrame({
        "customer_token": ["a", "a", "a", "b"], "course": ["java", "java", "python", "java"],
        "category": "programming", "payment_plan": ["instalment", "instalment", "full", "full"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-05"]),
        "net_amount": [100.0, 100.0, 50.0, 300.0]})
    out = collapse_instalments(orders).sort_values(["customer_token", "order_date"])
    assert len(out) == 3
    java_a = out[(out["customer_token"] == "a") & (out["course"] == "java")].iloc[0]
    assert java_a["net_amount"] == 200.0 and java_a["order_date"] == pd.Timestamp("2024-01-01")
    assert out["net_amount"].sum() == orders["net_amount"].sum()
