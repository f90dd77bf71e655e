"""Churn drivers with their uncertainty: BH q-values, out-of-time stability, data-availability
signals; no driver on data without covariate effects, the planted ones recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _lifetime_sim import AS_OF, simulate_with_covariates
from _survival_fixtures import TRUE_LOG_HR
from valuation.survival import ChurnModel, bh_adjust, driver_table, survival_table

COVARIATES = ["channel", "category", "first_order_value", "satisfaction", "minor", "age_band",
              "city_tier"]
REFERENCE = {"channel": "search", "category": "programming", "age_band": "18-24"}


def test_bh_adjust_known_answer():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.5])
    # sorted: 0.005, 0.01, 0.03, 0.04, 0.5 (m = 5) -> 0.025, 0.025, 0.05, 0.05, 0.5
    np.testing.assert_allclose(bh_adjust(p), [0.025, 0.05, 0.05, 0.025, np.nan, 0.5])


def _summary(coef, p, names):
    coef, se = np.asarray(coef, float), np.full(len(coef), 0.1)
    return pd.DataFrame({
        "coef": coef, "se(coef)": se, "coef lower 95%": coef - 0.196,
        "coef upper 95%": coef + 0.196, "exp(coef)": np.exp(coef),
        "exp(coef) lower 95%": np.exp(coef - 0.196), "exp(coef) upper 95%": np.exp(coef + 0.196),
        "p": p}, index=pd.Index(names, name="covariate"))


def test_driver_table_rules():
    names = ["a", "b", "c", "d", "e", "satisfaction_missing"]
    full = _summary([0.5, 0.5, -0.4, 0.3, 0.1, 0.9], [1e-6, 1e-6, 1e-5, 0.045, 0.3, 1e-9], names)
    late = _summary([0.4, -0.2, -0.3, 0.3, 0.1, 0.8], [1e-3, 0.01, 0.2, 0.01, 0.4, 1e-5], names)
    table = driver_table(full, late)
    # a: significant, stable; b: sign flips in the later cohort; c: not significant there;
    # d: p = 0.045 but q = 0.045 * 6 / 5 = 0.054 after BH; e: not significant;
    # satisfaction_missing: significant and stable, but a data-availability signal
    assert table["kept"].tolist() == [True, False, False, False, False, False]
    assert table["stable"].tolist() == [True, False, False, True, False, True]
    assert table.loc["d", "q"] == pytest.approx(0.054)
    assert table["significant"].tolist() == [True, True, True, False, False, True]
    assert table.loc["satisfaction_missing", "kind"] == "data_availability"
    assert (table.drop(index="satisfaction_missing")["kind"] == "behaviour").all()
    # no out-of-time refit: nothing is stable, nothing kept
    assert not driver_table(full, None)["kept"].any()


def _fit(tables) -> ChurnModel:
    table = survival_table(tables, AS_OF, 180)
    return ChurnModel(COVARIATES, reference=REFERENCE, check_ph=False, random_state=1).fit(table)


def test_no_driver_on_data_without_covariate_effects():
    for seed in (21, 22, 23):
        model = _fit(simulate_with_covariates(4000, {}, seed=seed))
        drivers = model.drivers_
        assert not drivers["kept"].any(), drivers.loc[drivers["p"] < 0.05]
        assert drivers["significant"].sum() <= 1


def test_planted_effects_are_recovered_as_drivers():
    model = _fit(simulate_with_covariates(5000, TRUE_LOG_HR, seed=27))
    drivers = model.drivers_
    for covariate, truth in TRUE_LOG_HR.items():
        row = drivers.loc[covariate]
        assert row["kept"], (covariate, row)
        assert abs(row["coef"] - truth) < 3.5 * row["se"], covariate  # 5 at once: not 1.96
        assert row["q"] < 0.05 and np.sign(row["late_coef"]) == np.sign(truth)
    # nothing planted on the city tier or the age bands
    planted = set(TRUE_LOG_HR)
    assert not drivers.loc[[c for c in drivers.index if c not in planted], "kept"].any()


@pytest.mark.parametrize("target", ["online_school", "cert_school"])
def test_samples_without_covariate_effects_list_no_driver(target, tmp_path):
    """The generator of these samples has no covariate effect; the brief listed "no
    satisfaction score" and "under 14" as drivers before issue 14."""
    from _survival_fixtures import load_sample
    from valuation.quality import clean_tables

    tables, params, truth = load_sample(target, tmp_path)
    assert set(truth["generator"]["survival"]["log_hazard_ratios"].values()) == {0.0}
    cleaned = clean_tables(tables, params).tables
    table = survival_table(cleaned, params.as_of, params.churn.inactivity_days)
    drivers = ChurnModel().fit(table).drivers_
    assert not drivers["kept"].any(), drivers.loc[drivers["kept"]]
    behaviour = drivers.loc[drivers["kind"] == "behaviour"]
    assert not behaviour["significant"].any(), behaviour.loc[behaviour["significant"]]
    # a missing score, if it shows, is labelled a data-availability signal
    flagged = drivers.loc[drivers["significant"]]
    assert (flagged["kind"] == "data_availability").all()
