"""Positions from a negotiation analysis (issue 16): invariants on generated inputs, and
known answers on hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valuation.value.positions import CONCESSION_SHARES, PositionInputs, plan_positions

money = st.floats(min_value=-2e6, max_value=5e7, allow_nan=False, allow_infinity=False)
price = st.one_of(st.none(), st.floats(min_value=1.0, max_value=5e7, allow_nan=False))


@st.composite
def inputs(draw, side=None):
    centre = draw(money)
    width = draw(st.floats(min_value=0.0, max_value=3e6))
    seed = draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).normal(centre, width, 200)
    levers = pd.DataFrame({
        "low": [0.0, 3.0], "high": [0.3, 10.0], "base_input": [0.1, 5.0],
        "value_low": [centre + width, centre - width / 2],
        "value_high": [centre - width, centre + width / 2], "base_value": [centre, centre]},
        index=["one_off_loss", "horizon_years"])
    return PositionInputs(
        side=side or draw(st.sampled_from(["buyer", "seller"])), values=values,
        standalone=draw(money), price=draw(price),
        price_kind=draw(st.sampled_from(["ask", "offer"])),
        batna=draw(st.one_of(st.none(), st.floats(min_value=0, max_value=5e7))),
        levers=draw(st.sampled_from([None, levers])))


SETTINGS = settings(derandomize=True, max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-6


@SETTINGS
@given(inputs(side="buyer"))
def test_buyer_never_offers_or_aims_above_the_ask(case):
    plan = plan_positions(case)
    assert 0 <= plan.anchor <= plan.target + TOL
    assert plan.target <= plan.walk_away + TOL
    if case.price is not None:
        assert plan.walk_away <= case.price + TOL
        assert plan.target <= case.price + TOL and plan.anchor <= case.price + TOL


@SETTINGS
@given(inputs(side="seller"))
def test_seller_never_asks_below_an_offer_on_the_table(case):
    plan = plan_positions(case)
    assert plan.anchor + TOL >= plan.target >= plan.walk_away - TOL >= -TOL
    if case.price is not None:
        assert plan.walk_away >= case.price - TOL
        assert plan.target >= case.price - TOL and plan.anchor >= case.price - TOL


@SETTINGS
@given(inputs())
def test_concessions_shrink_and_end_at_the_walk_away(case):
    plan = plan_positions(case)
    steps = plan.concessions
    if not len(steps):
        assert abs(plan.walk_away - plan.anchor) < 1e-6
        return
    assert len(steps) == len(CONCESSION_SHARES)
    assert np.all(np.diff(steps["size"].to_numpy(float)) <= TOL)
    assert steps["from_price"].iloc[0] == pytest.approx(plan.anchor)
    assert steps["to_price"].iloc[-1] == pytest.approx(plan.walk_away, abs=1e-3)
    # every step has a justification (a conceded assumption or a percentile)
    assert steps["code"].isin(["concede_assumption", "range_percentile"]).all()
    assert steps["percentile"].between(0, 100).all()


@SETTINGS
@given(inputs())
def test_zone_and_gap_are_consistent(case):
    plan = plan_positions(case)
    zone = plan.zone
    if zone["exists"]:
        assert zone["low"] <= zone["high"] + TOL and not zone["bridging"]
    else:
        assert zone["gap"] > 0
        assert {b["structure"] for b in zone["bridging"]} == {"earn_out", "instalments"}


def _values(center, width=100_000.0):
    return np.random.default_rng(0).normal(center, width, 2000)


def test_seller_with_an_offer_far_above_our_range_opens_above_it():
    """The bootcamp case of issue 16: the buyer offers 15m, the base is worth ~1.2m."""
    case = PositionInputs(side="seller", values=_values(1.2e6), standalone=1.0e6,
                          price=15e6, price_kind="offer")
    plan = plan_positions(case)
    assert plan.walk_away == 15e6
    assert plan.anchor > 15e6 and plan.target >= 15e6
    assert plan.zone["exists"] and plan.zone["low"] == 1.0e6
    assert plan.reasons["walk_away"]["code"] == "floored_at_counterparty_price"


def test_buyer_with_an_ask_below_our_range_never_aims_above_it():
    """online_school with its ask lowered to 1.5m (below our whole range)."""
    case = PositionInputs(side="buyer", values=_values(2.0e6), standalone=3.0e6,
                          price=1.5e6, price_kind="ask")
    plan = plan_positions(case)
    assert plan.walk_away == 1.5e6 and plan.target < 1.5e6 and plan.anchor < plan.target
    assert plan.zone["exists"]  # their reservation is at most their ask


def test_buyer_facing_an_ask_above_everything_gets_no_zone_and_bridges():
    case = PositionInputs(side="buyer", values=_values(2.0e6), standalone=3.0e6,
                          price=6e6, price_kind="ask")
    plan = plan_positions(case)
    assert not plan.zone["exists"]
    assert plan.zone["gap"] == pytest.approx(3.0e6 - plan.walk_away)
    assert plan.walk_away == pytest.approx(np.percentile(case.values, 50))
    instalments = next(b for b in plan.zone["bridging"] if b["structure"] == "instalments")
    assert instalments["nominal_price"] > plan.walk_away


def test_buyer_batna_caps_the_reservation():
    case = PositionInputs(side="buyer", values=_values(2.0e6), standalone=1.0e6,
                          price=6e6, batna=1.5e6)
    plan = plan_positions(case)
    assert plan.reservation == 1.5e6 and plan.walk_away == 1.5e6
    assert plan.reasons["reservation"]["code"] == "batna_build"


def test_concessions_cite_the_widest_lever_first():
    levers = pd.DataFrame({"low": [3.0, 0.0], "high": [10.0, 0.3], "base_input": [5.0, 0.1],
                           "value_low": [1.5e6, 2.2e6], "value_high": [2.8e6, 1.9e6],
                           "base_value": [2.0e6, 2.0e6]}, index=["horizon_years", "one_off_loss"])
    plan = plan_positions(PositionInputs(side="buyer", values=_values(2.0e6), standalone=3e6,
                                         price=6e6, levers=levers))
    first = plan.concessions.iloc[0]
    assert first["assumption"] == "horizon_years" and first["concede_to"] == 10.0
    assert first["value_effect"] == pytest.approx(0.8e6)
    second = plan.concessions.iloc[1]  # the seller's view of the loss is the low end
    assert second["assumption"] == "one_off_loss" and second["concede_to"] == 0.0


def test_bad_side_is_an_error():
    with pytest.raises(ValueError, match="side"):
        plan_positions(PositionInputs(side="broker", values=_values(1.0), standalone=0.0))
