"""Edges never silent: predictions across the parameter space against high-precision
numerical integration, the no-dropout limits, degenerate fits and inputs (issue 14, item 6).

The references integrate the models' definitions directly with scipy.integrate.quad at
tight tolerances (mpmath is not installed), independently of the closed forms under test.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import betaln, expit, gammaln

from valuation.errors import ConvergenceError, ConvergenceWarning, ModelInputError
from valuation.models import BetaGeo, GammaGamma, ParetoNBD
from valuation.models._limits import bgnbd_conditional_core
from valuation.units import WEEKS_PER_YEAR

CDNOW = Path(__file__).resolve().parents[1] / "data" / "reference" / "cdnow" / "CDNOW_sample.txt"


def bgnbd_reference(r, alpha, a, b, t, x, big_t):
    """E[Y(t) | alive, x, T] = E_p[(1 - (1 + p u)^-(r+x)) / p], p ~ Beta(a, b + x),
    u = t / (alpha + T), integrated over logit(p) around the mode."""
    big_b, u, k = b + x, t / (alpha + big_t), r + x

    def integrand(v):
        p, q = expit(v), expit(-v)
        h = -np.expm1(-k * np.log1p(p * u)) / p if p * u > 1e-13 else k * u * (1 - (k + 1) * p * u / 2)
        return h * np.exp(a * np.log(p) + big_b * np.log(q) - betaln(a, big_b))

    mode, sd = np.log(a / big_b), np.sqrt(1 / a + 1 / big_b)
    points = [mode + k2 * sd for k2 in (-8, -3, -1, 0, 1, 3, 8)]
    value, _ = integrate.quad(integrand, mode - 40 * sd - 40 / a, mode + 40 * sd + 40 / big_b,
                              points=points, limit=2000, epsabs=0, epsrel=1e-11)
    return value


GRID = [(a, b) for a in (0.3, 2.0, 50.0, 2e3) for b in (0.5, 3.0, 1e3, 1e5)]
CUSTOMERS = [(0, 0.0, 52.0), (3, 30.0, 10.0), (40, 100.0, 200.0)]


@pytest.mark.parametrize("a,b", GRID)
def test_bgnbd_conditional_expectation_matches_integration(a, b):
    for r, alpha in ((0.5, 5.0), (500.0, 8000.0)):
        for x, big_t, t in CUSTOMERS:
            got = float(bgnbd_conditional_core(np.array([r, alpha, a, b]), np.array(t),
                                               np.array(float(x)), np.array(big_t)))
            assert got == pytest.approx(bgnbd_reference(r, alpha, a, b, t, x, big_t), rel=1e-6)


@pytest.mark.parametrize("a,b", [(1e5, 1e5), (1e8, 1e12), (2.7e8, 1.5e19), (0.7, 1e12),
                                 (1e12, 3.0)])
def test_bgnbd_extremes_are_finite_and_reach_their_limits(a, b):
    # p ~ Beta(a, b + x) is concentrated: E[h(p)] = h(E p) up to O(var p); with b >> a the
    # no-dropout limit (r + x) t / (alpha + T)
    r, alpha = 0.8, 6.0
    model = BetaGeo()
    model.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
    for x, big_t, t in CUSTOMERS:
        got = float(model._conditional_core(np.array(t), np.array(float(x)), np.array(big_t)))
        big_b = b + x
        u, k = t / (alpha + big_t), r + x
        mean = a / (a + big_b)
        var = a * big_b / ((a + big_b) ** 2 * (a + big_b + 1))
        h = lambda p: -np.expm1(-k * np.log1p(p * u)) / p if p * u > 1e-13 else k * u  # noqa: E731
        if var < 1e-14:
            assert got == pytest.approx(h(mean), rel=1e-6)
        else:
            assert np.isfinite(got) and 0 < got <= k * u * (1 + 1e-12)
    new = model.expected_purchases(np.array([1.0, 52.0, 520.0]))
    assert np.all(np.isfinite(new)) and np.all(np.diff(new) > 0)
    dert = model.discounted_expected_transactions([0.0, 5.0], [0.0, 30.0], [40.0, 40.0], 0.15)
    assert np.all(np.isfinite(dert)) and np.all(dert > 0)


def gamma_inverse_mean(s, rate, delta):
    """E[1 / (mu + delta)], mu ~ Gamma(s, rate), integrated over log(mu)."""
    def integrand(y):
        mu = np.exp(y)
        return np.exp(s * np.log(rate) + s * y - rate * mu - gammaln(s)) / (mu + delta)
    centre, sd = np.log(s / rate), 1 / np.sqrt(s) + 1e-3
    lo, hi = centre - 40 * sd - 40 / s, centre + 20 * sd + 5
    value, _ = integrate.quad(integrand, lo, hi, points=[centre - 3 * sd, centre, centre + 3 * sd],
                              limit=2000, epsabs=0, epsrel=1e-11)
    return value


@pytest.mark.parametrize("s,beta", [(0.6, 11.7), (5.0, 80.0), (25.0, 500.0), (50.0, 1e3),
                                    (1e3, 1e5), (1e6, 1e8), (1e9, 1e13), (1e-3, 1e6)])
def test_pareto_dert_matches_integration_and_is_never_zero(s, beta):
    r, alpha = 0.55, 10.6
    model = ParetoNBD()
    model.params_ = pd.Series({"r": r, "alpha": alpha, "s": s, "beta": beta})
    x, tx, big_t = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.0, 35.0]), np.full(3, 38.9)
    got = np.asarray(model.discounted_expected_transactions(x, tx, big_t, 0.15))
    delta = np.log(1.15) / WEEKS_PER_YEAR
    alive = np.asarray(model.p_alive(x, tx, big_t))
    if s < 1e5:
        inv = np.array([gamma_inverse_mean(s, beta + T, delta) for T in big_t])
    else:  # mu concentrated at s / (beta + T): E[1/(mu + delta)] = 1/(E mu + delta)
        inv = 1.0 / (s / (beta + big_t) + delta)
    want = alive * (r + x) / (alpha + big_t) * inv
    assert np.all(got > 0)
    assert got == pytest.approx(want, rel=1e-5)


def test_pareto_no_dropout_limit_of_conditional_expectations():
    model = ParetoNBD()
    model.params_ = pd.Series({"r": 0.9, "alpha": 4.0, "s": 1e9, "beta": 1e19})
    x, big_t, t = np.array([0.0, 4.0]), np.array([30.0, 30.0]), 52.0
    got = np.asarray(model.conditional_expected_purchases(t, x, np.array([0.0, 25.0]), big_t))
    assert got == pytest.approx((0.9 + x) * t / (4.0 + big_t), rel=1e-6)


def test_gamma_gamma_predicts_for_free_items_in_cdnow():
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["id", "date", "qty", "amount"])
    free = raw.loc[raw["amount"] == 0, "id"].nunique()
    assert free > 0  # CDNOW holds free items
    model = GammaGamma()
    model.params_ = pd.Series({"p": 6.25, "q": 3.74, "gamma": 15.44})
    spend = model.conditional_expected_spend([2, 0, 3], [0.0, 0.0, 10.0])
    p, q, g = 6.25, 3.74, 15.44
    assert spend == pytest.approx([p * g / (2 * p + q - 1), p * g / (q - 1),
                                   (p * g + 3 * p * 10) / (3 * p + q - 1)])
    with pytest.raises(ModelInputError, match="negative"):
        model.conditional_expected_spend([1], [-1.0])


@pytest.mark.parametrize("model,args", [
    (BetaGeo(), ([1, 2], [5.0, 8.0], [10.0, 12.0])),
    (ParetoNBD(), ([1, 2], [5.0, 8.0], [10.0, 12.0])),
    (GammaGamma(), ([1, 2], [5.0, 8.0])),
])
def test_two_customers_warn_with_a_note_or_raise_a_clear_error(model, args):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = model.fit(*args)
        except ConvergenceError as exc:
            assert "did not converge" in str(exc) and "Things to try" in str(exc)
            return
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert fitted.fit_notes_
    se = fitted.standard_errors_.to_numpy()
    assert np.all(np.isfinite(fitted.params_.to_numpy())) and np.all(np.isfinite(se))
    assert np.all(se > 0)  # never an SE of exactly 0


def test_degenerate_fits_raise_or_warn_and_stay_finite():
    with pytest.raises(ConvergenceError, match="maximum does not exist"):
        BetaGeo().fit([0, 0], [0.0, 0.0], [10.0, 12.0])
    # nobody ever leaves and everybody buys at one rate: a limit, kept with a note
    rng = np.random.default_rng(4)
    big_t = rng.uniform(20, 60, 800)
    x = rng.poisson(0.06 * big_t).astype(float)
    tx = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), 1), 0.0)
    with pytest.warns(ConvergenceWarning):
        model = BetaGeo().fit(x, tx, big_t)
    assert model.fit_notes_
    assert np.all(np.isfinite(model.params_)) and np.all(np.isfinite(model.standard_errors_))
    pred = np.asarray(model.conditional_expected_purchases(52.0, x, tx, big_t))
    assert np.all(np.isfinite(pred))
    assert pred.sum() == pytest.approx(0.06 * 52 * len(x), rel=0.1)
