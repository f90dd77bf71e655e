import numpy as np
import pytest
from valuation.units import WEEKS_PER_YEAR

from valuation.clv import customer_clv
from valuation.errors import ModelInputError
from valuation.models import BetaGeo, GammaGamma, ParetoNBD


@pytest.fixture(scope="module")
def fitted(cdnow_rfm):
    rfm = cdnow_rfm
    bg = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    pn = ParetoNBD().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    gg = GammaGamma().fit(rfm["frequency"], rfm["monetary_value"])
    return bg, pn, gg


def test_columns_and_identity(cdnow_rfm, fitted):
    bg, _, gg = fitted
    out = customer_clv(cdnow_rfm, bg, gg, gross_margin=0.3, annual_discount_rate=0.15)
    assert list(out.columns) == ["p_alive", "expected_purchases_1y", "dert", "expected_spend", "clv"]
    assert out.index.equals(cdnow_rfm.index)
    assert out["clv"].to_numpy() == pytest.approx((out["dert"] * out["expected_spend"] * 0.3).to_numpy())
    assert np.all(np.isfinite(out.to_numpy()))
    # a customer without repeat purchases gets the population mean spend
    assert out.loc[cdnow_rfm["frequency"] == 0, "expected_spend"].nunique() == 1
    assert out["expected_spend"].iloc[2] == pytest.approx(gg.mean_spend())


def test_pareto_dert_independent_check(cdnow_rfm, fitted):
    # DERT of the first CDNOW customer by a direct integral over the posterior of mu
    _, pn, gg = fitted
    r, al, s, be = pn.params_
    row = cdnow_rfm.iloc[0]
    x, T = row["frequency"], row["T"]
    delta = np.log(1.15) / WEEKS_PER_YEAR  # the default periods a year (valuation.units)
    from scipy.integrate import quad
    from scipy.stats import gamma as gamma_dist

    post = gamma_dist(a=s, scale=1 / (be + T))
    e_inv = quad(lambda m: post.pdf(m) / (m + delta), 0, np.inf, limit=500)[0]
    alive = pn.p_alive([x], [row["recency"]], [T])[0]
    expected = alive * (r + x) / (al + T) * e_inv
    out = customer_clv(cdnow_rfm.iloc[:1], pn, gg, gross_margin=1.0, annual_discount_rate=0.15)
    assert out["dert"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_finite_horizon(cdnow_rfm, fitted):
    bg, pn, gg = fitted
    rfm = cdnow_rfm.iloc[:200]
    for model in (bg, pn):
        unlimited = customer_clv(rfm, model, gg, gross_margin=0.5, annual_discount_rate=0.15)
        five = customer_clv(rfm, model, gg, gross_margin=0.5, annual_discount_rate=0.15, horizon_years=5)
        one = customer_clv(rfm, model, gg, gross_margin=0.5, annual_discount_rate=0.15, horizon_years=1)
        assert np.all(one["clv"] < five["clv"]) and np.all(five["clv"] < unlimited["clv"])
        # one year of discounted purchases is a little less than the undiscounted year
        ratio = one["dert"] / one["expected_purchases_1y"]
        assert np.all((ratio > 0.92) & (ratio < 1.0))
        # a higher discount rate lowers the value
        dear = customer_clv(rfm, model, gg, gross_margin=0.5, annual_discount_rate=0.30)
        assert np.all(dear["clv"] < unlimited["clv"])


def test_errors(cdnow_rfm, fitted):
    bg, _, gg = fitted
    with pytest.raises(ModelInputError, match="gross_margin"):
        customer_clv(cdnow_rfm, bg, gg, gross_margin=1.5, annual_discount_rate=0.15)
    with pytest.raises(ModelInputError, match="missing column"):
        customer_clv(cdnow_rfm.drop(columns="monetary_value"), bg, gg, gross_margin=0.3,
                     annual_discount_rate=0.15)
    with pytest.raises(ModelInputError, match="annual_discount_rate"):
        customer_clv(cdnow_rfm, bg, gg, gross_margin=0.3, annual_discount_rate=0.0)
