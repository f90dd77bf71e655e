"""Uncertainty, negotiation and the result object on seeded synthetic data."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from test_value_fixtures import make_params, synthetic_tables
from valuation.value import Assumptions, BridgeInputs, CustomerBase, bootstrap_value, valuate
from valuation.value.negotiation import agreement_zone, earn_out, price_positions
from valuation.value.uncertainty import draw_parameters


@pytest.fixture(scope="module")
def base_and_params():
    params = make_params()
    return CustomerBase(max_horizon_years=10).fit(synthetic_tables(300, seed=2), params), params


@pytest.fixture(scope="module")
def result():
    params = make_params(deal__asking_price=150000.0)
    return valuate(synthetic_tables(300, seed=1), params, replicates=20)


def test_bootstrap_is_reproducible_and_seed_dependent(base_and_params):
    base, params = base_and_params
    a, inputs = Assumptions.from_params(params), BridgeInputs(notification_cost_per_customer=1.5)
    first = bootstrap_value(base, a, inputs, replicates=6, seed=7)
    again = bootstrap_value(base, a, inputs, replicates=6, seed=7)
    other = bootstrap_value(base, a, inputs, replicates=6, seed=8)
    pd.testing.assert_frame_equal(first.replicates, again.replicates)
    assert not np.allclose(first.replicates["bootstrap"], other.replicates["bootstrap"])
    # replicate b does not depend on how many replicates run
    longer = bootstrap_value(base, a, inputs, replicates=8, seed=7)
    pd.testing.assert_frame_equal(first.replicates, longer.replicates.iloc[:6])


def test_replicates_vary_and_the_range_contains_the_point(result):
    reps = result.replicates
    assert reps["combined"].notna().all() and reps["bootstrap"].std() > 0
    assert reps["parameter"].std() > 0
    assert result.percentile(10) < result.value < result.percentile(90)
    assert result.percentile(10) <= result.percentile(50) <= result.percentile(90)


def test_parameter_draws_are_positive_and_centred(base_and_params):
    base, _ = base_and_params
    model = base.purchase_.purchase_model_
    rng = np.random.default_rng(0)
    draws = np.array([np.asarray(draw_parameters(model, rng).params_) for _ in range(400)])
    assert (draws > 0).all()
    theta = np.asarray(model.params_)
    se = np.asarray(model.standard_errors_)
    assert np.all(np.abs(np.median(draws, axis=0) - theta) < 0.5 * se)
    assert np.asarray(model.params_) is not draws[0]  # the fitted model is untouched
    assert np.allclose(np.asarray(model.params_), theta)


class _Range:
    def __init__(self, values):
        self.values = np.asarray(values, float)

    def value_at(self, p):
        return float(np.percentile(self.values, p))

    def share_below(self, price):
        return float((self.values < price).mean())


def test_buyer_and_seller_positions_mirror_each_other():
    unc = _Range(np.arange(1, 1001))
    buyer, seller = price_positions(unc, "buyer"), price_positions(unc, "seller")
    assert buyer.loc["anchor", "price"] < buyer.loc["target", "price"] < buyer.loc["walk_away", "price"]
    assert seller.loc["anchor", "price"] > seller.loc["target", "price"] > seller.loc["walk_away", "price"]
    assert buyer.loc["anchor", "percentile"] == "P10" and seller.loc["anchor", "percentile"] == "P90"
    high = agreement_zone(buyer, "buyer", 900.0, unc)
    assert high["exists"] is False and high["gap"] == pytest.approx(900 - buyer.loc["walk_away", "price"])
    low = agreement_zone(buyer, "buyer", 300.0, unc)
    assert low["exists"] is True and low["high"] == 300.0 and low["asking_percentile"] == pytest.approx(0.299)


def test_earn_out_counts_and_payouts():
    eo = earn_out(1_000_000.0, 0.3, eligible=2000, retention_probability=0.7,
                  effective_size=500, seed=1)
    t = eo.table
    assert eo.amount == pytest.approx(300_000)
    assert t.loc["expected", "retained_customers"] == pytest.approx(1400)
    assert t.loc["P10", "retained_customers"] < 1400 < t.loc["P90", "retained_customers"]
    assert t.loc["expected", "payout"] == pytest.approx(300_000)
    assert t.loc["P10", "payout"] == pytest.approx(300_000 * t.loc["P10", "retained_customers"] / 1400)
    assert t.loc["P90", "payout"] == pytest.approx(300_000)  # capped


def test_result_tables_and_json_hold_aggregates_only(result):
    data = result.to_json_dict()
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    assert not re.search(r"tok\d{6}", text)
    assert data["value"] == pytest.approx(result.value, abs=0.01)
    # the re-consent scenario follows the value of the transferable base (issue 16)
    assert [row["step"] for row in data["bridge"]][-3:] == [
        "transferable_value", "reconsent_recovery", "value_with_reconsent"]
    assert set(result.tornado.index) == {"annual_discount_rate", "gross_margin", "one_off_loss",
                                         "horizon_years", "inactivity_days"}
    assert result.scenario_grid.shape[0] >= 5 and result.scenario_grid.notna().all().all()
    # more attrition and a higher rate both lower the value in the grid
    grid = result.scenario_grid
    assert (np.diff(grid.to_numpy(), axis=0) < 0).all() and (np.diff(grid.to_numpy(), axis=1) < 0).all()
    top = result.concentration_top
    assert 0 < top.loc["top_1pct", "share"] < top.loc["top_10pct", "share"] < 1
    seg = result.concentration_segments
    shown = seg.loc[~seg["suppressed"]]
    assert shown.groupby("dimension")["customers"].sum().max() <= 300
    assert result.zone["asking_price"] == 150000.0
    assert result.price_checks.loc["revenue_multiple", "price"] > 0
    assert {"consent_gap", "data_quality", "churn_after_transfer", "concentration"} <= set(result.risks.index)
    # complete for the brief
    for key in ("bridge", "range", "tornado", "scenario_grid", "concentration", "positions",
                "zone", "price_checks", "earn_out", "risks", "method_notes",
                "expected_active_12m", "acquisitions", "streams", "purchase_method"):
        assert key in data
    assert data["range"]["p10"] < data["range"]["point"] < data["range"]["p90"]
    assert sum(data["range"]["histogram"]["counts"]) == 20
    for risk in data["risks"]:
        assert risk["label_en"] != risk["risk"] and "_" not in risk["label_en"] + risk["label_zh"]
    assert data["expected_active_12m"]["transferable_after_transfer"] > 0
    assert "assumption:" not in result.summary("en") and "assumption:" not in result.summary("zh")
    for lang, word in (("en", "transferable"), ("zh", "可转让")):
        assert word in result.summary(lang)
