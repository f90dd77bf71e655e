"""BG/BB (discrete opportunities): Fader, Hardie & Shang (2010) on the donations table,
derivatives, predictions against the paper's closed forms and brute force, edges."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln, hyp2f1

from conftest import numeric_gradient
from valuation.errors import ConvergenceError, ConvergenceWarning, ModelInputError, NotFittedError
from valuation.models import BetaGeoBetaBinom
from valuation.models.bgbb import bgbb_derivatives, simulate_bgbb

DONATIONS = Path(__file__).resolve().parents[1] / "data" / "reference" / "donations" / "donations.csv"
PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations():
    return pd.read_csv(DONATIONS)


@pytest.fixture(scope="module")
def fitted(donations):
    d = donations
    return BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])


def with_params(values):
    model = BetaGeoBetaBinom()
    model.params_ = pd.Series(dict(zip(("alpha", "beta", "gamma", "delta"), values)))
    return model


def paper_likelihood(a, b, g, d, x, tx, n):
    """FHS (2010) eq. 5, directly with Beta functions."""
    value = np.exp(betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d))
    for i in range(int(n - tx)):
        value += np.exp(betaln(a + x, b + tx - x + i) - betaln(a, b)
                        + betaln(g + 1, d + tx + i) - betaln(g, d))
    return value


def test_donations_table_is_the_papers(donations):
    assert donations["weights"].sum() == 11_104
    assert (donations["periods"] == 6).all()
    assert len(donations) == 22  # every (x, t_x) pattern of 6 opportunities


def test_reproduces_fader_hardie_shang_2010(fitted):
    for name, value in PAPER.items():
        assert fitted.params_[name] == pytest.approx(value, abs=5e-3)
    assert fitted.log_likelihood_ == pytest.approx(-33_225.6, abs=0.5)
    assert fitted.fit_notes_ == []
    se = fitted.standard_errors_
    assert np.all(np.isfinite(se)) and np.all(se > 0)
    assert fitted.n_customers_ == 11_104 and fitted.n_rows_ == 22


def test_loglik_is_the_papers_formula(donations):
    params = np.array([1.3, 0.6, 0.9, 2.0])
    ll, _, _ = bgbb_derivatives(params, donations["frequency"], donations["recency"],
                                donations["periods"], donations["weights"])
    direct = sum(w * np.log(paper_likelihood(*params, x, tx, n)) for x, tx, n, w in
                 donations[["frequency", "recency", "periods", "weights"]].to_numpy(float))
    assert ll == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize("params", [[1.204, 0.750, 0.657, 2.783], [3.0, 7.0, 0.4, 15.0],
                                    [0.3, 0.2, 5.0, 1.1]])
def test_gradient_and_hessian_match_finite_differences(donations, params):
    cols = [donations[c].to_numpy(float) for c in ("frequency", "recency", "periods", "weights")]
    ll, grad, hess = bgbb_derivatives(np.array(params), *cols)
    numeric = numeric_gradient(lambda p: bgbb_derivatives(p, *cols, hessian=False)[0], params)
    assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-4)
    for k in range(4):
        col = numeric_gradient(lambda p: bgbb_derivatives(p, *cols, hessian=False)[1][k], params)
        assert hess[k] == pytest.approx(col, rel=1e-5, abs=1e-3)


def test_p_alive_conditional_expectations_and_dert_against_closed_forms(fitted, donations):
    a, b, g, d = fitted.params_.to_numpy()
    x, tx, n = (donations[c].to_numpy(float) for c in ("frequency", "recency", "periods"))
    like = np.array([paper_likelihood(a, b, g, d, *row) for row in zip(x, tx, n)])
    # P(alive at n + 1), the paper's eq. 11
    alive = np.exp(betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d))
    assert np.asarray(fitted.p_alive(x, tx, n)) == pytest.approx(alive / like, rel=1e-10)
    # E[X(n, n + n*)], eq. 13
    ns = 5.0
    ce = (np.exp(betaln(a + x + 1, b + n - x) - betaln(a, b)) * d / (g - 1)
          * np.exp(gammaln(g + d) - gammaln(1 + d))
          * (np.exp(gammaln(1 + d + n) - gammaln(g + d + n))
             - np.exp(gammaln(1 + d + n + ns) - gammaln(g + d + n + ns)))) / like
    assert np.asarray(fitted.conditional_expected_purchases(ns, x, tx, n)) == pytest.approx(ce, rel=1e-10)
    # DERT, eq. 14 (hypergeometric form), at 10% a year
    rate = 0.1
    dert = (np.exp(betaln(a + x + 1, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d))
            / (1 + rate) * hyp2f1(1, d + n + 1, g + d + n + 1, 1 / (1 + rate))) / like
    got = np.asarray(fitted.discounted_expected_transactions(x, tx, n, rate))
    assert got == pytest.approx(dert, rel=1e-9)
    # the best customers (6 of 6) are worth more than the lapsed ones, and nobody negative
    assert got[(x == 6)][0] > got[(x == 1) & (tx == 1)][0] > 0


def test_new_customer_expectation_and_histogram(fitted, donations):
    a, b, g, d = fitted.params_.to_numpy()
    n = np.arange(1, 11, dtype=float)
    paper = a / (a + b) * d / (g - 1) * (
        1 - np.exp(gammaln(g + d) + gammaln(1 + d + n) - gammaln(g + d + n) - gammaln(1 + d)))
    assert fitted.expected_purchases(n) == pytest.approx(paper, rel=1e-10)
    # half an opportunity: half of the first one's expectation
    assert fitted.expected_purchases(0.5) == pytest.approx(paper[0] / 2, rel=1e-12)
    counts = fitted.expected_counts(6, 11_104)
    assert counts.sum() == pytest.approx(11_104, rel=1e-10)
    observed = donations.groupby("frequency")["weights"].sum()
    # the paper's Figure 3: the model tracks the histogram of repeat transactions closely
    assert np.abs(counts.to_numpy() - observed.to_numpy()).max() < 0.05 * observed.max()
    assert counts.to_numpy() @ np.arange(7) / 11_104 == pytest.approx(paper[5], rel=1e-10)


#: lifetimes 0.11.3 ``BetaGeoBetaBinomFitter`` on the donations table (weights), and its
#: ``conditional_probability_alive(1, ...)`` for the table's 22 rows, computed once
#: (2026-12-03) so that the comparison runs without lifetimes installed (it is a benchmark
#: extra only)
LIFETIMES_PARAMS = (1.2035223936080381, 0.7497163581757634, 0.6567181695499512,
                    2.7834419828876076)
LIFETIMES_P_ALIVE = [
    0.10813327511, 0.069461805017, 0.254709927595, 0.481355768, 0.680383831057,
    0.828143731452, 0.930433577509, 0.066414759031, 0.29890365622, 0.589657189079,
    0.804555006079, 0.930433577508, 0.095006295763, 0.439593892509, 0.766826000115,
    0.930433577508, 0.200179036632, 0.696800115918, 0.930433577508, 0.52197543422,
    0.930433577509, 0.930433577509]


def test_agrees_with_lifetimes(fitted, donations):
    d = donations
    assert fitted.params_.to_numpy() == pytest.approx(LIFETIMES_PARAMS, rel=1e-4)
    ours = with_params(LIFETIMES_PARAMS)
    assert np.asarray(ours.p_alive(d["frequency"], d["recency"], d["periods"])) == pytest.approx(
        LIFETIMES_P_ALIVE, rel=1e-9)


def test_recovers_simulated_parameters_and_weights_equal_rows():
    rng = np.random.default_rng(11)
    true = {"alpha": 2.0, "beta": 3.0, "gamma": 0.8, "delta": 4.0}
    sim = simulate_bgbb(true, np.full(40_000, 8), rng)
    model = BetaGeoBetaBinom().fit(sim["frequency"], sim["recency"], sim["n_periods"])
    for name, value in true.items():
        err = abs(model.params_[name] - value)
        assert err < 4 * model.standard_errors_[name], name
    grouped = sim.groupby(list(sim.columns)).size().rename("w").reset_index()
    again = BetaGeoBetaBinom().fit(grouped["frequency"], grouped["recency"],
                                   grouped["n_periods"], weights=grouped["w"])
    assert again.params_.to_numpy() == pytest.approx(model.params_.to_numpy(), rel=1e-7)


def test_no_heterogeneity_is_a_limit_kept_with_a_warning_and_finite_predictions():
    # everybody transacts with p = 0.25 (the cert_school exam generator): alpha, beta -> inf
    rng = np.random.default_rng(3)
    n = rng.integers(1, 8, 5_000)
    sim = simulate_bgbb({"alpha": 2.5e7, "beta": 7.5e7, "gamma": 0.9, "delta": 2.6}, n, rng)
    with pytest.warns(ConvergenceWarning):
        model = BetaGeoBetaBinom().fit(sim["frequency"], sim["recency"], sim["n_periods"])
    assert model.fit_notes_
    a, b = model.params_["alpha"], model.params_["beta"]
    assert a / (a + b) == pytest.approx(0.25, abs=0.02)
    pred = np.asarray(model.conditional_expected_purchases(3, sim["frequency"], sim["recency"],
                                                          sim["n_periods"]))
    assert np.all(np.isfinite(pred)) and np.all(pred >= 0)
    assert np.all(np.isfinite(model.standard_errors_))


def test_input_errors_and_degenerate_data():
    with pytest.raises(ModelInputError, match="frequency > recency"):
        BetaGeoBetaBinom().fit([2], [1], [3])
    with pytest.raises(ModelInputError, match="recency > n_periods"):
        BetaGeoBetaBinom().fit([1], [4], [3])
    with pytest.raises(ModelInputError, match="non-integer"):
        BetaGeoBetaBinom().fit([1], [1.5], [3])
    with pytest.raises(ConvergenceError, match="does not exist"):
        BetaGeoBetaBinom().fit([0, 0], [0, 0], [4, 5])
    with pytest.raises(NotFittedError):
        BetaGeoBetaBinom().p_alive([1], [1], [2])
    with pytest.raises(ModelInputError, match="discount_rate"):
        with_params([1, 1, 1, 1]).discounted_expected_transactions([1], [1], [2], 0.0)


def test_forecast_with_part_of_the_running_opportunity_gone_by(fitted, donations):
    x, tx, n = (donations[c].to_numpy(float) for c in ("frequency", "recency", "periods"))
    k = 5
    # nothing gone by: P(alive at n + 1) times the increments of the conditional expectation
    e0 = fitted.forecast_by_opportunity(x, tx, n, np.zeros(len(x)), k)
    cum = np.stack([np.asarray(fitted.conditional_expected_purchases(j, x, tx, n))
                    for j in range(1, k + 1)], axis=1)
    assert e0 == pytest.approx(np.diff(cum, axis=1, prepend=0.0), rel=1e-10)
    # the whole of opportunity n + 1 gone by without a transaction: the same as a history
    # observed through n + 1 (exact Bayesian update)
    e1 = fitted.forecast_by_opportunity(x, tx, n, np.ones(len(x)), k)
    assert e1[:, 0] == pytest.approx(0.0, abs=1e-15)
    after = fitted.forecast_by_opportunity(x, tx, n + 1, np.zeros(len(x)), k - 1)
    assert e1[:, 1:] == pytest.approx(after, rel=1e-10)
    # part of it: in between, and never negative
    half = fitted.forecast_by_opportunity(x, tx, n, np.full(len(x), 0.5), k)
    assert np.all(half >= 0) and np.all(half[:, 1:] <= e0[:, 1:] + 1e-15)
    assert np.all(half[:, 1:] >= e1[:, 1:] - 1e-15)
