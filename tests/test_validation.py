import numpy as np
import pytest

from valuation.errors import ModelInputError
from valuation.models import BetaGeo
from valuation.validation import cumulative_tracking, holdout_by_frequency, holdout_comparison


@pytest.fixture(scope="module")
def bg(cdnow_rfm):
    return BetaGeo().fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])


def test_holdout_comparison(cdnow_rfm, bg):
    comp = holdout_comparison(cdnow_rfm, bg)
    assert comp["actual"].sum() == 1882 and len(comp) == 2357
    expected = bg.conditional_expected_purchases(39, cdnow_rfm["frequency"], cdnow_rfm["recency"],
                                                 cdnow_rfm["T"])
    assert comp["predicted"].to_numpy() == pytest.approx(expected.to_numpy())
    groups = holdout_by_frequency(comp)
    assert list(groups.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert groups["customers"].sum() == 2357 and groups.loc["0", "customers"] == 1411
    # the model tracks the conditional expectations by group (FHL 2005, fig. 4)
    assert groups.loc["0", "actual"] == pytest.approx(334 / 1411)
    assert np.all(np.abs(groups["predicted"] - groups["actual"]) < 0.6)
    with pytest.raises(ModelInputError, match="observation_end"):
        holdout_comparison(cdnow_rfm.drop(columns="frequency_holdout"), bg)


def test_cumulative_tracking(cdnow_transactions, cdnow_rfm, bg):
    track = cumulative_tracking(cdnow_transactions, bg, customer_id="customer_id", date="date",
                                start="1997-01-01", end="1998-06-30")
    assert len(track) == 78
    assert track.loc[39, "actual_cumulative"] == 2457
    assert track.loc[78, "actual_cumulative"] == 2457 + 1882
    assert str(track.loc[39, "period_end"].date()) == "1997-09-30"
    # at the calibration end the expected count is the sum of E[X(T_i)]
    assert track.loc[39, "predicted_cumulative"] == pytest.approx(
        bg.expected_purchases(cdnow_rfm["T"].to_numpy()).sum(), rel=1e-9)
    assert track["actual"].sum() == track["actual_cumulative"].iloc[-1]
    assert abs(track.loc[78, "predicted_cumulative"] / 4339 - 1) < 0.06
