import numpy as np
import pandas as pd
import pytest
from valuation.units import WEEKS_PER_YEAR
from scipy.integrate import quad
from scipy.special import gammaln, hyp2f1

from conftest import numeric_gradient
from valuation.models import ParetoNBD
from valuation.models.paretonbd import (
    _death_integral,
    paretonbd_derivatives,
    paretonbd_loglik,
    simulate_paretonbd,
)

PUBLISHED = np.array([0.553, 10.578, 0.606, 11.669])


@pytest.fixture(scope="module")
def cdnow_pnbd(cdnow_rfm):
    return ParetoNBD().fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])


def test_reproduces_published_fit(cdnow_pnbd):
    p = cdnow_pnbd.params_
    assert p["r"] == pytest.approx(0.553, abs=0.005)
    assert p["alpha"] == pytest.approx(10.578, abs=0.005)
    assert p["s"] == pytest.approx(0.606, abs=0.005)
    assert p["beta"] == pytest.approx(11.669, abs=0.05)
    assert cdnow_pnbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)
    assert 5 < cdnow_pnbd.standard_errors_["beta"] < 7  # weakly identified, "about 6"


def _loglik_hyp2f1(params, x, tx, T):
    """Independent likelihood: Fader & Hardie's note with scipy's 2F1 (alpha >= beta case)."""
    r, al, s, be = params
    assert al >= be
    a1 = r + s + x
    def term(t):
        return hyp2f1(a1, s + 1, a1 + 1, (al - be) / (al + t)) / (al + t) ** a1
    a0 = term(tx) - term(T)
    first = 1 / ((al + T) ** (r + x) * (be + T) ** s)
    return gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be) + np.log(first + s / a1 * a0)


def test_likelihood_matches_hypergeometric_formula(cdnow_rfm):
    params = np.array([0.8, 12.0, 0.6, 7.0])
    rows = cdnow_rfm[cdnow_rfm["frequency"] < 15].iloc[:300]
    x, tx, T = (rows[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    ours = np.array([paretonbd_loglik(params, x[i:i + 1], tx[i:i + 1], T[i:i + 1], np.ones(1))[0]
                     for i in range(len(x))])
    assert ours == pytest.approx(_loglik_hyp2f1(params, x, tx, T), rel=1e-9)


@pytest.mark.parametrize("params", [PUBLISHED, [0.55, 10.6, 0.6, 0.01], [0.55, 0.01, 0.6, 10.0]])
@pytest.mark.parametrize("x,tx,T", [(0, 0, 78), (2, 30.4, 38.9), (50, 5, 78), (800, 0.5, 78)])
def test_death_integral_against_adaptive_quadrature(params, x, tx, T):
    r, al, s, be = params
    log_i, _ = _death_integral(np.asarray(params, float), np.array([x], float),
                               np.array([tx], float), np.array([T], float))
    lf = lambda t: -(r + x) * np.log(al + t) - (s + 1) * np.log(be + t)
    scale = (al + tx) / (r + x)
    cuts = [tx + scale * k for k in (1, 5, 20)] + [tx + be * k for k in (1, 10, 100)]
    q, _ = quad(lambda t: np.exp(lf(t) - lf(tx)), tx, T, epsabs=0, epsrel=1e-12, limit=1000,
                points=[c for c in cuts if tx < c < T])
    assert log_i[0] == pytest.approx(np.log(q) + lf(tx), abs=1e-8)


def test_gradient_matches_finite_differences(cdnow_rfm):
    x, tx, T = (cdnow_rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.ones(len(x))
    for params in (PUBLISHED, np.array([1.5, 3.0, 2.0, 1.0])):  # beta >= alpha and beta < alpha
        _, grad = paretonbd_loglik(params, x, tx, T, w)
        numeric = numeric_gradient(lambda p: paretonbd_loglik(p, x, tx, T, w)[0], params)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=2e-5)


def test_stable_for_large_frequencies(cdnow_pnbd):
    x = np.array([0.0, 300.0, 800.0, 800.0])
    tx = np.array([0.0, 38.0, 38.8, 0.5])
    T = np.array([38.9, 38.9, 38.9, 38.9])
    ll, grad = paretonbd_loglik(cdnow_pnbd.params_.to_numpy(), x, tx, T, np.ones(4))
    assert np.isfinite(ll) and np.all(np.isfinite(grad))
    alive = cdnow_pnbd.p_alive(x, tx, T)
    assert np.all((alive >= 0) & (alive <= 1)) and alive[3] < 1e-10 and alive[2] > 0.9
    for values in (cdnow_pnbd.conditional_expected_purchases(52, x, tx, T),
                   cdnow_pnbd.discounted_expected_transactions(x, tx, T, 0.15)):
        assert np.all(np.isfinite(values))


def test_dert_closed_form_equals_numerical_integral(cdnow_rfm, cdnow_pnbd):
    x, tx, T = (cdnow_rfm[c].to_numpy(float)[:400] for c in ("frequency", "recency", "T"))
    closed = cdnow_pnbd.discounted_expected_transactions(x, tx, T, 0.15)
    numeric = cdnow_pnbd.discounted_expected_transactions(x, tx, T, 0.15, horizon_periods=1e6)
    assert closed == pytest.approx(numeric, rel=1e-7)
    # a customer alive for sure and immortal-ish buys (r+x)/(alpha+T) a week, discounted
    lim = ParetoNBD()
    lim.params_ = pd.Series({"r": 1.0, "alpha": 1.0, "s": 1e-3, "beta": 1e6})
    delta = np.log(1.15) / WEEKS_PER_YEAR  # the default periods a year (valuation.units)
    got = lim.discounted_expected_transactions([0.0], [0.0], [1.0], 0.15)
    assert got[0] == pytest.approx(1.0 / 2.0 / delta, rel=2e-3)


def test_expected_purchases_new_customer(cdnow_pnbd):
    r, al, s, be = cdnow_pnbd.params_
    t = np.array([1.0, 39.0, 78.0])
    paper = r * be / (al * (s - 1)) * (1 - (be / (be + t)) ** (s - 1))
    assert cdnow_pnbd.expected_purchases(t) == pytest.approx(paper, rel=1e-12)
    # conditional expectation of a brand-new customer (x = 0, T -> 0) is E[X(t)]
    cond = cdnow_pnbd.conditional_expected_purchases(39.0, [0.0], [0.0], [1e-9])
    assert cond[0] == pytest.approx(cdnow_pnbd.expected_purchases(39.0), rel=1e-6)


def test_recovers_simulated_parameters():
    truth = {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}
    rng = np.random.default_rng(7)
    T = rng.integers(7, 365, size=30_000) / 7.0
    data = simulate_paretonbd(truth, T, rng)
    model = ParetoNBD().fit(data["frequency"], data["recency"], data["T"])
    z = (model.params_ - pd.Series(truth)) / model.standard_errors_
    assert (z.abs() < 2).all(), z


# --------------------------------------------------------------- derivatives, bootstrap, robustness
def test_hessian_matches_finite_differences(cdnow_rfm):
    from test_betageo import numeric_hessian

    x, tx, T = (cdnow_rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.random.default_rng(5).integers(1, 4, size=len(x)).astype(float)
    for params in (PUBLISHED, np.array([1.5, 3.0, 2.0, 1.0])):  # beta >= alpha and beta < alpha
        ll, grad, hess = paretonbd_derivatives(params, x, tx, T, w)
        assert ll == pytest.approx(paretonbd_loglik(params, x, tx, T, w)[0])
        numeric = numeric_hessian(lambda p: paretonbd_derivatives(p, x, tx, T, w)[1], params)
        assert hess == pytest.approx(numeric, rel=1e-5, abs=1e-3)


def test_loglik_derivatives_and_one_step_bootstrap(cdnow_rfm, cdnow_pnbd):
    from test_betageo import numeric_hessian

    x, tx, T = (cdnow_rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    ll, grad, hess = cdnow_pnbd.loglik_derivatives(x, tx, T)
    assert ll == pytest.approx(cdnow_pnbd.log_likelihood_, abs=1e-8)
    assert np.max(np.abs(grad)) < 1e-4 and np.all(np.linalg.eigvalsh(hess) < 0)
    theta = np.log(PUBLISHED) + 0.1

    def in_theta(t):
        return cdnow_pnbd.loglik_derivatives(x, tx, T, params=np.exp(t))

    assert in_theta(theta)[1] == pytest.approx(
        numeric_gradient(lambda t: in_theta(t)[0], theta), rel=1e-6, abs=1e-4)
    assert in_theta(theta)[2] == pytest.approx(
        numeric_hessian(lambda t: in_theta(t)[1], theta), rel=1e-5, abs=1e-3)
    rng = np.random.default_rng(12)
    weights = rng.multinomial(len(x), np.full(len(x), 1 / len(x))).astype(float)
    _, g, h = cdnow_pnbd.loglik_derivatives(x, tx, T, weights)
    one_step = np.exp(np.log(cdnow_pnbd.params_.to_numpy()) - np.linalg.solve(h, g))
    keep = weights > 0
    refit = ParetoNBD().fit(x[keep], tx[keep], T[keep], weights=weights[keep], compute_se=False)
    se = cdnow_pnbd.standard_errors_.to_numpy()
    # the Pareto/NBD likelihood is curved in (s, beta): one step lands ~0.2-0.3 SE away,
    # and a second step from there within 5% of a SE of the refit
    assert np.all(np.abs(one_step - refit.params_.to_numpy()) / se < 0.35)
    _, g2, h2 = cdnow_pnbd.loglik_derivatives(x, tx, T, weights, params=one_step)
    two_steps = np.exp(np.log(one_step) - np.linalg.solve(h2, g2))
    assert np.all(np.abs(two_steps - refit.params_.to_numpy()) / se < 0.05)
    assert refit.standard_errors_.isna().all()


def test_customers_with_t_zero_are_valid(cdnow_rfm, cdnow_pnbd):
    rfm = cdnow_rfm[["frequency", "recency", "T"]]
    both = pd.concat([rfm, pd.DataFrame({"frequency": [0.0] * 2, "recency": 0.0, "T": 0.0})])
    model = ParetoNBD().fit(both["frequency"], both["recency"], both["T"])
    assert model.params_.to_numpy() == pytest.approx(cdnow_pnbd.params_.to_numpy(), rel=1e-6)
    assert model.log_likelihood_ == pytest.approx(cdnow_pnbd.log_likelihood_, abs=1e-6)
    ll, grad, _ = paretonbd_derivatives(model.params_.to_numpy(), np.zeros(1), np.zeros(1), np.zeros(1))
    assert ll == pytest.approx(0.0, abs=1e-12) and grad == pytest.approx(np.zeros(4), abs=1e-12)
    assert model.p_alive([0.0], [0.0], [0.0])[0] == 1.0
    cond = model.conditional_expected_purchases(39.0, [0.0], [0.0], [0.0])
    assert cond[0] == pytest.approx(model.expected_purchases(39.0), rel=1e-10)
    assert np.isfinite(model.discounted_expected_transactions([0.0], [0.0], [0.0], 0.15)[0])
