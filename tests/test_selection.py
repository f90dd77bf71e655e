"""Model choice by holdout (valuation.value.selection) and the opportunity summary."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from valuation.errors import ModelInputError
from valuation.features import opportunity_summary, repeat_period_collisions, rfm_summary
from valuation.value.selection import (
    MISS_THRESHOLD,
    ModelChoice,
    choose,
    compare_models,
    widen_uncertainty,
)

START = pd.Timestamp("2016-01-01")
CAL_END = pd.Timestamp("2023-12-31")
AS_OF = pd.Timestamp("2024-12-31")
PARAMS = SimpleNamespace(calibration_end=CAL_END.date(), as_of=AS_OF.date(), time_unit="W")


def yearly_occasions(n: int, seed: int) -> pd.DataFrame:
    """Customers who can buy only at their yearly occasion (the anniversary of their first
    purchase, e.g. an exam sitting): alive ones buy with p ~ Beta(2, 3); before each
    occasion they leave with theta ~ Beta(1, 3). Simulated here, independent of the code."""
    rng = np.random.default_rng(seed)
    first = START + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")
    p = rng.beta(2.0, 3.0, n)
    theta = rng.beta(1.0, 3.0, n)
    rows = [(i, first[i]) for i in range(n)]
    for i in range(n):
        k = 1
        while True:
            day = first[i] + pd.DateOffset(years=k)
            if day > AS_OF or rng.random() < theta[i]:
                break
            if rng.random() < p[i]:
                rows.append((i, day))
            k += 1
    frame = pd.DataFrame(rows, columns=["customer_token", "order_date"])
    frame["customer_token"] = "c" + frame["customer_token"].astype(str)
    frame["net_amount"] = 100.0
    return frame


def poisson_purchases(n: int, seed: int) -> pd.DataFrame:
    """Customers buying at random days (Poisson, 3 a year), never leaving."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        day = START + pd.Timedelta(days=int(rng.integers(0, 6 * 365)))
        while day <= AS_OF:
            rows.append((f"c{i}", day))
            day += pd.Timedelta(days=max(1, int(rng.exponential(365 / 3))))
    return pd.DataFrame(rows, columns=["customer_token", "order_date"]).assign(net_amount=50.0)


@pytest.fixture(scope="module")
def discrete_orders():
    return yearly_occasions(3_000, seed=5)


def test_discrete_stream_is_detected_and_bgbb_wins_the_holdout(discrete_orders):
    tokens = pd.Index(discrete_orders["customer_token"].unique())
    choice = compare_models(discrete_orders, PARAMS, tokens)
    assert choice.discrete
    assert set(choice.table.index) == {"BetaGeo", "ParetoNBD", "BetaGeoBetaBinom"}
    assert choice.chosen == "BetaGeoBetaBinom"
    row = choice.table.loc["BetaGeoBetaBinom"]
    assert abs(row["aggregate_error"]) < 0.10
    assert row["actual"] == pytest.approx(
        ((discrete_orders["order_date"] > CAL_END)
         & discrete_orders["customer_token"].isin(
             discrete_orders.loc[discrete_orders["order_date"] <= CAL_END, "customer_token"])
         ).sum())
    assert not choice.missed
    data = choice.to_dict()
    assert data["chosen"] == "BetaGeoBetaBinom" and len(data["candidates"]) == 3


def test_continuous_stream_has_no_bgbb_candidate():
    orders = poisson_purchases(400, seed=2)
    share, cells = repeat_period_collisions(orders)
    assert share > 0.5 and cells > 300
    choice = compare_models(orders, PARAMS, pd.Index(orders["customer_token"].unique()))
    assert not choice.discrete
    assert "BetaGeoBetaBinom" not in choice.table.index
    assert choice.chosen in {"BetaGeo", "ParetoNBD"}


def test_the_rule_prefers_aggregate_then_mae():
    table = pd.DataFrame({"aggregate_error": [0.05, -0.06, 0.30, np.nan],
                          "mae": [0.50, 0.40, 0.10, 0.01],
                          "status": ["ok", "ok", "ok", "failed: x"]},
                         index=["A", "B", "C", "D"])
    assert choose(table) == "B"  # within 2 points of the best aggregate, smaller MAE
    table.loc["B", "aggregate_error"] = -0.08
    assert choose(table) == "A"
    assert choose(table.assign(status="failed: y")) is None


def test_a_miss_widens_the_range_by_the_measured_error():
    from valuation.value.uncertainty import UncertaintyResult

    reps = pd.DataFrame({"combined": [80.0, 90.0, 100.0, 110.0, 120.0, np.nan]})
    pct = pd.DataFrame({"combined": [85.0, 115.0]}, index=["P10", "P90"])
    unc = UncertaintyResult(point=100.0, replicates=reps, percentiles=pct, seed=0, failed=1)
    wide, shift = widen_uncertainty(unc, -0.2, stream_value=50.0)
    assert shift == pytest.approx(10.0)
    assert wide.replicates["combined"].tolist()[:5] == [70.0, 80.0, 100.0, 120.0, 130.0]
    assert wide.percentiles.loc["P10", "combined"] == pytest.approx(
        np.percentile([70, 80, 100, 120, 130], 10))
    assert wide.point == 100.0
    table = pd.DataFrame({"aggregate_error": [-0.2], "mae": [1.0], "status": ["ok"],
                          "chosen": [True]}, index=["BetaGeo"])
    choice = ModelChoice(table, "BetaGeo", False, "", ("a", "b"))
    assert choice.missed and abs(choice.chosen_error) > MISS_THRESHOLD


def test_opportunity_summary_known_answers():
    orders = pd.DataFrame({
        "customer_token": ["a", "a", "a", "a", "b", "c", "c"],
        "order_date": pd.to_datetime(["2020-03-01", "2021-03-05", "2021-04-01", "2023-03-02",
                                      "2023-10-01", "2022-09-30", "2024-02-01"]),
        "amount": [10.0, 20.0, 5.0, 40.0, 7.0, 9.0, 11.0]})
    table = opportunity_summary(orders, calibration_end="2023-12-31",
                                observation_end="2024-12-31")
    a = table.loc["a"]
    # periods of a (from 2020-03-01): 2021-03-05 and 2021-04-01 fall in period 1 (one
    # transaction, amounts summed); 2023-03-02 in period 3, still running at the calibration
    # end, 10 months in (complete periods after the first: 1 and 2)
    assert (a["frequency"], a["recency"], a["n_periods"]) == (1.0, 1.0, 2.0)
    assert a["monetary_value"] == pytest.approx(25.0)
    assert a["in_progress"] == 1.0  # known to have bought in the running period
    assert a["frequency_holdout"] == 0.0
    assert a["offset"] == pytest.approx(10 / 12, abs=0.01)
    b = table.loc["b"]
    assert (b["frequency"], b["n_periods"]) == (0.0, 0.0) and b["offset"] < 0
    c = table.loc["c"]  # 15 months after 2022-09-30: a quarter into period 1, not observed
    assert c["frequency_holdout"] == 1.0 and c["n_periods"] == 0.0 and c["in_progress"] == 0.0
    assert c["offset"] == pytest.approx(0.25, abs=0.01)
    assert table["duration_holdout"].iloc[0] == pytest.approx(366 / 365.25)
    assert np.allclose(table.attrs["timing"], np.linspace(0, 1, 21))


def test_empty_calibration_period_is_a_clear_error():
    orders = pd.DataFrame({"customer_token": ["a"], "order_date": pd.to_datetime(["2024-05-01"]),
                           "amount": [1.0]})
    for summary in (rfm_summary, opportunity_summary):
        with pytest.raises(ModelInputError, match="calibration period is empty"):
            summary(orders, calibration_end="2023-12-31")


def test_valuation_carries_the_comparison_and_widens_the_range_on_a_miss(monkeypatch):
    import json

    from test_value_fixtures import make_params, synthetic_tables
    from valuation.report import sections
    from valuation.value import valuate

    tables, params = synthetic_tables(300, seed=3), make_params()
    clean = valuate(tables, params, replicates=12)
    choice = clean.models["purchase_model_choice"]
    assert choice["chosen"] in {"BetaGeo", "ParetoNBD"} and len(choice["candidates"]) >= 2
    assert json.loads(json.dumps(clean.to_json_dict(), allow_nan=False))["models"][
        "purchase_model_choice"]["rule"].startswith("smallest absolute aggregate")
    ctx = SimpleNamespace(lang="en")
    table = sections.model_choice_table(ctx, clean)
    assert "| model | predicted | actual |" in table and "✓" in table
    if not choice["missed"]:
        assert sections.holdout_miss_lines(ctx, clean) == []
    # plant a miss: every error counts as one (threshold 0)
    monkeypatch.setattr("valuation.value.selection.MISS_THRESHOLD", 0.0)
    missed = valuate(tables, params, replicates=12)
    data = missed.models["purchase_model_choice"]
    assert data["missed"]
    note = next(n for n in missed.method_notes if n.startswith("HOLDOUT MISS"))
    shift = float(note.split("i.e. by ")[1].split(" CNY")[0].replace(",", ""))
    assert shift > 0
    assert missed.value == clean.value
    assert missed.percentile(10) == pytest.approx(clean.percentile(10) - shift, abs=1.0)  # shift rounded
    assert missed.percentile(90) == pytest.approx(clean.percentile(90) + shift, abs=1.0)
    lines = sections.holdout_miss_lines(ctx, missed)
    assert lines and "missed its holdout" in lines[0]
    assert "放宽" in sections.holdout_miss_lines(SimpleNamespace(lang="zh"), missed)[0]
