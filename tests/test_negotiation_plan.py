"""Issue 16 on seeded synthetic data: the what-if engine, the range with the assumptions in
it, what the price implies, the earn-out term sheet, re-consent and the params."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_value_fixtures import make_params, synthetic_tables
from valuation.errors import ParamsError
from valuation.value import valuate
from valuation.value.earnout import MIN_EXPECTED_RETAINED, earn_out_terms, payout
from valuation.value.implied import implied_assumptions
from valuation.value.joint_range import joint_range
from valuation.value.positions import PositionInputs, plan_positions
from valuation.value.reconsent import reconsent_scenario


@pytest.fixture(scope="module")
def result():
    params = make_params(deal__counterparty_price=150000.0,
                         uncertainty__assumption_draws=150)
    return valuate(synthetic_tables(300, seed=1), params, replicates=12)


def test_revaluation_without_refit_reproduces_the_bridge(result):
    what = result.plan.revaluer
    assert what.value() == pytest.approx(result.value, abs=0.01)
    # margin is a factor of every flow: value + costs is linear in it
    costs = result.value - what.revalue().amounts["final"] + \
        -sum(v for k, v in what.revalue().amounts.items()
             if k in ("notification_cost", "integration_cost"))
    half = what.value(gross_margin=0.3) + costs
    assert half == pytest.approx((result.value + costs) / 2, rel=1e-9)


def test_horizon_is_continuous_and_retention_moves_the_right_way(result):
    what = result.plan.revaluer
    values = [what.value(horizon_years=h) for h in (4.8, 4.9, 5.0, 5.1, 5.2)]
    assert np.all(np.diff(values) > 0)
    # between two grid edges the value is the straight line between them
    assert values[2] - values[1] == pytest.approx(values[1] - values[0], rel=1e-6)
    assert what.value(retention_scale=0.5) > what.value() > what.value(retention_scale=2.0)
    assert what.value(retention_scale=1.0) == pytest.approx(result.value, abs=0.01)
    base = what.retention_12m()
    assert what.retention_12m(retention_scale=0.5)["scaled_after_transfer"] == pytest.approx(
        base["observed"] ** 0.5 * base["after_transfer"] / base["observed"])


def test_headline_range_carries_the_assumptions_and_keeps_the_model_range(result):
    joint = result.plan.joint
    model = result.range["combined"]
    assert result.percentile(10) == pytest.approx(joint.value_at(10))
    assert result.percentile(10, "combined") == pytest.approx(model["P10"])
    # the assumptions widen the range
    assert (result.percentile(90) - result.percentile(10)) > (model["P90"] - model["P10"])
    assert result.percentile(10) < result.value < result.percentile(90)
    draws = joint.draws
    for name, (low, high) in joint.ranges.items():
        assert draws[name].between(min(low, high) - 1e-9, max(low, high) + 1e-9).all(), name
    data = json.loads(json.dumps(result.to_json_dict(), allow_nan=False))
    assert data["range"]["model_only"]["p10"] == pytest.approx(model["P10"])
    assert data["negotiation"]["range"]["with_assumptions"]["p50"] == pytest.approx(
        result.percentile(50))


def test_fixed_laws_leave_the_model_range_unchanged(result):
    what = result.plan.revaluer
    model = result.replicates["combined"].to_numpy(float)
    fixed = {name: "fixed" for name in result.plan.joint.ranges}
    joint = joint_range(what, model, result.value, result.plan.joint.ranges, n_draws=0,
                        seed=1, distributions=fixed)
    np.testing.assert_allclose(joint.draws["total"], model, atol=0.01)  # point in cents
    again = joint_range(what, model, result.value, result.plan.joint.ranges, n_draws=30,
                        seed=3)
    same = joint_range(what, model, result.value, result.plan.joint.ranges, n_draws=30,
                       seed=3)
    np.testing.assert_array_equal(again.draws["total"], same.draws["total"])


def test_what_you_must_believe_solves_each_lever(result):
    what = result.plan.revaluer
    price = result.value * 1.3
    implied = implied_assumptions(what, price, new_customers_12m=40)
    margin = implied.loc["gross_margin"]
    assert margin["status"] == "solved" and margin["implied"] > margin["data"]
    assert what.value(gross_margin=margin["implied"]) == pytest.approx(price, rel=1e-5)
    retention = implied.loc["retention_12m"]
    assert retention["status"] == "solved" and retention["implied"] > retention["data"]
    acq = implied.loc["acquisitions_per_year"]
    assert acq["status"] == "solved" and acq["implied"] > 0 and acq["data"] == 40
    # a price beyond every lever's reach is said so, with the values at both ends
    far = implied_assumptions(what, result.value * 1000)
    assert (far.loc[["gross_margin", "horizon_years"], "status"] == "not_reachable").all()
    assert far.loc["gross_margin", "value_at_high"] < result.value * 1000
    assert implied_assumptions(what, None).empty


def _plan(side, price, values=1e6, standalone=1.2e6):
    draws = np.random.default_rng(0).normal(values, 1e5, 500)
    return plan_positions(PositionInputs(side=side, values=draws, standalone=standalone,
                                         price=price))


def _terms(plan, eligible, retention=0.5, **kw):
    draws = np.random.default_rng(1).uniform(retention - 0.1, retention + 0.05, 500)
    options = dict(base_retention=retention, value_per_retained=2000.0,
                   retention_draws=draws, effective_size=300, implied_retention=None,
                   stress_retention={0.2: retention * 0.8, 0.3: retention * 0.7},
                   window_days=180, measurement_months=12, seed=1)
    options.update(kw)
    return earn_out_terms(plan, eligible=eligible, **options)


def test_earn_out_term_sheet_bridges_the_buyer_gap():
    plan = _plan("buyer", 3e6)
    sheet = _terms(plan, eligible=1000)
    terms = sheet.terms
    assert sheet.status == "proposed" and terms["cash_at_closing"] == pytest.approx(plan.target)
    assert terms["threshold"] == 500 and terms["slope_per_customer"] == 2000.0
    for key in ("definition", "measurement_date", "data_source", "payment_timing", "floor"):
        assert terms[key] is not None
    # the ask cannot be reached by retention: the cap is what full retention pays
    assert terms["cap"] == pytest.approx(2000.0 * 500) and terms["cap_rule"] == "cap_at_full_retention"
    assert sheet.payout["p10"] <= sheet.payout["p50"] <= sheet.payout["p90"] <= terms["cap"]
    assert [s["payout"] for s in sheet.stress] == [0.0, 0.0]  # 20-30% loss: below threshold
    assert payout(499, 500, 2000.0, 1e6) == 0 and payout(510, 500, 2000.0, 1e6) == 20000


def test_no_earn_out_on_a_tiny_base():
    """The bootcamp case: 12 expected customers never carry an earn-out."""
    buyer = _terms(_plan("buyer", 3e6), eligible=24)
    assert buyer.status == "base_too_small" and not buyer.terms
    assert buyer.expected_retained < MIN_EXPECTED_RETAINED
    seller = _terms(_plan("seller", 15e6), eligible=24)
    assert seller.recommendation == "resist" and seller.reasons["code"] == "base_too_small"


def test_seller_resists_an_earn_out_when_the_cash_price_is_within_reach():
    sheet = _terms(_plan("seller", 15e6), eligible=1000)
    assert sheet.recommendation == "resist" and sheet.reasons["code"] == "cash_price_within_reach"
    gap = _plan("seller", 0.5e6, values=1e6, standalone=2e6)
    assert not gap.zone["exists"]
    accept = _terms(gap, eligible=1000)
    assert accept.recommendation == "accept"
    assert accept.terms["maximum_price"] == pytest.approx(gap.walk_away)


def test_reconsent_known_answer():
    clv_t = np.array([100.0, 200.0, 50.0, 400.0])
    scenario = reconsent_scenario(clv_t, np.array([True, False, True, False]), haircut=0.1,
                                  notification_cost_per_customer=2.0,
                                  response_rate=(0.2, 0.4), cost_per_contact=5.0)
    at_stake = 0.9 * 600 - 2 * 2
    assert scenario.contacted == 2 and scenario.value_at_stake == pytest.approx(at_stake)
    assert scenario.net == pytest.approx((0.2 * at_stake - 10, 0.3 * at_stake - 10,
                                          0.4 * at_stake - 10))
    assert scenario.break_even_rate == pytest.approx(10 / at_stake)


def test_bridge_rows_for_reconsent_and_excluded_records(result):
    bridge = result.bridge.set_index("step")
    assert bridge.loc["excluded_records", "amount"] == 0 and \
        bridge.loc["excluded_records", "kind"] == "memo"
    cents = bridge["amount_cents"]
    assert cents["value_with_reconsent"] == cents["transferable_value"] + cents["reconsent_recovery"]
    assert bridge.loc["reconsent_recovery", "amount"] == pytest.approx(
        result.plan.reconsent.scenario_value, abs=0.01)


def test_params_counterparty_price_is_backward_compatible():
    old = make_params(deal__asking_price=5e5)
    assert old.deal.price == 5e5 and old.deal.price_kind == "ask"
    seller = make_params("seller", deal__counterparty_price=1e6)
    assert seller.deal.price == 1e6 and seller.deal.price_kind == "offer"
    explicit = make_params("seller", deal__counterparty_price=1e6,
                           deal__counterparty_price_kind="ask")
    assert explicit.deal.price_kind == "ask"
    with pytest.raises(ParamsError, match="differ"):
        make_params(deal__asking_price=5e5, deal__counterparty_price=6e5)
    with pytest.raises(ParamsError, match="batna"):
        make_params(deal__batna={"value": 1.0, "build_cost_per_customer": 2.0})
    with pytest.raises(ParamsError, match="response_rate"):
        make_params(deal__reconsent={"response_rate": [0.5, 0.2]})


def test_positions_respect_the_price_on_the_result(result):
    pos = result.positions["price"]
    assert pos["anchor"] <= pos["target"] <= pos["walk_away"] <= 150000.0
    assert result.zone["counterparty_price"] == 150000.0


def test_the_term_sheet_reads_in_the_brief_language(result):
    """The term sheet's definition, date, source and timing come as numbers too, so a zh
    brief says them in Chinese and the monitor reads them without parsing English."""
    from valuation.report.negotiation import _term_wording

    terms = {**(result.plan.term_sheet.terms or {}), "window_days": 180,
             "measurement_months": 12}
    zh = _term_wording("zh", terms)
    assert zh["measurement_date"] == "交割后 12 个月" and "180 天" in zh["definition"]
    assert not any(c.isascii() and c.isalpha() for v in zh.values() for c in v)
    assert _term_wording("en", terms) is terms
