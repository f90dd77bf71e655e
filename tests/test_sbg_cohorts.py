"""The sBG on cohorts of different ages: right-censored likelihood, calibrated intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SBG_TABLE, numeric_gradient
from valuation.errors import ModelInputError
from valuation.models import ShiftedBetaGeometric
from valuation.models.sbg import member_counts, sbg_loglik_counts

TRUE = {"alpha": 0.8, "beta": 2.2}
AGES = np.arange(1, 8)  # signup years observed for 1..7 renewal periods


def _true_survival(t: np.ndarray) -> np.ndarray:
    from scipy.special import betaln

    return np.exp(betaln(TRUE["alpha"], TRUE["beta"] + t) - betaln(TRUE["alpha"], TRUE["beta"]))


def _simulate_members(rng: np.random.Generator, per_cohort: int = 250):
    """Members of cohorts of ages 1..7, each observed for its cohort's age (seeded)."""
    observed = np.repeat(AGES, per_cohort)
    theta = rng.beta(TRUE["alpha"], TRUE["beta"], observed.size)
    lifetime = rng.geometric(theta)  # periods until churn, >= 1
    renewals = np.minimum(lifetime - 1, observed)  # right-censored at the cohort's age
    return renewals, observed


def test_cohorts_members_and_single_curve_agree():
    table = pd.read_csv(SBG_TABLE)
    survivors = (table["regular_pct_surviving"] * 10).round().to_numpy()[:8]
    single = ShiftedBetaGeometric().fit(survivors)
    as_cohort = ShiftedBetaGeometric().fit_cohorts([survivors])
    pd.testing.assert_series_equal(single.params_, as_cohort.params_)
    # the same cohort as member records: renewals r, all observed for 7 decisions
    renewals = np.repeat(np.arange(8), np.r_[survivors[:-1] - survivors[1:], survivors[-1]]
                         .astype(int))
    members = ShiftedBetaGeometric().fit_members(renewals, np.full(renewals.size, 7))
    np.testing.assert_allclose(members.params_, single.params_, rtol=1e-6)
    # a young cohort adds its first periods only: equal to the member records
    young = np.array([400.0, 260.0, 200.0])
    cohorts = ShiftedBetaGeometric().fit_cohorts([survivors, young])
    young_r = np.repeat(np.arange(3), [140, 60, 200])
    both = ShiftedBetaGeometric().fit_members(np.r_[renewals, young_r],
                                              np.r_[np.full(renewals.size, 7), np.full(400, 2)])
    np.testing.assert_allclose(cohorts.params_, both.params_, rtol=1e-6)
    assert cohorts.log_likelihood_ == pytest.approx(both.log_likelihood_, rel=1e-9)


def test_censored_gradient_is_exact():
    lost, censored = member_counts([0, 1, 1, 3, 2, 4], [2, 1, 3, 3, 5, 4], [1, 2, 1, 1, 3, 1])
    assert lost.tolist() == [1.0, 1.0, 3.0, 0.0, 0.0]
    assert censored.tolist() == [0.0, 2.0, 0.0, 1.0, 1.0, 0.0]
    for params in ([0.7, 1.3], [3.0, 0.4]):
        _, grad = sbg_loglik_counts(np.array(params), lost, censored)
        numeric = numeric_gradient(lambda p: sbg_loglik_counts(p, lost, censored)[0], params)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_member_record_errors_are_clear():
    with pytest.raises(ModelInputError, match=r"row\(s\) \[1\]"):
        member_counts([0, 3], [2, 2])
    with pytest.raises(ModelInputError, match="same length"):
        member_counts([0, 1], [2])
    with pytest.raises(ModelInputError, match="nobody churned"):
        ShiftedBetaGeometric().fit_members([2, 3], [2, 3])


def _coverage(replications: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hits = {"alpha": 0, "beta": 0, "S(1)": 0, "S(3)": 0}
    truth_s = _true_survival(np.array([1.0, 3.0]))
    for _ in range(replications):
        renewals, observed = _simulate_members(rng)
        model = ShiftedBetaGeometric().fit_members(renewals, observed)
        for name in ("alpha", "beta"):  # Wald interval on the log scale (the fit's scale)
            est, se = model.params_[name], model.standard_errors_[name]
            half = 1.959964 * se / est
            hits[name] += np.exp(np.log(est) - half) <= TRUE[name] <= np.exp(np.log(est) + half)
        band = model.survival_interval([1.0, 3.0])
        inside = (band["lower"].to_numpy() <= truth_s) & (truth_s <= band["upper"].to_numpy())
        hits["S(1)"] += inside[0]
        hits["S(3)"] += inside[1]
    return {k: v / replications for k, v in hits.items()}


def test_intervals_cover_the_truth_on_cohorts_of_different_ages():
    """200 seeded replications of seven cohorts (ages 1..7, 250 members each) drawn from a
    known sBG: every 95% interval covers the truth 90-98.5% of the time."""
    coverage = _coverage(200, seed=2024)
    for name, share in coverage.items():
        assert 0.90 <= share <= 0.985, (name, coverage)


def test_pooling_every_member_into_one_cohort_gives_too_narrow_intervals():
    """The check has teeth: the old input (every member treated as observed in every period:
    the actuarial curve of one cohort of all members) gives intervals that miss the truth
    far too often for a growing base (young cohorts largest)."""
    rng = np.random.default_rng(5)
    sizes = np.array([500, 400, 300, 250, 200, 150, 100])  # ages 1..7
    hits, ratios = 0, []
    for _ in range(100):
        observed = np.repeat(AGES, sizes)
        theta = rng.beta(TRUE["alpha"], TRUE["beta"], observed.size)
        renewals = np.minimum(rng.geometric(theta) - 1, observed)
        survivors = [float(len(renewals))]
        for t in range(1, int(observed.max()) + 1):
            at_risk = ((observed >= t) & (renewals >= t - 1)).sum()
            lost = ((observed >= t) & (renewals == t - 1)).sum()
            survivors.append(survivors[-1] * (1 - lost / at_risk))
        pooled = ShiftedBetaGeometric().fit(np.rint(survivors))
        right = ShiftedBetaGeometric().fit_members(renewals, observed)
        ratios.append((right.standard_errors_ / pooled.standard_errors_).to_numpy())
        est, se = pooled.params_["alpha"], pooled.standard_errors_["alpha"]
        hits += abs(np.log(est) - np.log(TRUE["alpha"])) <= 1.959964 * se / est
    assert hits / 100 < 0.80
    assert (np.mean(ratios, axis=0) > 1.3).all()
