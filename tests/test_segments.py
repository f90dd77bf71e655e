"""Value tiers, tier summaries and the churn-prediction benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _survival_fixtures import AS_OF, synthetic_tables
from valuation.errors import ModelInputError, NotFittedError
from valuation.segments import (
    TIER_LABELS,
    ChurnClassifier,
    churn_benchmark,
    churn_features,
    evaluate_churn_predictions,
    holdout_inactive,
    tier_summary,
    value_tiers,
)


def test_value_tiers_sizes_order_and_ties():
    value = pd.Series(np.arange(100, 0, -1, dtype=float), index=[f"t{i:03d}" for i in range(100)])
    tiers = value_tiers(value)
    assert tiers.value_counts().reindex(TIER_LABELS).tolist() == [10, 20, 30, 40]
    assert tiers.loc["t000"] == TIER_LABELS[0] and tiers.loc["t099"] == TIER_LABELS[-1]
    assert tiers.cat.ordered
    # ties are broken by token, so the assignment does not depend on row order
    flat = pd.Series(1.0, index=[f"t{i:02d}" for i in range(10)])
    shuffled = flat.sample(frac=1.0, random_state=3)
    pd.testing.assert_series_equal(value_tiers(flat, cuts=[0.5]).sort_index(),
                                   value_tiers(shuffled, cuts=[0.5]).sort_index())
    assert value_tiers(flat, cuts=[0.5]).loc["t00"] == "tier 1"
    with pytest.raises(ModelInputError):
        value_tiers(flat, cuts=[0.6, 0.3])


def test_tier_summary_shares_and_suppression():
    value = pd.Series([1000.0, 500, 100, 50, 40, 30, 20, 10, 5, 1] * 2,
                      index=[f"t{i:02d}" for i in range(20)])
    tiers = value_tiers(value, cuts=[0.2, 0.5])
    summary = tier_summary(tiers, value, clv=value * 2).set_index("tier")
    assert summary["customers"].tolist() == [4, 6, 10]
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    assert summary.loc["tier 1", "revenue"] == pytest.approx(3000.0)
    assert summary.loc["tier 1", "clv_share"] == pytest.approx(3000.0 / value.sum())
    assert summary.loc["tier 1", "mean_clv"] == pytest.approx(1500.0)
    suppressed = tier_summary(tiers, value, min_cell_size=5).set_index("tier")
    assert suppressed.loc["tier 1", "suppressed"] and pd.isna(suppressed.loc["tier 1", "revenue"])


def test_churn_features_use_nothing_after_the_cutoff():
    tables = synthetic_tables(n=300, seed=6)
    cut = pd.Timestamp("2024-06-30")
    features = churn_features(tables, cut)
    truncated = {
        **tables,
        "orders": tables["orders"].loc[tables["orders"]["order_date"] <= cut],
        "activity": tables["activity"].loc[tables["activity"]["event_date"] <= cut],
    }
    pd.testing.assert_frame_equal(features, churn_features(truncated, cut))
    assert (features["days_since_last_seen"] >= 0).all()
    assert (features["events_90d"] <= features["events_total"]).all()
    assert isinstance(features["channel"].dtype, pd.CategoricalDtype)


def test_holdout_inactive_known_answer():
    tables = {
        "orders": pd.DataFrame({"customer_token": pd.array(["a", "b"], dtype="string"),
                                "order_date": pd.to_datetime(["2025-01-01", "2025-01-01"]),
                                "amount": [1.0, 1.0]}),
        "activity": pd.DataFrame({"customer_token": pd.array(["a", "b"], dtype="string"),
                                  "event_date": pd.to_datetime(["2025-03-01", "2025-05-01"])}),
    }
    labels = holdout_inactive(tables, "2025-02-01", "2025-04-30", pd.Index(["a", "b", "z"]))
    assert labels.to_dict() == {"a": 0, "b": 1, "z": 1}


def test_evaluate_known_answers():
    labels = pd.Series([0, 0, 1, 1], index=list("abcd"))
    perfect = pd.Series([0.0, 0.0, 1.0, 1.0], index=list("abcd"))
    reversed_ = pd.Series([0.9, 0.8, 0.2, 0.1], index=list("abcd"))
    metrics, calibration = evaluate_churn_predictions(
        labels, {"perfect": perfect, "reversed": reversed_}
    )
    metrics = metrics.set_index("model")
    assert metrics.loc["perfect", "auc"] == 1.0 and metrics.loc["perfect", "brier"] == 0.0
    assert metrics.loc["reversed", "auc"] == 0.0
    assert metrics.loc["reversed", "brier"] == pytest.approx((0.81 + 0.64 + 0.64 + 0.81) / 4)
    assert metrics.loc["perfect", "brier_baseline"] == 0.25
    top = calibration.loc[(calibration["model"] == "perfect") & (calibration["bin"] == "[0.9, 1.0]")]
    assert top["customers"].iloc[0] == 2 and top["observed_rate"].iloc[0] == 1.0


def test_classifier_is_seeded_and_guards():
    tables = synthetic_tables(n=400, seed=9)
    x = churn_features(tables, "2024-12-31")
    y = holdout_inactive(tables, "2024-12-31", AS_OF, x.index)
    with pytest.raises(NotFittedError):
        ChurnClassifier().predict_proba(x)
    with pytest.raises(ModelInputError, match="both classes"):
        ChurnClassifier().fit(x, pd.Series(0, index=x.index))
    first = ChurnClassifier(random_state=4).fit(x, y).predict_proba(x)
    second = ChurnClassifier(random_state=4).fit(x, y).predict_proba(x)
    pd.testing.assert_series_equal(first, second)


@pytest.fixture(scope="module")
def benchmark():
    tables = synthetic_tables(n=1200, seed=12)
    p_alive = pd.Series(0.5, index=tables["customers"]["customer_token"].astype(str))
    return churn_benchmark(tables, "2024-12-31", AS_OF, p_alive=p_alive, random_state=0)


def test_benchmark_compares_models_on_the_same_customers(benchmark):
    metrics = benchmark.metrics.set_index("model")
    assert set(metrics.index) == {"gradient_boosting", "cox", "bgnbd"}
    assert metrics["customers"].nunique() == 1
    # activity here is weekly until the end of life: recency separates churners cleanly
    assert metrics.loc["gradient_boosting", "auc"] > 0.9
    assert metrics.loc["gradient_boosting", "brier"] < metrics.loc["gradient_boosting",
                                                                   "brier_baseline"]
    assert metrics.loc["cox", "auc"] > 0.7
    # a constant P(alive) carries no ranking information
    assert metrics.loc["bgnbd", "auc"] == pytest.approx(0.5)
    assert set(benchmark.predictions.columns) == {"inactive", "gradient_boosting", "cox", "bgnbd"}


def test_benchmark_needs_history_before_the_training_cutoff():
    tables = synthetic_tables(n=200, seed=1, years=1.0)
    with pytest.raises(ModelInputError, match="shorten the holdout"):
        churn_benchmark(tables, "2024-09-01", AS_OF)


@pytest.mark.slow
def test_online_school_benchmark_with_bgnbd(tmp_path):
    from _survival_fixtures import load_sample

    import valuation.features as features
    import valuation.models as models
    tables, params, _ = load_sample("online_school", tmp_path)
    orders = tables["orders"].loc[tables["orders"]["amount"] > 0]
    rfm = features.rfm_summary(orders, calibration_end=params.calibration_end, time_unit="W")
    rfm = rfm.loc[rfm["T"] > 0]  # first purchase on the calibration day: no time observed
    bgnbd = models.BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    p_alive = pd.Series(np.asarray(bgnbd.p_alive(rfm["frequency"], rfm["recency"], rfm["T"])),
                        index=rfm.index)
    result = churn_benchmark(tables, params.calibration_end, params.as_of,
                             inactivity_days=params.churn.inactivity_days, p_alive=p_alive,
                             min_cell_size=params.privacy.min_cell_size)
    metrics = result.metrics.set_index("model")
    assert set(metrics.index) == {"gradient_boosting", "cox", "bgnbd"}
    assert (metrics["auc"] > 0.7).all()  # every model ranks churners far better than chance
    assert metrics.loc["gradient_boosting", "brier"] < metrics.loc["gradient_boosting",
                                                                   "brier_baseline"]
    assert metrics.loc["bgnbd", "brier"] < metrics.loc["bgnbd", "brier_baseline"]
    small = result.calibration.loc[result.calibration["suppressed"]]
    assert small["mean_predicted"].isna().all()
