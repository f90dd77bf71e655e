import numpy as np
import pandas as pd
import pytest

from valuation.errors import ConvergenceWarning, ModelInputError
from valuation.features import calibration_holdout_split, rfm_summary


def test_cdnow_preparation_counts(cdnow_transactions, cdnow_rfm):
    merged = cdnow_transactions.groupby(["customer_id", "date"]).size()
    assert len(cdnow_transactions) == 6919 and len(merged) == 6696
    assert len(cdnow_rfm) == 2357
    assert cdnow_rfm["frequency"].sum() == 2457
    assert cdnow_rfm["frequency_holdout"].sum() == 1882
    assert (cdnow_rfm["frequency"] == 0).sum() == 1411
    assert (cdnow_rfm["duration_holdout"] == 39).all()
    # T of a customer who started on 1997-01-01 is 272 days = 38.857 weeks
    assert cdnow_rfm["T"].max() == pytest.approx(272 / 7)


def test_cdnow_monetary_value_is_mean_repeat_spend(cdnow_rfm):
    repeaters = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    assert len(repeaters) == 946
    assert repeaters["monetary_value"].mean() == pytest.approx(35.08, abs=0.005)
    assert (cdnow_rfm.loc[cdnow_rfm["frequency"] == 0, ["monetary_value", "recency"]] == 0).all().all()


def test_toy_example_known_answer():
    tx = pd.DataFrame(
        {
            "c": ["a", "a", "a", "a", "b", "c", "c"],
            "d": ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-22", "2024-01-15",
                  "2024-01-29", "2024-02-12"],
            "amt": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0, 9.0],
        }
    )
    before = tx.copy()
    rfm = rfm_summary(tx, customer_id="c", date="d", amount="amt",
                      calibration_end="2024-01-29", observation_end="2024-02-26")
    pd.testing.assert_frame_equal(tx, before)  # input untouched
    a = rfm.loc["a"]
    assert (a["frequency"], a["recency"], a["T"]) == (2, 3, 4)  # same-day purchases merged
    assert a["monetary_value"] == 30  # mean of 20 and 40; the merged first purchase excluded
    assert rfm.loc["b", "frequency"] == 0 and rfm.loc["b", "T"] == 2
    assert rfm.loc["c", "frequency_holdout"] == 1 and rfm.loc["c", "T"] == 0
    assert rfm["duration_holdout"].iloc[0] == 4
    days = rfm_summary(tx, customer_id="c", date="d", amount="amt",
                       calibration_end="2024-01-29", time_unit="D")
    assert days.loc["a", "T"] == 28 and "frequency_holdout" not in days


def test_split_and_errors():
    tx = pd.DataFrame({"c": [1, 1, 2], "d": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01"])})
    cal, hold = calibration_holdout_split(tx, date="d", calibration_end="2024-02-01",
                                          observation_end="2024-04-01")
    assert len(cal) == 1 and len(hold) == 1
    with pytest.raises(ModelInputError, match="after calibration_end"):
        calibration_holdout_split(tx, date="d", calibration_end="2024-02-01", observation_end="2024-01-01")
    with pytest.raises(ModelInputError, match="missing column"):
        rfm_summary(tx, customer_id="nope", date="d", amount=None)
    bad = pd.DataFrame({"c": [1], "d": ["not a date"], "a": [1.0]})
    with pytest.raises(ModelInputError, match="unreadable"):
        rfm_summary(bad, customer_id="c", date="d", amount="a")
    with pytest.raises(ModelInputError, match="time_unit"):
        rfm_summary(tx, customer_id="c", date="d", amount=None, time_unit="Y")


def test_first_purchase_on_calibration_end_is_kept_and_fits():
    from valuation.models import BetaGeo

    rng = np.random.default_rng(8)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, size=3000), unit="D")
    tx = pd.DataFrame({"c": rng.integers(0, 600, size=3000), "d": days})
    late = pd.DataFrame({"c": [10_000, 10_001], "d": pd.to_datetime(["2024-04-30"] * 2)})
    rfm = rfm_summary(pd.concat([tx, late], ignore_index=True), customer_id="c", date="d",
                      amount=None, calibration_end="2024-04-30")
    assert rfm.loc[[10_000, 10_001], ["frequency", "recency", "T"]].eq(0).all().all()
    # uniform random purchases: Poisson rates without heterogeneity, so BG/NBD's r and alpha
    # run off together; the fit keeps the flat optimum and says so
    with pytest.warns(ConvergenceWarning, match="flat at the optimum"):
        model = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    assert model.n_customers_ == len(rfm)
    assert np.all(model.p_alive(rfm["frequency"], rfm["recency"], rfm["T"]).loc[[10_000, 10_001]] == 1)
