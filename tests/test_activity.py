"""Monthly panel, cohort retention, consent cohorts, P(alive) distribution and outlook."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _survival_fixtures import AS_OF, load_sample, synthetic_tables
from valuation.activity import (
    active_by_consent_cohort,
    bgnbd_parameters,
    cohort_retention,
    expected_active_customers,
    monthly_activity_panel,
    p_alive_distribution,
    p_alive_summary,
    signs_of_life,
    suppress_for_publication,
)
from valuation.errors import ModelInputError

D = pd.Timestamp
P = lambda text: pd.Period(text, freq="M")  # noqa: E731


def _tables() -> dict[str, pd.DataFrame]:
    """Four customers whose month-by-month activity is worked out by hand below."""
    customers = pd.DataFrame(
        {
            "customer_token": pd.array(["a", "b", "c", "d"], dtype="string"),
            "signup_date": [D("2025-01-03"), D("2025-01-20"), D("2025-02-10"), D("2025-07-01")],
            "consent_transfer": pd.array([True, False, True, True], dtype="boolean"),
            "minor": pd.array([False, False, True, False], dtype="boolean"),
            "guardian_consent": pd.array([None, None, False, None], dtype="boolean"),
            "contactable": pd.array([True, True, True, False], dtype="boolean"),
        }
    )
    orders = pd.DataFrame(
        {
            "customer_token": pd.array(["a", "b", "c", "a", "d", "orphan"], dtype="string"),
            "order_date": [D("2025-01-05"), D("2025-01-25"), D("2025-02-11"), D("2025-04-02"),
                           D("2025-07-02"), D("2025-03-03")],
            "amount": [100.0, 200.0, 300.0, 50.0, 10.0, 80.0],
        }
    )
    activity = pd.DataFrame(
        {
            "customer_token": pd.array(["a", "b", "b", "c", "c", "a"], dtype="string"),
            "event_date": [D("2025-01-20"), D("2025-02-03"), D("2025-02-04"), D("2025-03-01"),
                           D("2025-04-30"), D("2025-08-01")],  # the last is after as_of
        }
    )
    return {"customers": customers, "orders": orders, "activity": activity}


AS_OF_TINY = "2025-04-30"


def test_monthly_panel_known_answer():
    panel = monthly_activity_panel(_tables(), AS_OF_TINY)
    # Jan: a, b (new)   Feb: b (retained), c (new); a lapsed   Mar: c retained; b lapsed
    # Apr: a returning, c retained. The orphan order (no customer record) does not count.
    expected = pd.DataFrame(
        {
            "active": [2, 2, 1, 2],
            "new": [2, 1, 0, 0],
            "retained": [0, 1, 1, 1],
            "returning": [0, 0, 0, 1],
            "lapsed": [0, 1, 1, 0],
        },
        index=pd.period_range("2025-01", "2025-04", freq="M", name="month"),
    )
    pd.testing.assert_frame_equal(panel, expected)


def test_monthly_panel_identities_and_no_gaps():
    panel = monthly_activity_panel(synthetic_tables(n=400, seed=2), AS_OF)
    assert (panel["active"] == panel["new"] + panel["retained"] + panel["returning"]).all()
    assert (panel["lapsed"].iloc[1:].to_numpy()
            == panel["active"].shift(1).iloc[1:].to_numpy() - panel["retained"].iloc[1:]).all()
    assert (panel[["new", "retained", "returning", "lapsed"]] >= 0).all().all()
    assert panel.index.is_monotonic_increasing and panel.index[-1] == P("2025-06")
    assert len(panel) == (panel.index[-1] - panel.index[0]).n + 1


def test_signs_of_life_ignore_records_after_as_of():
    signs = signs_of_life(_tables(), AS_OF_TINY)
    assert signs["date"].max() == D("2025-04-30")
    assert len(signs) == 5 + 5  # 5 orders (one orphan) and 5 events on or before as_of
    known = signs_of_life(_tables(), AS_OF_TINY, known_customers_only=True)
    assert len(known) == 9 and "orphan" not in set(known["customer_token"])


def test_cohort_retention_known_answer():
    result = cohort_retention(_tables(), AS_OF_TINY)
    assert result.sizes.to_dict() == {P("2025-01"): 2, P("2025-02"): 1}  # d signs up later
    counts = result.counts
    assert counts.loc[P("2025-01")].tolist() == [2, 1, 0, 1]
    # cohort Feb: active Feb, Mar, Apr; the 4th month after signup is not observable yet
    assert counts.loc[P("2025-02")].iloc[:3].tolist() == [1, 1, 1]
    assert np.isnan(counts.loc[P("2025-02")].iloc[3])
    assert result.shares.loc[P("2025-01"), 1] == pytest.approx(0.5)
    long = result.long()
    assert len(long) == 7 and set(long.columns) == {
        "cohort", "months_since_signup", "cohort_size", "active", "share"}
    published = result.publishable(2)
    assert published["suppressed"].tolist() == [False] * 4 + [True] * 3  # 1-customer cohort
    assert published["active"].iloc[0] == 2 and published["active"].iloc[4:].isna().all()


def test_cohort_retention_max_months():
    result = cohort_retention(synthetic_tables(n=300, seed=4), AS_OF, max_months=6)
    assert list(result.counts.columns) == list(range(7))
    assert (result.shares.stack() <= 1.0).all()


def test_active_by_consent_cohort():
    frame = active_by_consent_cohort(_tables(), AS_OF_TINY)
    # transferable: a (consented) only -- c is a minor without guardian consent, b did not consent
    assert frame["all"].tolist() == [2, 2, 1, 2]
    assert frame["transferable"].tolist() == [1, 0, 0, 1]
    assert frame["transferable_contactable"].tolist() == [1, 0, 0, 1]
    assert (frame["transferable"] <= frame["all"]).all()


def test_suppression_hook_blanks_small_cells():
    table = pd.DataFrame({"group": ["x", "y", "z"], "customers": [1, 10, 12],
                          "share": [0.1, 0.4, 0.5]})
    out = suppress_for_publication(table, "customers", 5)
    assert out.loc[0, "suppressed"] and pd.isna(out.loc[0, "customers"])
    assert pd.isna(out.loc[0, "share"]) and out.loc[2, "customers"] == 12
    assert out.loc[0, "group"] == "x"


def test_p_alive_distribution_and_summary():
    values = pd.Series([0.05, 0.15, 0.15, 0.95, 1.0, 0.5])
    dist = p_alive_distribution(values)
    assert dist["customers"].tolist() == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]
    assert dist["share"].sum() == pytest.approx(1.0)
    summary = p_alive_summary(values).iloc[0]
    assert summary["customers"] == 6 and summary["expected_alive"] == pytest.approx(2.8)
    assert summary["median"] == pytest.approx(0.325)
    with pytest.raises(ModelInputError):
        p_alive_distribution(pd.Series([1.2]))


class _FixedBetaGeo:
    """A fitted BG/NBD stand-in with known parameters (P(alive) in closed form)."""

    def __init__(self, r, alpha, a, b):
        self.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})

    def p_alive(self, frequency, recency, T):
        r, alpha, a, b = self.params_
        x, tx, t = (np.asarray(v, float) for v in (frequency, recency, T))
        ratio = (a / (b + x - 1)) * ((alpha + t) / (alpha + tx)) ** (r + x)
        return np.where(x > 0, 1.0 / (1.0 + ratio), 1.0)


def _simulate_outlook(model, rfm, months, unit_per_month, rng, draws=4000):
    r, alpha, a, b = model.params_
    alive_now = np.asarray(model.p_alive(rfm["frequency"], rfm["recency"], rfm["T"]), float)
    alive_counts = np.zeros(months)
    active_counts = np.zeros(months)
    for i, (x, t) in enumerate(zip(rfm["frequency"], rfm["T"])):
        alive = rng.random(draws) < alive_now[i]
        lam = rng.gamma(r + x, 1.0 / (alpha + t), draws)
        p = rng.beta(a, b + x, draws)
        # time of drop-out: the first purchase after which the coin says "leave";
        # purchases form a Poisson process, so the drop-out time is Exp(lambda p)
        death = np.where(alive, rng.exponential(1.0 / (lam * p)), 0.0)
        for m in range(months):
            start, end = m * unit_per_month, (m + 1) * unit_per_month
            alive_counts[m] += (death > end).sum() / draws
            # at least one purchase in (start, end] while alive: first purchase after start
            first_buy = start + rng.exponential(1.0 / lam)
            active_counts[m] += ((death > start) & (first_buy <= end)).sum() / draws
    return alive_counts, active_counts


def test_expected_active_customers_matches_simulation():
    model = _FixedBetaGeo(0.8, 6.0, 0.7, 2.5)
    rfm = pd.DataFrame({"frequency": [0.0, 2.0, 7.0], "recency": [0.0, 20.0, 50.0],
                        "T": [30.0, 40.0, 52.0]})
    outlook = expected_active_customers(model, rfm, months=6, time_unit="W")
    assert list(outlook["month"]) == list(range(1, 7))
    alive, active = _simulate_outlook(model, rfm, 6, 365.25 / 12 / 7, np.random.default_rng(0))
    np.testing.assert_allclose(outlook["expected_alive"], alive, atol=0.06)
    np.testing.assert_allclose(outlook["expected_active"], active, atol=0.06)
    assert outlook["expected_alive"].is_monotonic_decreasing


def test_bgnbd_parameters_errors():
    assert bgnbd_parameters(_FixedBetaGeo(1, 2, 3, 4)) == {"r": 1, "alpha": 2, "a": 3, "b": 4}
    with pytest.raises(ModelInputError, match="no fitted parameter 'r'"):
        bgnbd_parameters(object())


def _bgnbd_orders(n, r, alpha, a, b, weeks, rng) -> pd.DataFrame:
    """Orders of a BG/NBD population (weekly time), first purchases spread over the window."""
    rows = []
    start = D("2023-01-02")
    for i in range(n):
        lam, p = rng.gamma(r, 1.0 / alpha), rng.beta(a, b)
        t = rng.uniform(0, weeks / 2)
        rows.append((f"c{i}", t))
        while True:
            t += rng.exponential(1.0 / lam)
            if t > weeks:
                break
            rows.append((f"c{i}", t))
            if rng.random() < p:
                break
    frame = pd.DataFrame(rows, columns=["customer_token", "week"])
    frame["order_date"] = start + pd.to_timedelta(np.floor(frame["week"] * 7), unit="D")
    frame["amount"] = 100.0
    return frame.drop(columns="week")


def test_expected_active_with_the_real_betageo():
    import valuation.models as models
    import valuation.features as features
    rng = np.random.default_rng(8)
    orders = _bgnbd_orders(1500, 0.6, 4.0, 0.8, 2.5, 104, rng)
    end = D("2023-01-02") + pd.Timedelta(weeks=104)
    rfm = features.rfm_summary(orders, calibration_end=end, time_unit="W")
    model = models.BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    outlook = expected_active_customers(model, rfm.iloc[:40], months=3, time_unit="W")
    alive, active = _simulate_outlook(model, rfm.iloc[:40], 3, 365.25 / 12 / 7,
                                      np.random.default_rng(1), draws=2000)
    np.testing.assert_allclose(outlook["expected_alive"], alive, rtol=0.03)
    np.testing.assert_allclose(outlook["expected_active"], active, rtol=0.05)


# ---------------------------------------------------------------------------------------
# sample targets: the monthly active counts equal the generator's
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("target", ["online_school", "bootcamp", "cert_school"])
def test_sample_monthly_active_counts_match_ground_truth(target, tmp_path):
    tables, params, truth = load_sample(target, tmp_path)
    expected = {str(k): int(v) for k, v in truth["activity"]["active_customers_by_month"].items()}
    panel = monthly_activity_panel(tables, params.as_of)
    ours = {str(month): int(n) for month, n in panel["active"].items() if n > 0}
    last = str(pd.Period(params.as_of, freq="M"))
    # the generator counts every record of a known customer, including the planted
    # future-dated ones; the panel stops at as_of
    after = {k: v for k, v in expected.items() if k > last}
    planted_future = truth["defect_detail"]["future_dates_by_table"]
    assert sum(after.values()) <= planted_future.get("orders", 0) + planted_future.get("activity", 0)
    assert ours == {k: v for k, v in expected.items() if k <= last and v > 0}
