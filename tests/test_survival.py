"""Survival table, Kaplan-Meier, log-rank, Cox PH and Weibull AFT.

(The Weibull change-of-owner curve was unused by the brief and the valuation, which apply the
change of owner to the retention of :mod:`valuation.value.retention`; it was removed.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from _survival_fixtures import AS_OF, SHAPE, TRUE_LOG_HR, load_sample, synthetic_tables
from valuation.errors import ModelInputError, NotFittedError
from valuation.survival import (
    ChurnModel,
    design_matrix,
    kaplan_meier_curves,
    logrank_tests,
    median_lifetimes,
    pairwise_logrank,
    stratified_sample,
    survival_table,
    weibull_remaining_days,
)

D = pd.Timestamp


def _tiny_tables() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_token": pd.array(["a", "b", "c", "d"], dtype="string"),
            "channel": pd.array(["search", "wechat", None, "search"], dtype="string"),
            "age_band": pd.array(["18-24", "<14", "25-34", None], dtype="string"),
            "minor": pd.array([False, True, False, None], dtype="boolean"),
            "city_tier": pd.array(["tier1", "tier2", "tier1", "other"], dtype="string"),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": pd.array(["o1", "o2", "o3", "o4", "o5", "o6", "o7"], dtype="string"),
            "customer_token": pd.array(["a", "a", "b", "c", "d", "d", "e"], dtype="string"),
            "category": pd.array(["data", "cloud", "programming", "data", "cloud", "data", "data"],
                                 dtype="string"),
            "order_date": [D("2025-01-01"), D("2025-02-01"), D("2024-01-01"), D("2025-06-01"),
                           D("2025-01-01"), D("2025-01-01"), D("2024-06-01")],
            "amount": [1000.0, 500.0, 20000.0, 300.0, 100.0, 900.0, 50.0],
        }
    )
    activity = pd.DataFrame(
        {
            "customer_token": pd.array(["a", "d", "c"], dtype="string"),
            "event_date": [D("2025-03-01"), D("2025-07-15"), D("2025-05-01")],
        }
    )
    feedback = pd.DataFrame(
        {
            "customer_token": pd.array(["a", "a", "b"], dtype="string"),
            "feedback_date": [D("2025-01-10"), D("2025-08-01"), D("2024-02-01")],
            "score": [4.0, 1.0, 2.0],
        }
    )
    return {"customers": customers, "orders": orders, "activity": activity, "feedback": feedback}


# ---------------------------------------------------------------------------------------
# survival table
# ---------------------------------------------------------------------------------------
def test_survival_table_known_answers():
    table = survival_table(_tiny_tables(), "2025-06-30", inactivity_days=90)
    assert list(table.index) == ["a", "b", "c", "d", "e"]
    a, b, c, d, e = (table.loc[t] for t in "abcde")
    # a: first order 01-01, last activity 03-01 -> 59 days; inactive 121 days > 90 -> churned
    assert (a["duration"], a["days_inactive"], a["event"]) == (59, 121, 1)
    assert a["category"] == "data" and a["first_order_value"] == 1000.0
    assert a["satisfaction"] == 4.0  # the score dated after as_of is ignored
    assert a["n_orders"] == 2 and a["revenue"] == 1500.0
    # b: one-off customer who left long ago: duration 0, churned
    assert (b["duration"], b["event"]) == (0, 1)
    assert b["minor"] and b["age_band"] == "<14"
    # c: order 06-01 after activity 05-01 -> censored, duration 0; missing channel -> unknown
    assert (c["duration"], c["event"]) == (0, 0)
    assert c["channel"] == "unknown" and np.isnan(c["satisfaction"]) and not c["satisfaction_known"]
    # d: activity after as_of is not a sign of life; two orders the first day -> larger one
    assert (d["duration"], d["days_inactive"], d["event"]) == (0, 180, 1)
    assert d["category"] == "data" and d["first_order_value"] == 900.0
    assert d["age_band"] == "unknown" and not d["minor"]
    # e: orphan order (no customer record) -> every attribute unknown
    assert e["channel"] == "unknown" and e["city_tier"] == "unknown"


def test_survival_table_threshold_boundary_is_strict():
    table = survival_table(_tiny_tables(), "2025-06-30", inactivity_days=180)
    assert table.loc["d", "days_inactive"] == 180 and table.loc["d", "event"] == 0
    assert survival_table(_tiny_tables(), "2025-06-30", 179).loc["d", "event"] == 1


def test_survival_table_never_reads_after_as_of():
    tables = synthetic_tables(n=300, seed=3)
    before = survival_table(tables, "2024-12-31", 180)
    cut = D("2024-12-31")
    truncated = {
        "customers": tables["customers"],
        "orders": tables["orders"].loc[tables["orders"]["order_date"] <= cut],
        "activity": tables["activity"].loc[tables["activity"]["event_date"] <= cut],
        "feedback": tables["feedback"].loc[tables["feedback"]["feedback_date"] <= cut],
    }
    pd.testing.assert_frame_equal(before, survival_table(truncated, cut, 180))
    # and the future really held information that would have changed the answer
    assert not before["duration"].equals(survival_table(tables, AS_OF, 180)
                                         .reindex(before.index)["duration"])


def test_survival_table_does_not_modify_inputs():
    tables = _tiny_tables()
    copies = {k: v.copy() for k, v in tables.items()}
    survival_table(tables, "2025-06-30", 90)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, copies[name])


def test_survival_table_errors_are_clear():
    tables = _tiny_tables()
    with pytest.raises(ModelInputError, match="no purchases .* dated on or before 2020-01-01"):
        survival_table(tables, "2020-01-01", 90)
    broken = {**tables, "orders": tables["orders"].drop(columns=["order_date"])}
    with pytest.raises(ModelInputError, match="'orders' lacks column"):
        survival_table(broken, "2025-06-30", 90)


def _reference_survival_table(tables, as_of, inactivity_days):
    """The survival table written the plain pandas way (the implementation before issue 8's
    memory work, with issue 14's lifetime definition: purchases are orders with a positive
    net amount; censoring at as_of - inactivity_days; customers newer than that are not
    observable): the optimised one must give exactly this frame."""
    cut = pd.Timestamp(as_of).normalize()
    orders = tables["orders"]
    refund = orders["refund_amount"].fillna(0.0) if "refund_amount" in orders else 0.0
    orders = orders.loc[orders["order_date"].notna() & (orders["order_date"] <= cut)
                        & ((orders["amount"] - refund) > 0)]
    orders = orders.loc[orders["customer_token"].notna()]
    first = (
        orders.sort_values(["customer_token", "order_date", "amount", "order_id"],
                           ascending=[True, True, False, True], kind="mergesort")
        .drop_duplicates("customer_token").set_index("customer_token")
    )
    per_customer = orders.groupby("customer_token", observed=True).agg(
        first_purchase=("order_date", "min"), last_order=("order_date", "max"),
        n_orders=("order_date", "size"), revenue=("amount", "sum"),
    )
    activity = tables["activity"]
    activity = activity.loc[activity["event_date"].notna() & (activity["event_date"] <= cut)]
    last_event = activity.groupby("customer_token", observed=True)["event_date"].max()
    last_seen = pd.concat([per_customer["last_order"], last_event.reindex(per_customer.index)],
                          axis=1).max(axis=1)

    def level(values):
        text = values.astype("string").str.strip()
        return text.mask(text.isna() | (text == ""), "unknown").astype(str)

    table = pd.DataFrame(index=per_customer.index)
    table.index.name = "customer_token"
    table["first_purchase"] = per_customer["first_purchase"]
    table["last_seen"] = last_seen
    table["last_seen"] = table[["first_purchase", "last_seen"]].max(axis=1)
    confirm_by = cut - pd.Timedelta(days=inactivity_days)
    table["age_days"] = (cut - table["first_purchase"]).dt.days.astype("int64")
    table["span_days"] = (table["last_seen"] - table["first_purchase"]).dt.days.astype("int64")
    table["days_inactive"] = (cut - table["last_seen"]).dt.days.astype("int64")
    table["event"] = (table["days_inactive"] > inactivity_days).astype("int64")
    table["observable"] = table["first_purchase"] <= confirm_by
    censored = (confirm_by - table["first_purchase"]).dt.days.astype("int64")
    table["duration"] = np.where(table["event"] == 1, table["span_days"],
                                 np.where(table["observable"], censored, 0)).astype("int64")
    table["n_orders"] = per_customer["n_orders"].astype("int64")
    table["revenue"] = per_customer["revenue"].astype("float64")
    attrs = tables["customers"].drop_duplicates("customer_token").set_index("customer_token")
    attrs = attrs.reindex(table.index)
    for column in ("channel", "age_band", "city_tier"):
        table[column] = level(attrs[column])
    table["category"] = level(first["category"].reindex(table.index))
    table["first_order_value"] = first["amount"].reindex(table.index).astype("float64")
    table["minor"] = attrs["minor"].astype("boolean").fillna(False).astype(bool)
    feedback = tables["feedback"]
    feedback = feedback.loc[feedback["feedback_date"].notna() & (feedback["feedback_date"] <= cut)
                            & feedback["score"].notna()]
    satisfaction = (feedback.groupby("customer_token", observed=True)["score"].mean()
                    .reindex(table.index).astype("float64"))
    table["satisfaction"] = satisfaction
    table["satisfaction_known"] = satisfaction.notna()
    return table.sort_index()


def _messy_tables(seed: int) -> dict[str, pd.DataFrame]:
    """Random tables with every awkward case: ties on the first day (equal amounts too),
    missing amounts, dates and tokens, future records, orphans, duplicate customer rows,
    activity before the first purchase or of unknown tokens, blank and padded levels."""
    rng = np.random.default_rng(seed)
    n_customers, n_orders, n_events = 400, 2500, 4000
    pool = np.array([f"t{i:04d}" for i in range(n_customers + 60)], dtype=object)

    def tokens(size, missing=0.02):
        values = rng.choice(pool, size).astype(object)
        values[rng.random(size) < missing] = None
        return pd.array(values, dtype="string")

    def dates(size, missing=0.02):
        days = rng.integers(0, 30, size) * 30  # coarse dates: many same-day ties
        values = pd.Series(D("2023-01-01") + pd.to_timedelta(days, unit="D"))
        return values.mask(rng.random(size) < missing)

    customer_tokens = np.concatenate([pool[:n_customers], rng.choice(pool[:n_customers], 30)])
    levels = np.array(["search", " wechat ", "", None, "referral"], dtype=object)
    n_rows = len(customer_tokens)
    customers = pd.DataFrame({
        "customer_token": pd.array(customer_tokens, dtype="string"),
        "channel": pd.array(rng.choice(levels, n_rows), dtype="string"),
        "age_band": pd.array(rng.choice(np.array(["<14", "18-24", None], dtype=object), n_rows),
                             dtype="string"),
        "minor": pd.array(rng.choice(np.array([True, False, None], dtype=object), n_rows),
                          dtype="boolean"),
        "city_tier": pd.array(rng.choice(np.array(["tier1", "tier2 ", None], dtype=object),
                                         n_rows), dtype="string"),
    })
    amount = rng.choice([100.0, 250.5, 999.99, 1e4, np.nan], n_orders)
    orders = pd.DataFrame({
        "order_id": pd.array(rng.permutation([f"o{i:05d}" for i in range(n_orders)]).astype(object),
                             dtype="string"),
        "customer_token": tokens(n_orders),
        "category": pd.array(rng.choice(levels, n_orders), dtype="string"),
        "order_date": dates(n_orders),
        "amount": amount,
    })
    orders.loc[rng.random(n_orders) < 0.05, "order_id"] = pd.NA
    activity = pd.DataFrame({"customer_token": tokens(n_events), "event_date": dates(n_events)})
    feedback = pd.DataFrame({
        "customer_token": tokens(600),
        "feedback_date": dates(600),
        "score": rng.choice([1.0, 2.5, 3.0, 5.0, np.nan], 600),
    })
    return {"customers": customers, "orders": orders, "activity": activity, "feedback": feedback}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_survival_table_equals_the_plain_pandas_computation(seed):
    tables = _messy_tables(seed)
    copies = {k: v.copy() for k, v in tables.items()}
    expected = _reference_survival_table(tables, "2024-12-31", 120)
    table = survival_table(tables, "2024-12-31", 120)
    # the planted awkward cases really occur, so the comparison covers them
    orders = tables["orders"].loc[tables["orders"]["order_date"] <= D("2024-12-31")]
    first_day = orders.groupby("customer_token")["order_date"].transform("min")
    assert (orders["order_date"] == first_day).groupby(orders["customer_token"]).sum().max() > 1
    assert (~expected.index.isin(tables["customers"]["customer_token"].dropna())).any()
    assert (expected["category"] == "unknown").any()
    assert (~expected["observable"]).any() and (expected["event"] == 0).any()
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, copies[name])


def test_survival_table_matches_plain_pandas_on_the_sample_target():
    tables = synthetic_tables(n=2000, seed=11)
    pd.testing.assert_frame_equal(
        survival_table(tables, AS_OF, 180), _reference_survival_table(tables, AS_OF, 180),
        check_exact=True,
    )


def test_design_matrix_treatment_coding_and_imputation():
    table = survival_table(_tiny_tables(), "2025-06-30", 90)
    x = design_matrix(table, ["channel", "satisfaction", "first_order_value"],
                      reference={"channel": "search"}, scale={"first_order_value": 1000})
    assert list(x.columns) == ["channel[unknown]", "channel[wechat]", "satisfaction",
                               "satisfaction_missing", "first_order_value"]
    assert x.loc["b", "channel[wechat]"] == 1.0 and x.loc["a", "channel[wechat]"] == 0.0
    assert x.loc["c", "satisfaction"] == pytest.approx(3.0)  # mean of 4 and 2
    assert x.loc["c", "satisfaction_missing"] == 1.0
    assert x.loc["b", "first_order_value"] == pytest.approx(20.0)


# ---------------------------------------------------------------------------------------
# Kaplan-Meier and log-rank
# ---------------------------------------------------------------------------------------
def _km_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"duration": [1, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0],
         "channel": ["x", "x", "x", "x", "x"]},
        index=pd.Index(list("vwxyz"), name="customer_token"),
    )


def test_kaplan_meier_known_answer():
    curve = kaplan_meier_curves(_km_table())
    survival = curve.set_index("days")["survival"]
    # product-limit by hand: 4/5, then x 3/4, then x 1/2
    assert survival.loc[1.0] == pytest.approx(0.8)
    assert survival.loc[2.0] == pytest.approx(0.6)
    assert survival.loc[3.0] == pytest.approx(0.3)
    assert (curve["ci_lower"] <= curve["survival"] + 1e-12).all()
    assert (curve["ci_upper"] >= curve["survival"] - 1e-12).all()
    medians = median_lifetimes(_km_table())
    assert medians.loc[0, "median_days"] == 3.0 and medians.loc[0, "churned"] == 3


def test_segments_below_min_size_are_left_out():
    table = survival_table(synthetic_tables(n=300, seed=5), AS_OF, 180)
    table.loc[table.index[:3], "channel"] = "rare"
    groups = set(kaplan_meier_curves(table, "channel", min_group_size=5)["group"])
    assert "rare" not in groups and {"search", "wechat", "offline"} <= groups
    assert "rare" in set(median_lifetimes(table, "channel")["group"])


@pytest.fixture(scope="module")
def synthetic_table() -> pd.DataFrame:
    return survival_table(synthetic_tables(), AS_OF, 180)


def test_logrank_detects_real_differences_only(synthetic_table):
    tests = logrank_tests(synthetic_table, ["channel", "city_tier"]).set_index("segment")
    assert tests.loc["channel", "p"] < 1e-4  # planted effect
    assert tests.loc["city_tier", "p"] > 0.01  # no effect planted
    assert tests.loc["channel", "groups"] == 3 and tests.loc["channel", "dof"] == 2
    pairs = pairwise_logrank(synthetic_table, "channel")
    assert len(pairs) == 3
    offline_wechat = pairs.loc[(pairs["group_a"] == "offline") & (pairs["group_b"] == "wechat")]
    assert offline_wechat["p"].iloc[0] < 1e-4


# ---------------------------------------------------------------------------------------
# Cox PH and Weibull AFT
# ---------------------------------------------------------------------------------------
COVARIATES = ["channel", "category", "first_order_value", "satisfaction", "minor",
              "age_band", "city_tier"]
REFERENCE = {"channel": "search", "category": "programming", "age_band": "18-24"}


@pytest.fixture(scope="module")
def fitted(synthetic_table) -> ChurnModel:
    return ChurnModel(COVARIATES, reference=REFERENCE, random_state=1).fit(synthetic_table)


def test_cox_recovers_planted_log_hazard_ratios(fitted):
    drivers = fitted.drivers_
    for covariate, truth in TRUE_LOG_HR.items():
        row = drivers.loc[covariate]
        assert row["coef_lower"] <= truth <= row["coef_upper"], covariate
        assert np.sign(row["coef"]) == np.sign(truth)
        assert row["hazard_ratio"] == pytest.approx(np.exp(row["coef"]))
    # age_band "<14" is minor: no column of its own
    assert "age_band[<14]" not in fitted.columns_ and fitted.dropped_ == []
    # no effect planted on city tier
    for covariate in ("city_tier[other]", "city_tier[tier2]"):
        assert drivers.loc[covariate, "coef_lower"] <= 0 <= drivers.loc[covariate, "coef_upper"]


def test_cox_concordance_and_ph_check(fitted):
    assert 0.58 < fitted.concordance_ < 0.8
    ph = fitted.ph_check_
    assert set(ph.index) == set(fitted.columns_)
    assert {"test_statistic", "p", "violated"} <= set(ph.columns)
    # the simulated hazards are proportional by construction
    assert ph["violated"].sum() <= 2


def test_batch_mode_gives_the_same_fit(synthetic_table):
    quick = ChurnModel(["channel", "minor"], batch_threshold=0, check_ph=False).fit(synthetic_table)
    plain = ChurnModel(["channel", "minor"], batch_threshold=10**9, check_ph=False).fit(
        synthetic_table
    )
    pd.testing.assert_series_equal(quick.drivers_["coef"], plain.drivers_["coef"], atol=1e-6)


def test_weibull_aft_matches_the_generator(fitted, synthetic_table):
    # Weibull PH with log HR beta is Weibull AFT with coefficient -beta / shape
    _, shape = fitted.weibull_parameters(synthetic_table.iloc[:1])
    assert shape == pytest.approx(SHAPE, abs=0.12)
    lam = fitted.aft_.params_.loc["lambda_"]
    assert lam["channel[offline]"] == pytest.approx(-TRUE_LOG_HR["channel[offline]"] / SHAPE,
                                                    abs=0.25)


def test_weibull_remaining_days_closed_form_matches_integration():
    scale, shape, age = 400.0, 0.7, 250.0

    def conditional(u: float) -> float:
        return np.exp(-((age + u) / scale) ** shape + (age / scale) ** shape)

    full, _ = integrate.quad(conditional, 0, np.inf, limit=200)
    capped, _ = integrate.quad(conditional, 0, 365)
    assert weibull_remaining_days(np.array([scale]), shape, np.array([age]))[0] == pytest.approx(
        full, rel=1e-6)
    assert weibull_remaining_days(np.array([scale]), shape, np.array([age]), 365)[0] == \
        pytest.approx(capped, rel=1e-6)
    # far in the tail the asymptotic branch takes over, continuously
    old = np.array([scale * 600 ** (1 / shape) * 0.999, scale * 600 ** (1 / shape) * 1.001])
    values = weibull_remaining_days(np.full(2, scale), shape, old)
    assert values[0] == pytest.approx(values[1], rel=0.01)


def test_expected_remaining_lifetime_agrees_with_lifelines(fitted, synthetic_table):
    rows = synthetic_table.loc[synthetic_table["event"] == 0].iloc[:3]
    ours = fitted.expected_remaining_lifetime(rows, horizon_days=2000)
    x = fitted.design(rows)
    age = rows["span_days"].to_numpy() + 1.0  # known to have lived up to the last sign of life
    times = np.linspace(0, 2000, 4001)
    surv = fitted.aft_.predict_survival_function(x, times=times, conditional_after=age)
    numeric = np.trapezoid(surv.to_numpy(), times, axis=0)
    np.testing.assert_allclose(ours["expected_remaining_days"].to_numpy(), numeric, rtol=1e-3)
    median = fitted.aft_.predict_median(x, conditional_after=age).to_numpy().reshape(-1)
    np.testing.assert_allclose(ours["median_remaining_days"].to_numpy(), median, rtol=1e-3)


def test_churn_probability_is_zero_for_no_time_and_grows(fitted, synthetic_table):
    rows = synthetic_table.iloc[:50]
    assert np.allclose(fitted.churn_probability(rows, 0.0), 0.0)
    p90, p365 = fitted.churn_probability(rows, 90.0), fitted.churn_probability(rows, 365.0)
    assert (p365 >= p90).all() and (p365 > p90).any()


def test_not_fitted_and_too_small():
    with pytest.raises(NotFittedError):
        ChurnModel().risk_score(_km_table())
    with pytest.raises(ModelInputError, match="at least 10 customers"):
        ChurnModel(["channel"]).fit(_km_table())


# ---------------------------------------------------------------------------------------
# sample targets
# ---------------------------------------------------------------------------------------
def _sample_model(target: str, tmp_path) -> tuple[pd.DataFrame, object, dict]:
    tables, params, truth = load_sample(target, tmp_path)
    table = survival_table(tables, params.as_of, params.churn.inactivity_days)
    spec = truth["generator"].get("survival", {})
    return table, params, spec


@pytest.mark.slow
def test_bootcamp_recovers_generator_log_hazard_ratios(tmp_path):
    table, _, spec = _sample_model("bootcamp", tmp_path)
    truth = spec["log_hazard_ratios"]
    model = _fit_like_generator(table, spec)
    drivers = model.drivers_
    for name, value in truth.items():
        assert name in drivers.index, name
        row = drivers.loc[name]
        assert row["coef_lower"] <= value <= row["coef_upper"], (name, value, row.to_dict())
        if abs(value) > 0.1:
            assert np.sign(row["coef"]) == np.sign(value), name


@pytest.mark.slow
@pytest.mark.parametrize("target", ["online_school", "cert_school"])
def test_zero_effect_samples_have_intervals_around_zero(target, tmp_path):
    table, _, spec = _sample_model(target, tmp_path)
    model = _fit_like_generator(table, spec)
    covers = (model.drivers_["coef_lower"] <= 0) & (0 <= model.drivers_["coef_upper"])
    assert covers.mean() >= 0.75, model.drivers_


def _fit_like_generator(table: pd.DataFrame, spec: dict) -> ChurnModel:
    """Cox with the generator's covariates and reference levels (``first_order_value`` per
    CNY 10,000, the model's default unit)."""
    covariates = []
    for name in spec.get("log_hazard_ratios", {}):
        base = name.split("[", 1)[0]
        if base not in covariates:
            covariates.append(base)
    return ChurnModel(covariates or list(COVARIATES), reference=spec.get("reference_levels"),
                      check_ph=False, random_state=0).fit(table)


def test_collinear_and_constant_columns_are_dropped(synthetic_table):
    table = synthetic_table.assign(
        category=synthetic_table["channel"].map({"search": "p", "wechat": "q", "offline": "r"}),
        city_tier="tier1",
    )
    model = ChurnModel(["channel", "category", "city_tier", "minor"],
                       reference={"channel": "search", "category": "p"}, check_ph=False).fit(table)
    assert model.dropped_ == ["category[q]", "category[r]"]
    assert model.columns_ == ["channel[offline]", "channel[wechat]", "minor"]


# ---------------------------------------------------------------------------------------
# large tables: subsamples for the PH test, the AFT and the concordance
# ---------------------------------------------------------------------------------------
def test_stratified_sample_keeps_the_churn_rate_and_is_reproducible():
    event = np.r_[np.ones(300, dtype=int), np.zeros(700, dtype=int)]
    rng = np.random.default_rng(4)
    rng.shuffle(event)
    rows = stratified_sample(event, 100, seed=2)
    assert len(rows) == 100 and len(np.unique(rows)) == 100
    assert np.all(np.diff(rows) > 0)
    assert event[rows].sum() == 30
    np.testing.assert_array_equal(rows, stratified_sample(event, 100, seed=2))
    assert not np.array_equal(rows, stratified_sample(event, 100, seed=3))
    assert stratified_sample(event, None, seed=2) is None
    assert stratified_sample(event, 1000, seed=2) is None
    with pytest.raises(ModelInputError):
        stratified_sample(event, 0, seed=2)


def test_small_tables_use_every_row(fitted, synthetic_table):
    n = int(synthetic_table["observable"].sum())  # every observable row
    assert 0 < n < len(synthetic_table)
    assert fitted.sample_rows_["cox"] == n
    assert fitted.sample_rows_["aft"] == n and fitted.sample_rows_["ph_check"] == n
    assert fitted.aft_dropped_ == []


def test_subsampled_fit_keeps_cox_whole_and_stays_close(fitted, synthetic_table):
    sub = ChurnModel(COVARIATES, reference=REFERENCE, random_state=1, aft_sample_size=1000,
                     ph_sample_size=800, max_test_rows=200).fit(synthetic_table)
    assert sub.sample_rows_["cox"] == int(synthetic_table["observable"].sum())
    assert sub.sample_rows_["aft"] == 1000 and sub.sample_rows_["ph_check"] == 800
    assert sub.sample_rows_["concordance"] == 200
    # the Cox drivers are the full fit, untouched by the subsamples
    pd.testing.assert_frame_equal(sub.drivers_, fitted.drivers_)
    assert 0.55 < sub.concordance_ < 0.8
    assert list(sub.ph_check_.index) == sub.columns_
    # the AFT on two thirds of the rows finds the generator's shape, and every coefficient
    # lies within 3 of its (subsample) standard errors of the full fit's
    _, shape = sub.weibull_parameters(synthetic_table.iloc[:1])
    assert shape == pytest.approx(SHAPE, abs=0.15)
    full, part = fitted.aft_.summary, sub.aft_.summary
    z = (part["coef"] - full["coef"].reindex(part.index)).abs() / part["se(coef)"]
    assert len(z) == len(full) and z.max() < 3.0
    assert not np.allclose(part["coef"], full["coef"].reindex(part.index))  # really a subsample
    # same seed, same subsample, same answer
    again = ChurnModel(COVARIATES, reference=REFERENCE, random_state=1, aft_sample_size=1000,
                       ph_sample_size=800, max_test_rows=200).fit(synthetic_table)
    pd.testing.assert_frame_equal(again.aft_.params_.to_frame(), sub.aft_.params_.to_frame())
    assert again.concordance_ == sub.concordance_


def test_levels_too_rare_for_the_aft_subsample_count_as_reference(synthetic_table):
    table = synthetic_table.copy()
    table["city_tier"] = "tier1"
    table.loc[table.index[:25], "city_tier"] = "tier9"  # 25 >= min_level_size in the full table
    model = ChurnModel(["channel", "city_tier"], check_ph=False, aft_sample_size=300,
                       random_state=0).fit(table)
    assert "city_tier[tier9]" in model.columns_
    assert model.aft_dropped_ == ["city_tier[tier9]"]
    scale, _ = model.weibull_parameters(table)
    assert np.isfinite(scale).all()
    pupils = table.loc[table["channel"] == table["channel"].iloc[0]]
    rare = pupils.loc[pupils["city_tier"] == "tier9"]
    common = pupils.loc[pupils["city_tier"] == "tier1"]
    assert scale.loc[rare.index].iloc[0] == pytest.approx(scale.loc[common.index].iloc[0])
