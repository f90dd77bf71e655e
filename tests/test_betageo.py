import numpy as np
import pandas as pd
import pytest

from conftest import numeric_gradient
from valuation.errors import ConvergenceError, ModelInputError, NotFittedError
from valuation.models import BetaGeo
from valuation.models.betageo import bgnbd_loglik, simulate_bgnbd


@pytest.fixture(scope="module")
def cdnow_bg(cdnow_rfm):
    return BetaGeo().fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])


def test_reproduces_fhl_2005(cdnow_bg):
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in expected.items():
        assert cdnow_bg.params_[name] == pytest.approx(value, abs=5e-4)
    assert cdnow_bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    # standard errors as lifetimes / Hardie's spreadsheet report them
    assert cdnow_bg.standard_errors_.to_numpy() == pytest.approx([0.0126, 0.378, 0.186, 0.705], abs=2e-3)


def test_expected_purchases_closed_form(cdnow_bg):
    # Hardie's spreadsheet (run at the unrounded MLE)
    got = cdnow_bg.expected_purchases([1, 3, 32, 78])
    assert got == pytest.approx([0.0532, 0.1506, 1.0437, 1.8576], abs=5e-4)
    # the Euler-transformed form equals the paper's eq. 7 at other parameters too
    from scipy.special import hyp2f1

    model = BetaGeo()
    model.params_ = pd.Series({"r": 0.9, "alpha": 3.0, "a": 2.5, "b": 4.0})
    t = np.array([0.5, 10.0, 100.0])
    r, al, a, b = 0.9, 3.0, 2.5, 4.0
    paper = (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b, a + b - 1, t / (al + t)))
    assert model.expected_purchases(t) == pytest.approx(paper, rel=1e-10)


def test_gradient_matches_finite_differences(cdnow_rfm):
    x, tx, T = (cdnow_rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.ones(len(x))
    for params in ([0.243, 4.414, 0.793, 2.426], [1.7, 0.8, 3.0, 0.6]):
        _, grad = bgnbd_loglik(np.array(params), x, tx, T, w)
        numeric = numeric_gradient(lambda p: bgnbd_loglik(p, x, tx, T, w)[0], params)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=2e-5)


def test_weights_equal_repeated_rows(cdnow_rfm):
    grouped = cdnow_rfm.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    fit_w = BetaGeo().fit(grouped["frequency"], grouped["recency"], grouped["T"], weights=grouped["n"])
    fit_raw = BetaGeo().fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    assert fit_w.params_.to_numpy() == pytest.approx(fit_raw.params_.to_numpy(), rel=1e-6)
    assert fit_w.log_likelihood_ == pytest.approx(fit_raw.log_likelihood_, abs=1e-6)
    assert fit_raw.n_rows_ < len(cdnow_rfm)


def test_stable_for_large_frequencies(cdnow_bg):
    x = np.array([0, 1, 300, 800, 800])
    tx = np.array([0, 1.0, 38.0, 38.8, 0.5])
    T = np.array([39.0, 39.0, 38.9, 38.9, 38.9])
    ll, grad = bgnbd_loglik(cdnow_bg.params_.to_numpy(), x, tx, T, np.ones(5))
    assert np.isfinite(ll) and np.all(np.isfinite(grad))
    alive = cdnow_bg.p_alive(x, tx, T)
    assert np.all((alive >= 0) & (alive <= 1)) and alive[0] == 1 and alive[4] < 1e-6
    cond = cdnow_bg.conditional_expected_purchases(39, x, tx, T)
    assert np.all(np.isfinite(cond)) and cond[3] > cond[2] > cond[1]
    dert = cdnow_bg.discounted_expected_transactions(x, tx, T, 0.15)
    assert np.all(np.isfinite(dert)) and np.all(dert >= 0)


def test_dert_matches_brute_force_sum(cdnow_bg):
    x, tx, T = np.array([0, 2, 7]), np.array([0.0, 30.4, 35.0]), np.array([38.9, 38.9, 38.9])
    delta = np.log(1.15) / 52
    # brute force: sum of discounted increments on a fine grid (midpoint discounting)
    grid = np.linspace(0, 40 / delta, 60_001)
    cum = np.vstack([cdnow_bg.conditional_expected_purchases(grid, xi, ti, Ti)
                     for xi, ti, Ti in zip(x, tx, T)])
    mid = (grid[1:] + grid[:-1]) / 2
    brute = (np.diff(cum, axis=1) * np.exp(-delta * mid)).sum(axis=1)
    got = cdnow_bg.discounted_expected_transactions(x, tx, T, 0.15)
    assert got == pytest.approx(brute, rel=1e-6)
    short = cdnow_bg.discounted_expected_transactions(x, tx, T, 0.15, horizon_periods=52)
    one_year = np.vstack([cdnow_bg.conditional_expected_purchases(52, xi, ti, Ti)
                          for xi, ti, Ti in zip(x, tx, T)])[:, 0]
    assert np.all(short < got) and np.all(short < one_year) and np.all(short > 0.9 * one_year)
    long = cdnow_bg.discounted_expected_transactions(x, tx, T, 0.15, horizon_periods=52 * 300)
    assert long == pytest.approx(got, rel=1e-8)


def test_series_in_series_out(cdnow_rfm, cdnow_bg):
    alive = cdnow_bg.p_alive(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    assert isinstance(alive, pd.Series) and alive.index.equals(cdnow_rfm.index)


def test_input_errors_name_customers_masked():
    idx = pd.Index(["13812345678", "ok1", "ok2", "bad-recency"])
    x = pd.Series([0, 1, 2, 1], index=idx)
    tx = pd.Series([3.0, 1.0, 2.0, 9.0], index=idx)
    T = pd.Series([5.0, 5.0, 5.0, 5.0], index=idx)
    with pytest.raises(ModelInputError) as err:
        BetaGeo().fit(x, tx, T)
    text = str(err.value)
    assert "recency > T" in text and "bad-recency" in text and "frequency 0 but recency > 0" in text
    assert "13812345678" not in text and "138" in text  # phone-like label masked
    with pytest.raises(ModelInputError, match="missing"):
        BetaGeo().fit([1, np.nan], [0.5, 1], [2, 2])
    with pytest.raises(ModelInputError, match="negative"):
        BetaGeo().fit([1, -1], [0.5, 0], [2, 2])
    with pytest.raises(NotFittedError):
        BetaGeo().expected_purchases(1)


def test_convergence_error_with_checklist():
    # nobody ever buys again: the dropout process is not identified
    with pytest.raises(ConvergenceError) as err:
        BetaGeo().fit(np.zeros(500), np.zeros(500), np.linspace(1, 50, 500))
    assert "penalizer" in str(err.value) and "initial values" in str(err.value)
    assert "0 of 500 customers have repeat purchases" in str(err.value)


def test_penalizer_shrinks():
    rng = np.random.default_rng(1)
    data = simulate_bgnbd({"r": 0.5, "alpha": 5, "a": 0.8, "b": 2.5}, rng.uniform(10, 52, 3000), rng)
    plain = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    pen = BetaGeo(penalizer=0.1).fit(data["frequency"], data["recency"], data["T"])
    assert (pen.params_ ** 2).sum() < (plain.params_ ** 2).sum()


def test_recovers_simulated_parameters():
    truth = {"r": 0.6, "alpha": 6.0, "a": 0.9, "b": 3.0}
    rng = np.random.default_rng(20240601)
    T = rng.integers(7, 365, size=40_000) / 7.0
    data = simulate_bgnbd(truth, T, rng)
    data["recency"] = np.floor(data["recency"] * 7) / 7  # day resolution
    model = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    z = (model.params_ - pd.Series(truth)) / model.standard_errors_
    assert (z.abs() < 2).all(), z


def online_school_rfm(orders, truth):
    from valuation.features import rfm_summary

    clean = orders[(orders["amount"] > 0) & (orders["order_date"] <= pd.Timestamp(truth["as_of"]))]
    return rfm_summary(clean, customer_id="customer_id", date="order_date", amount="amount",
                       calibration_end=truth["calibration_end"])


def test_recovers_online_school_generator(online_school_orders):
    orders, truth = online_school_orders
    rfm = online_school_rfm(orders, truth)
    model = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    gen = truth["generator"]["bgnbd"]
    true = pd.Series({k: float(gen[k]) for k in ("r", "alpha", "a", "b")})
    z = (model.params_ - true) / model.standard_errors_
    assert (z.abs() < 2).all(), z
