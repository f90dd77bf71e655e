import numpy as np
import pandas as pd
import pytest
from valuation.units import WEEKS_PER_YEAR
from scipy.optimize import minimize
from scipy.special import expit, gammaln

from conftest import numeric_gradient
from valuation.errors import ConvergenceError, ConvergenceWarning, ModelInputError, NotFittedError
from valuation.models import BetaGeo
from valuation.models.betageo import bgnbd_derivatives, bgnbd_loglik, simulate_bgnbd


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
    delta = np.log(1.15) / WEEKS_PER_YEAR  # the default periods a year (valuation.units)
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


# --------------------------------------------------------------- derivatives, bootstrap, robustness
def numeric_hessian(grad_fun, params, rel_step=1e-6):
    """Central differences of an analytic gradient (columns), to check analytic Hessians."""
    params = np.asarray(params, dtype=float)
    cols = []
    for i in range(len(params)):
        h = rel_step * max(abs(params[i]), 1e-3)
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        cols.append((grad_fun(up) - grad_fun(down)) / (2 * h))
    return np.column_stack(cols)


def test_hessian_matches_finite_differences(cdnow_rfm):
    x, tx, T = (cdnow_rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.random.default_rng(5).integers(1, 4, size=len(x)).astype(float)
    for params in ([0.243, 4.414, 0.793, 2.426], [1.7, 0.8, 3.0, 0.6]):
        ll, grad, hess = bgnbd_derivatives(np.array(params), x, tx, T, w)
        assert (ll, *grad) == pytest.approx((bgnbd_loglik(np.array(params), x, tx, T, w)[0], *grad))
        numeric = numeric_hessian(lambda p: bgnbd_derivatives(p, x, tx, T, w)[1], params)
        assert hess == pytest.approx(numeric, rel=1e-5, abs=1e-3)
        assert np.allclose(hess, hess.T)


def test_loglik_derivatives_in_log_space(cdnow_rfm, cdnow_bg):
    x, tx, T = (cdnow_rfm[c] for c in ("frequency", "recency", "T"))
    ll, grad, hess = cdnow_bg.loglik_derivatives(x, tx, T)
    assert ll == pytest.approx(cdnow_bg.log_likelihood_, abs=1e-8)
    assert np.max(np.abs(grad)) < 1e-4  # the optimum
    assert np.all(np.linalg.eigvalsh(hess) < 0)
    theta = np.log(cdnow_bg.params_.to_numpy()) + np.array([0.1, -0.2, 0.05, 0.3])

    def in_theta(t):
        return cdnow_bg.loglik_derivatives(x, tx, T, params=np.exp(t))

    _, g_t, h_t = in_theta(theta)
    assert g_t == pytest.approx(numeric_gradient(lambda t: in_theta(t)[0], theta), rel=1e-6, abs=1e-4)
    assert h_t == pytest.approx(numeric_hessian(lambda t: in_theta(t)[1], theta), rel=1e-5, abs=1e-3)


def test_one_step_newton_bootstrap_matches_refit(cdnow_rfm, cdnow_bg):
    x, tx, T = (cdnow_rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    rng = np.random.default_rng(11)
    weights = rng.multinomial(len(x), np.full(len(x), 1 / len(x))).astype(float)
    _, g, h = cdnow_bg.loglik_derivatives(x, tx, T, weights)
    one_step = np.exp(np.log(cdnow_bg.params_.to_numpy()) - np.linalg.solve(h, g))
    keep = weights > 0
    refit = BetaGeo().fit(x[keep], tx[keep], T[keep], weights=weights[keep], compute_se=False)
    # one Newton step lands within a few percent of a standard error of the full refit
    gap = np.abs(one_step - refit.params_.to_numpy()) / cdnow_bg.standard_errors_.to_numpy()
    assert np.all(gap < 0.1), gap
    assert refit.standard_errors_.isna().all() and np.isnan(refit.hessian_).all()
    assert not np.allclose(refit.params_, cdnow_bg.params_)  # the resample did change the fit


def test_penalised_objective_in_loglik_derivatives():
    rng = np.random.default_rng(2)
    data = simulate_bgnbd({"r": 0.5, "alpha": 5, "a": 0.8, "b": 2.5}, rng.uniform(10, 52, 2000), rng)
    model = BetaGeo(penalizer=0.05).fit(data["frequency"], data["recency"], data["T"])
    ll, grad, _ = model.loglik_derivatives(data["frequency"], data["recency"], data["T"])
    assert np.max(np.abs(grad)) < 1e-4  # zero gradient of the penalised objective at its optimum
    assert ll < model.log_likelihood_


def test_customers_with_t_zero_are_valid(cdnow_rfm, cdnow_bg):
    rfm = cdnow_rfm[["frequency", "recency", "T"]]
    new = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": 0.0}, index=["n1", "n2", "n3"])
    both = pd.concat([rfm, new])
    model = BetaGeo().fit(both["frequency"], both["recency"], both["T"])
    # contribution 0 to the log-likelihood: same optimum, same log-likelihood
    assert model.params_.to_numpy() == pytest.approx(cdnow_bg.params_.to_numpy(), rel=1e-6)
    assert model.log_likelihood_ == pytest.approx(cdnow_bg.log_likelihood_, abs=1e-6)
    assert model.n_customers_ == len(rfm) + 3
    # predictions for them are those of a brand-new customer
    assert model.p_alive([0.0], [0.0], [0.0])[0] == 1.0
    cond = model.conditional_expected_purchases(39.0, [0.0], [0.0], [0.0])
    assert cond[0] == pytest.approx(model.expected_purchases(39.0), rel=1e-10)
    dert = model.discounted_expected_transactions([0.0], [0.0], [0.0], 0.15)
    assert np.isfinite(dert[0]) and dert[0] > 0
    with pytest.raises(ModelInputError, match="repeat purchases but T = 0"):
        BetaGeo().fit([0.0, 2.0], [0.0, 0.0], [5.0, 0.0])


def _nbd_without_dropout(n, rng):
    """Poisson-gamma purchasing for ever (no dropout): BG/NBD's a -> 0 boundary."""
    T = rng.integers(7, 385, size=n) / 7.0
    lam = rng.gamma(20.0, 1 / 2000.0, size=n)
    x = rng.poisson(lam * T).astype(float)
    recency = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    return x, np.floor(recency * 7) / 7, T


def test_flat_optimum_kept_with_warning_and_note():
    # like the cert_school exam stream (882 customers, ~240 repeat buyers): no visible dropout,
    # so a, b are not identified and the Hessian at the optimum is singular
    x, tx, T = _nbd_without_dropout(882, np.random.default_rng(2))
    assert 150 < (x > 0).sum() < 300
    with pytest.warns(ConvergenceWarning, match="flat"):
        model = BetaGeo().fit(x, tx, T)
    assert len(model.fit_notes_) == 1 and "pseudo-inverse" in model.fit_notes_[0]
    assert np.all(np.isfinite(model.standard_errors_)) and np.all(np.isfinite(model.covariance_))
    _, grad, _ = model.loglik_derivatives(x, tx, T)
    assert np.max(np.abs(grad)) < 1e-3
    # the identified part is right: the mean purchase rate r / alpha (truth 0.01 a week)
    assert model.params_["r"] / model.params_["alpha"] == pytest.approx(0.01, rel=0.3)
    assert model.params_["a"] < 1e-3  # dropout probability a / (a + b) goes to 0
    assert np.all(np.isfinite(model.discounted_expected_transactions(x, tx, T, 0.15)))


def test_clean_fit_has_no_notes(cdnow_bg):
    assert cdnow_bg.fit_notes_ == []
    cov = cdnow_bg.covariance_.to_numpy()
    assert np.sqrt(np.diag(cov)) == pytest.approx(cdnow_bg.standard_errors_.to_numpy())
    assert cov == pytest.approx(np.linalg.inv(cdnow_bg.hessian_), rel=1e-6)


def test_group_rows_matches_a_plain_groupby():
    from valuation.models._mle import group_rows

    rng = np.random.default_rng(21)
    cols = {"frequency": rng.integers(0, 4, 5000).astype(float),
            "recency": rng.integers(0, 6, 5000) / 7, "T": rng.integers(1, 5, 5000) / 7}
    w = rng.integers(0, 3, 5000).astype(float)
    unique, counts = group_rows(cols, w)
    frame = pd.DataFrame(cols).assign(w=w)
    expected = frame.groupby(list(cols), sort=True)["w"].sum()
    expected = expected[expected > 0]
    got = pd.Series(counts, index=pd.MultiIndex.from_frame(unique)).sort_index()
    assert len(got) == len(expected) and counts.sum() == w.sum()
    assert got.to_numpy() == pytest.approx(expected.to_numpy())
    assert got.index.equals(expected.index)


def _poisson_limit_loglik(rate, dropout, x, tx, T):
    """BG/NBD log-likelihood in its limit r, alpha -> inf (r / alpha = rate) and a, b -> inf
    (a / (a + b) = dropout): Poisson purchasing, dropout after each purchase with a fixed
    probability. Eq. 6 of Fader, Hardie & Lee (2005) with Gamma(r+x)/Gamma(r) alpha^r /
    (alpha+t)^(r+x) -> rate^x exp(-rate t) and the beta ratios -> (1-p)^x, p (1-p)^(x-1)."""
    alive = x * np.log1p(-dropout) + x * np.log(rate) - rate * T
    with np.errstate(divide="ignore"):
        dropped = np.where(x > 0, np.log(dropout) + (x - 1) * np.log1p(-dropout)
                           + x * np.log(rate) - rate * tx, -np.inf)
    return float(np.logaddexp(alive, dropped).sum())


def test_rates_without_heterogeneity_end_in_the_poisson_limit_with_a_warning():
    # the helper's rates are Gamma(20, scale 1/2000): almost no spread, so r and alpha run off
    # together towards the Poisson limit (a, b with them); the optimum is flat there, and the
    # documented flat-optimum behaviour applies: estimates kept, a ConvergenceWarning, a note
    x, tx, T = _nbd_without_dropout(882, np.random.default_rng(0))
    true_rate = 20.0 / 2000.0  # mean of the helper's Gamma(20, scale 1/2000) rates
    with pytest.warns(ConvergenceWarning, match="flat at the optimum"):
        model = BetaGeo().fit(x, tx, T)
    assert len(model.fit_notes_) == 1
    assert "flat at the optimum" in model.fit_notes_[0] and "pseudo-inverse" in model.fit_notes_[0]
    r, alpha, a, b = model.params_
    assert r > 1e5 and alpha > 1e5  # at the limit, not at a finite optimum
    assert r / alpha == pytest.approx(true_rate, rel=0.01)  # 0.3% off on this sample
    # the known answer at the limit: the maximum of the two-parameter Poisson-limit likelihood
    limit = minimize(lambda v: -_poisson_limit_loglik(np.exp(v[0]), expit(v[1]), x, tx, T),
                     [np.log(true_rate), 0.0], method="Nelder-Mead",
                     options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000})
    assert r / alpha == pytest.approx(np.exp(limit.x[0]), rel=1e-6)
    assert a / (a + b) == pytest.approx(expit(limit.x[1]), rel=1e-5)
    assert model.log_likelihood_ == pytest.approx(-limit.fun, abs=1e-6)


# --------------------------------------------------------------- fast paths (10^6 customers)
def test_duplicate_share_known_answers():
    from valuation.models._mle import duplicate_share

    rng = np.random.default_rng(4)
    base = {"x": rng.integers(0, 50, 30_000).astype(float), "t": rng.random(30_000)}
    assert duplicate_share(base) == 0.0  # all rows distinct (sampled estimate)
    # every row four times: a quarter of the rows stay, whatever rows the sample picks
    four = {k: np.tile(v, 4) for k, v in base.items()}
    assert duplicate_share(four) == pytest.approx(0.75)
    # small inputs are counted exactly: 5 rows, 3 distinct
    small = {"x": np.array([1.0, 1.0, 2.0, 2.0, 3.0]), "t": np.array([0.5, 0.5, 1.0, 1.0, 1.0])}
    assert duplicate_share(small) == pytest.approx(2 / 5)


def _many_customers(n, seed):
    rng = np.random.default_rng(seed)
    data = simulate_bgnbd({"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 3.4}, rng.uniform(5, 52, n), rng)
    return (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))


def test_derivatives_add_up_over_blocks_and_weights():
    from valuation.models.betageo import BLOCK_ROWS

    x, tx, T = _many_customers(120_000, 8)
    assert (x > 0).sum() > 2 * BLOCK_ROWS  # several blocks of repeat buyers
    params = np.array([0.8, 6.0, 0.6, 3.4])
    ll, g, h = bgnbd_derivatives(params, x, tx, T, np.ones(len(x)))
    half = len(x) // 2
    parts = [bgnbd_derivatives(params, x[s], tx[s], T[s], np.ones(len(x[s])))
             for s in (slice(None, half), slice(half, None))]
    assert ll == pytest.approx(parts[0][0] + parts[1][0], rel=1e-12)
    assert g == pytest.approx(parts[0][1] + parts[1][1], rel=1e-9)
    assert h == pytest.approx(parts[0][2] + parts[1][2], rel=1e-9)
    # weighted rows (the general path) equal the unit-weight path scaled
    ll2, g2, h2 = bgnbd_derivatives(params, x, tx, T, np.full(len(x), 2.0))
    assert (ll2, *g2) == pytest.approx((2 * ll, *(2 * g)), rel=1e-12)
    assert h2 == pytest.approx(2 * h, rel=1e-12)


# a handful of customers: T = 0 (first purchase on the calibration end), no repeat
# purchases, repeat buyers with recency < T and recency = T; some weighted
_FEW = {"x": np.array([0.0, 0.0, 1.0, 2.0, 5.0, 12.0, 3.0, 2.0, 3.0]),
        "tx": np.array([0.0, 0.0, 3.5, 10.0, 20.25, 30.0, 17.0, 5.0, 30.0]),
        "T": np.array([0.0, 12.0, 20.0, 30.5, 38.0, 39.0, 17.0, 25.0, 45.0]),
        "w": np.array([1.0, 3.0, 2.0, 1.0, 4.0, 1.0, 2.0, 1.0, 3.0])}


def _fhl_eq6_loglik(params, x, tx, T, w):
    """Eq. 6 of Fader, Hardie & Lee (2005) as printed, ln(A1 A2 (A3 + delta A4)), summed
    with weights: the independent reference for :func:`bgnbd_derivatives`."""
    r, alpha, a, b = params
    ln_a1 = gammaln(r + x) + r * np.log(alpha) - gammaln(r)
    ln_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = (alpha + T) ** -(r + x)
    a4 = np.zeros(len(x))
    repeat = x > 0
    a4[repeat] = a / (b + x[repeat] - 1) * (alpha + tx[repeat]) ** -(r + x[repeat])
    return float(np.sum(w * (ln_a1 + ln_a2 + np.log(a3 + a4))))


@pytest.mark.parametrize("finite_sums", [True, False])
@pytest.mark.parametrize("block_rows", [32_768, 2])  # one block; frequencies 2, 3 split
def test_derivatives_match_the_papers_formula(monkeypatch, finite_sums, block_rows):
    import valuation.models._bgnbd_likelihood as bg  # the likelihood's module

    monkeypatch.setattr(bg, "BLOCK_ROWS", block_rows)
    if not finite_sums:  # the gammaln / digamma differences instead of the finite sums
        monkeypatch.setattr(bg, "_rising_sums", lambda ux, shift: None)
    x, tx, T, w = _FEW["x"], _FEW["tx"], _FEW["T"], _FEW["w"]
    for params in ([0.8, 6.0, 0.6, 3.4], [1.7, 0.8, 3.0, 0.6], [0.05, 40.0, 0.01, 9.0]):
        params = np.array(params)
        ll, grad, hess = bg.bgnbd_derivatives(params, x, tx, T, w)
        assert ll == pytest.approx(_fhl_eq6_loglik(params, x, tx, T, w), rel=1e-12)
        numeric = numeric_gradient(lambda p: _fhl_eq6_loglik(p, x, tx, T, w), params)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=3e-6)
        for i in range(4):  # each Hessian row is the derivative of a gradient component
            row = numeric_gradient(lambda p: bg.bgnbd_derivatives(p, x, tx, T, w)[1][i], params)
            assert hess[i] == pytest.approx(row, rel=1e-6, abs=1e-5)
        assert hess == pytest.approx(hess.T)


def test_loglik_stays_accurate_near_the_poisson_limit():
    # r, alpha, a, b ~ 1e9: differences of gammaln at 1e9 (~2e10) would lose ~1e-5 here
    x, tx, T, w = _FEW["x"], _FEW["tx"], _FEW["T"], np.ones(len(_FEW["x"]))
    rate, dropout, scale = 0.05, 0.2, 1e9
    params = np.array([rate * 20 * scale, 20 * scale, dropout * scale, (1 - dropout) * scale])
    ll, grad = bgnbd_loglik(params, x, tx, T, w)
    # the distance to the limit is O(x^2 / r) = O(1e-8) per row
    assert ll == pytest.approx(_poisson_limit_loglik(rate, dropout, x, tx, T), abs=1e-7)
    assert np.all(np.isfinite(grad))


def test_large_fit_skips_grouping_and_matches_the_grouped_fit():
    x, tx, T = _many_customers(150_000, 9)  # continuous recency and T: all rows distinct
    plain = BetaGeo().fit(x, tx, T)
    assert plain.n_rows_ == len(x) and plain.fit_notes_ == []
    # every customer twice: grouping halves the rows (weights 2), the optimum is the same
    twice = BetaGeo().fit(np.tile(x, 2), np.tile(tx, 2), np.tile(T, 2))
    assert twice.n_rows_ == len(x)
    assert twice.params_.to_numpy() == pytest.approx(plain.params_.to_numpy(), rel=1e-7)
    assert twice.standard_errors_.to_numpy() == pytest.approx(
        plain.standard_errors_.to_numpy() / np.sqrt(2), rel=1e-6)
    _, grad, hess = plain.loglik_derivatives(x, tx, T)
    assert np.max(np.abs(grad)) < 1e-4 and np.all(np.linalg.eigvalsh(hess) < 0)
