import numpy as np
import pandas as pd
import pytest

from conftest import numeric_gradient
from valuation.errors import ModelError, ModelInputError
from valuation.models import GammaGamma
from valuation.models.gammagamma import gammagamma_derivatives, gammagamma_loglik


@pytest.fixture(scope="module")
def cdnow_gg(cdnow_rfm):
    return GammaGamma().fit(cdnow_rfm["frequency"], cdnow_rfm["monetary_value"])


def test_reproduces_published_fit(cdnow_gg, cdnow_rfm):
    assert cdnow_gg.params_.to_numpy() == pytest.approx([6.25, 3.74, 15.44], abs=0.005)
    assert cdnow_gg.log_likelihood_ == pytest.approx(-4055.9, abs=0.05)
    assert cdnow_gg.n_customers_ == 946
    assert cdnow_gg.mean_spend() == pytest.approx(35.17, abs=0.005)


def test_gradient(cdnow_rfm):
    rep = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    x, z, w = rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float), np.ones(len(rep))
    for params in ([6.25, 3.74, 15.44], [1.0, 8.0, 2.0]):
        _, grad = gammagamma_loglik(np.array(params), x, z, w)
        numeric = numeric_gradient(lambda p: gammagamma_loglik(p, x, z, w)[0], params)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=2e-5)


def test_conditional_expected_spend(cdnow_gg):
    p, q, g = cdnow_gg.params_
    got = cdnow_gg.conditional_expected_spend(np.array([0, 1, 10]), np.array([0.0, 100.0, 20.0]))
    assert got[0] == pytest.approx(p * g / (q - 1))
    assert got[1] == pytest.approx((p * g + p * 100) / (p + q - 1))
    assert got[1] > got[0] and 20 < got[2] < got[0]


def test_refuses_when_q_at_most_one():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 5, size=2000).astype(float)
    # extremely heavy-tailed spend: Pareto-like mean spends give q <= 1
    z = rng.pareto(0.6, size=2000) * 10 + 1
    with pytest.raises(ModelError, match="q = .* <= 1"):
        GammaGamma().fit(x, z)
    with pytest.warns(RuntimeWarning, match="does not exist"):
        model = GammaGamma(on_q_le_1="warn").fit(x, z)
    with pytest.raises(ModelError):
        model.conditional_expected_spend(x, z)


def test_input_errors():
    with pytest.raises(ModelInputError, match="monetary value <= 0"):
        GammaGamma().fit([1, 2, 0], [10.0, 0.0, 0.0])
    with pytest.raises(ModelError, match="repeat purchases"):
        GammaGamma().fit([0, 0], [0.0, 0.0])


def test_recovers_online_school_generator(online_school_orders):
    from test_betageo import online_school_rfm

    orders, truth = online_school_orders
    rfm = online_school_rfm(orders, truth)
    model = GammaGamma().fit(rfm["frequency"], rfm["monetary_value"])
    true = pd.Series(truth["generator"]["gamma_gamma"], dtype=float)
    z = (model.params_ - true) / model.standard_errors_
    assert (z.abs() < 2).all(), z


def test_hessian_and_log_space_derivatives(cdnow_rfm, cdnow_gg):
    from test_betageo import numeric_hessian

    rep = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    x, z = rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float)
    w = np.random.default_rng(4).integers(1, 4, size=len(x)).astype(float)
    for params in ([6.25, 3.74, 15.44], [1.0, 8.0, 2.0]):
        _, _, hess = gammagamma_derivatives(np.array(params), x, z, w)
        numeric = numeric_hessian(lambda p: gammagamma_derivatives(p, x, z, w)[1], params)
        assert hess == pytest.approx(numeric, rel=1e-5, abs=1e-3)
    # log space, all customers passed (frequency 0 skipped), at and away from the optimum
    ll, grad, hess = cdnow_gg.loglik_derivatives(cdnow_rfm["frequency"], cdnow_rfm["monetary_value"])
    assert ll == pytest.approx(cdnow_gg.log_likelihood_, abs=1e-8)
    assert np.max(np.abs(grad)) < 1e-4 and np.all(np.linalg.eigvalsh(hess) < 0)
    theta = np.log([5.0, 4.0, 12.0])

    def in_theta(t):
        return cdnow_gg.loglik_derivatives(x, z, params=np.exp(t))

    assert in_theta(theta)[1] == pytest.approx(numeric_gradient(lambda t: in_theta(t)[0], theta),
                                               rel=1e-6, abs=1e-4)
    assert in_theta(theta)[2] == pytest.approx(numeric_hessian(lambda t: in_theta(t)[1], theta),
                                               rel=1e-5, abs=1e-3)


def test_one_step_bootstrap_and_compute_se(cdnow_rfm, cdnow_gg):
    rep = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    x, z = rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float)
    weights = np.random.default_rng(13).multinomial(len(x), np.full(len(x), 1 / len(x))).astype(float)
    _, g, h = cdnow_gg.loglik_derivatives(x, z, weights)
    one_step = np.exp(np.log(cdnow_gg.params_.to_numpy()) - np.linalg.solve(h, g))
    refit = GammaGamma().fit(x, z, weights=weights, compute_se=False)
    gap = np.abs(one_step - refit.params_.to_numpy()) / cdnow_gg.standard_errors_.to_numpy()
    assert np.all(gap < 0.15), gap
    assert refit.standard_errors_.isna().all()
    assert cdnow_gg.fit_notes_ == [] and np.all(np.isfinite(cdnow_gg.standard_errors_))


def test_loglik_per_distinct_frequency_equals_the_papers_density_row_by_row():
    from scipy.special import gammaln

    from valuation.models.gammagamma import frequency_levels

    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, size=40).astype(float)  # few distinct counts, many rows each
    z = rng.gamma(3.0, 20.0, size=40)
    w = rng.integers(1, 4, size=40).astype(float)
    for p, q, g in ((6.0, 4.0, 15.0), (0.5, 1.5, 200.0)):
        density = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g)
                   + (p * x - 1) * np.log(z) + p * x * np.log(x) - (p * x + q) * np.log(g + x * z))
        ll, grad, hess = gammagamma_derivatives(np.array([p, q, g]), x, z, w)
        assert ll == pytest.approx(float(np.sum(w * density)), rel=1e-12)
        given, *_ = gammagamma_derivatives(np.array([p, q, g]), x, z, w,
                                           levels=frequency_levels(x, w))
        assert given == ll
        numeric = numeric_gradient(lambda prm: gammagamma_loglik(prm, x, z, w)[0], [p, q, g])
        assert grad == pytest.approx(numeric, rel=1e-5)
        for i in range(3):
            row = numeric_gradient(lambda prm: gammagamma_loglik(prm, x, z, w)[1][i], [p, q, g])
            assert hess[i] == pytest.approx(row, rel=1e-4, abs=1e-8)
