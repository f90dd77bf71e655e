"""Tests of the sample-target generator (valuation.samples, `valuation samples`).

The review-check counts are recomputed here with an independent, deliberately simple
implementation of the definitions in docs/contract.md ("Review checks"). Failure messages
never show personal values (only column names and counts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valuation.cli import main
from valuation.ingest.headers import HEADER_ALIASES
from valuation.params import load_params
from valuation.samples import CHECKS, TARGETS, generate_target, write_samples
from valuation.samples import assemble, export, processes, simulate, vocab
from valuation.samples.population import day_number, draw_population
from valuation.samples.specs import BOOTCAMP_FOLLOW_ONS, BOOTCAMP_PUPIL_FOLLOW_ONS
from valuation.tables import RAW_COLUMNS

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
SMALL = 300
SEED = 11
FOLLOW_ON_PRICES = {f.course.name: f.course.price
                    for f in BOOTCAMP_FOLLOW_ONS + BOOTCAMP_PUPIL_FOLLOW_ONS}

# ------------------------------------------------------------------------------------------
# An independent implementation of the review checks, on raw canonical tables
# ------------------------------------------------------------------------------------------
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # MOD 11-2 weights, derived, not imported


def _checksum_ok(ident: str) -> bool:
    total = sum(int(c) * w for c, w in zip(ident[:17], WEIGHTS))
    return "10X98765432"[total % 11] == ident[17].upper()


def _birth(ident: str) -> dt.date | None:
    try:
        return dt.date(int(ident[6:10]), int(ident[10:12]), int(ident[12:14]))
    except ValueError:
        return None


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _mobile(value) -> str:
    if pd.isna(value):
        return ""
    digits = re.sub(r"\D", "", str(value))
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _is_dummy(m: str) -> bool:
    return m in {"13800000000", "13888888888", "12345678901"} or (len(m) == 11 and len(set(m)) == 1)


def recount(tables: dict, as_of: str, opened: str) -> dict[str, int]:
    """Every review-check count, from the definitions, on raw canonical tables."""
    cust, orders = tables["customers"], tables["orders"]
    activity, feedback = tables["activity"], tables["feedback"]
    as_of_ts, opened_ts = pd.Timestamp(as_of), pd.Timestamp(opened)
    counts = dict.fromkeys(CHECKS, 0)
    mobiles = cust["mobile"].map(_mobile)
    ids = cust["id_number"].fillna("").str.strip().str.upper()
    person = ids.where(ids != "", mobiles)
    for ident, signup, guardian in zip(ids, cust["signup_date"], cust["guardian_consent"]):
        if len(ident) != 18:
            continue
        if not _checksum_ok(ident):
            counts["invalid_id_checksum"] += 1
            continue
        birth = _birth(ident)
        if birth is None or birth > signup.date() or _age(birth, signup.date()) > 100:
            counts["impossible_birth_date"] += 1
        elif _age(birth, signup.date()) < 14 and (pd.isna(guardian) or not bool(guardian)):
            counts["minor_without_guardian_consent"] += 1
    counts["dummy_phone"] = int(mobiles.map(_is_dummy).sum())
    valid = mobiles.str.fullmatch(r"1[3-9]\d{9}") & ~mobiles.map(_is_dummy)
    persons_per_mobile = person[valid].groupby(mobiles[valid]).nunique()
    shared = persons_per_mobile[persons_per_mobile > 1].index
    counts["repeated_phone"] = int(mobiles[valid].isin(shared).sum())
    counts["duplicate_person"] = int((person.value_counts() - 1).sum())
    daily = cust["signup_date"].value_counts()
    median = daily.median()
    threshold = max(30, median + 10 * (daily - median).abs().median())
    counts["signup_burst"] = int(daily[daily > threshold].sum())
    fields = cust[["name", "mobile", "id_number", "city", "channel"]]
    counts["missing_fields"] = int((fields.isna() | (fields == "")).any(axis=1).sum())
    counts["orphan_orders"] = int((~orders["customer_id"].isin(cust["customer_id"])).sum())
    counts["missing_consent"] = int(cust["consent_transfer"].isna().sum())
    merged = orders.merge(cust[["customer_id", "signup_date"]], on="customer_id")
    counts["payment_before_signup"] = int((merged["order_date"] < merged["signup_date"]).sum())
    counts["non_positive_amount"] = int((orders["amount"] <= 0).sum())
    counts["refund_exceeds_payment"] = int(
        ((orders["amount"] > 0) & (orders["refund_amount"] > orders["amount"])).sum())
    full = (orders["refund_amount"] >= orders["amount"]) & (orders["amount"] > 0)
    all_refunded = full.groupby(orders["customer_id"]).all()
    last_order = orders.groupby("customer_id")["order_date"].max()
    refunded_ids = all_refunded[all_refunded].index.intersection(cust["customer_id"])
    late = activity[activity["customer_id"].isin(refunded_ids)]
    late = late[late["event_date"] > late["customer_id"].map(last_order) + pd.Timedelta(days=30)]
    counts["activity_after_full_refund"] = int(late["customer_id"].nunique())
    dates = [cust["signup_date"], orders["order_date"], activity["event_date"],
             feedback["feedback_date"]]
    counts["future_dates"] = int(sum((d > as_of_ts).sum() for d in dates))
    counts["before_opening"] = int(sum((d < opened_ts).sum() for d in dates))
    return counts


class Sample(dict):
    """Generated tables whose repr never shows personal values (pytest prints fixtures)."""

    def __repr__(self) -> str:
        return f"<sample target {self['ground_truth']['target']}>"


def sample(name: str, seed: int, **kwargs) -> Sample:
    return Sample(generate_target(name, seed, **kwargs))


@pytest.fixture(scope="module", params=sorted(TARGETS))
def small(request):
    return sample(request.param, SEED, customers=SMALL)


@pytest.fixture(scope="module", params=sorted(TARGETS))
def small_clean(request):
    return sample(request.param, SEED, customers=SMALL, defects=False)


# ------------------------------------------------------------------------------------------
# Planted defects
# ------------------------------------------------------------------------------------------
def test_planted_defects_are_found_at_their_exact_counts(small):
    truth = small["ground_truth"]
    found = recount(small, truth["as_of"], truth["opened"])
    assert set(truth["defects"]) == set(CHECKS)
    assert found == truth["defects"]
    assert all(truth["defects"][c] > 0 for c in CHECKS), "every check has planted records"


def test_clean_target_triggers_no_check(small_clean):
    truth = small_clean["ground_truth"]
    assert truth["defects"] == dict.fromkeys(CHECKS, 0)
    assert recount(small_clean, truth["as_of"], truth["opened"]) == dict.fromkeys(CHECKS, 0)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_committed_samples_defects_match_their_ground_truth(name):
    tables = sample(name, 7)
    truth = json.loads((SAMPLES / name / "ground_truth.json").read_text(encoding="utf-8"))
    assert recount(tables, truth["as_of"], truth["opened"]) == truth["defects"]


def test_anniversaries_keep_leap_days():
    from valuation.samples.simulate import add_years

    leap = np.array([np.datetime64("2020-02-29", "D").astype(np.int64)] * 3)
    got = add_years(leap, np.array([0, 1, 4])).astype("datetime64[D]").astype(str).tolist()
    assert got == ["2020-02-29", "2021-02-28", "2024-02-29"]


# ------------------------------------------------------------------------------------------
# Tables, counts and realism
# ------------------------------------------------------------------------------------------
def test_raw_tables_follow_the_canonical_contract(small):
    for table, columns in RAW_COLUMNS.items():
        frame = small[table]
        assert list(frame.columns) == list(columns), table
        assert {c: str(t) for c, t in frame.dtypes.items()} == columns, table
    assert small["orders"]["order_id"].is_unique
    assert small["customers"]["customer_id"].is_unique
    keys = small["activity"][["customer_id", "event_date", "event_type"]]
    assert not keys.duplicated().any(), "one activity row per customer-day-type"
    assert (small["activity"]["count"] >= 1).all()
    assert set(small["activity"]["event_type"]) == {"attendance", "login"}


def test_ground_truth_counts_are_those_of_the_exported_tables(small):
    truth = small["ground_truth"]
    c = truth["counts"]
    orders = small["orders"]
    assert c["customers"] == len(small["customers"])
    assert (c["orders"], c["activity"], c["feedback"]) == (
        len(orders), len(small["activity"]), len(small["feedback"]))
    assert c["revenue"] == pytest.approx(orders["amount"].sum(), abs=0.01)
    assert c["refunds"] == pytest.approx(orders["refund_amount"].sum(), abs=0.01)
    assert c["order_date_min"] == orders["order_date"].min().strftime("%Y-%m-%d")
    assert c["order_date_max"] == orders["order_date"].max().strftime("%Y-%m-%d")
    known = small["customers"]["customer_id"]
    events = pd.concat([orders[["customer_id", "order_date"]].set_axis(["c", "d"], axis=1),
                        small["activity"][["customer_id", "event_date"]].set_axis(["c", "d"], axis=1)])
    as_of = pd.Timestamp(truth["as_of"])
    assert (events["d"] > as_of).any(), "planted future-dated records exist"
    events = events[events["c"].isin(known) & (events["d"] <= as_of)]
    by_month = events.groupby(events["d"].dt.strftime("%Y-%m"))["c"].nunique()
    months = truth["activity"]["active_customers_by_month"]
    assert months == by_month.to_dict()
    assert max(months) == truth["as_of"][:7], "months stop at the as-of month, included"


def test_feedback_personal_data_counts(small):
    fb = small["feedback"].merge(small["customers"][["customer_id", "name"]], on="customer_id")
    phones = fb["text"].str.contains(r"1[3-9]\d(?:\s?\d{4}){2}")
    emails = fb["text"].str.contains(r"[\w.+-]+@[\w-]+\.[\w.]+")
    names = pd.Series([isinstance(n, str) and n != "" and n in t for n, t in zip(fb["name"], fb["text"])])
    expected = small["ground_truth"]["feedback_pii"]
    assert {"phone": int(phones.sum()), "email": int(emails.sum()), "name": int(names.sum())} == expected
    assert min(expected.values()) > 0


def test_identities_look_real(small_clean):
    cust = small_clean["customers"]
    ids = cust["id_number"]
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert ids.map(_checksum_ok).all()
    assert ids.str[:6].isin(vocab.REGION_CODES).all()
    assert ids.str[:17].is_unique
    mobiles = cust["mobile"].map(_mobile)
    assert mobiles.str.fullmatch(r"1[3-9]\d{9}").all() and mobiles.is_unique
    assert not mobiles.map(_is_dummy).any()
    family = tuple(f[0] for f in vocab.FAMILY_NAMES)
    assert cust["name"].map(lambda n: n.startswith(family) and 2 <= len(n) <= 4).all()
    assert set(cust["channel"]) <= {"search", "wechat", "douyin", "referral", "offline", "partner"}
    share = cust["consent_transfer"].mean()
    assert 0.75 < share < 0.95
    ages = [_age(_birth(i), s.date()) for i, s in zip(ids, cust["signup_date"])]
    minors = np.array(ages) < 14
    assert minors.any(), "every target has some pupils under 14"
    assert cust.loc[minors, "guardian_consent"].eq(True).all()
    assert cust["email"].dropna().str.fullmatch(r"[a-z0-9]+@[a-z0-9.]+").all()


def test_business_shapes():
    online = sample("online_school", SEED, customers=SMALL, defects=False)
    amounts = online["orders"]["amount"]
    assert 99 <= amounts.quantile(0.02) and amounts.quantile(0.98) <= 2000
    per_customer = online["orders"].groupby("customer_id").size()
    assert per_customer.mean() > 4, "frequent repeat buyers"
    boot = sample("bootcamp", SEED, customers=SMALL, defects=False)
    orders = boot["orders"]
    first = orders.groupby("customer_id")["payment_plan"].first()
    assert set(first) == {"full", "instalment"}
    main = orders["course"].isin([c.name for c in TARGETS["bootcamp"].courses])
    full = orders["payment_plan"] == "full"
    assert orders.loc[main & full, "amount"].between(9800, 28800).all()
    assert orders.loc[~main & full, "amount"].isin(list(FOLLOW_ON_PRICES.values())).all()
    assert (~main).any() and (orders.loc[~main, "payment_plan"] == "instalment").any()
    inst = orders[orders["payment_plan"] == "instalment"].groupby("customer_id").size()
    assert inst.max() > 1 and orders["order_id"].is_unique
    refund = orders["refund_amount"]
    assert (refund == orders["amount"]).any() and ((refund > 0) & (refund < orders["amount"])).any()
    cert = sample("cert_school", SEED, customers=SMALL, defects=False)
    member = cert["orders"][cert["orders"]["category"] == "membership"]
    assert (member["amount"] == 1200).all()
    assert (cert["orders"]["category"] == "certification").any()


# ------------------------------------------------------------------------------------------
# Known generating processes
# ------------------------------------------------------------------------------------------
def test_bgnbd_simulator_reproduces_published_expectations():
    """E[X(t)] at the CDNOW BG/NBD parameters (Fader, Hardie & Lee 2005): 1.0437 and 1.8576."""
    rng = np.random.default_rng(2005)
    n = 200_000
    owner, times = processes.bgnbd_repeat_times(rng, np.full(n, 78.0), 0.243, 4.414, 0.793, 2.426)
    assert np.all(np.diff(owner) >= 0) and np.all(times <= 78.0)
    assert (times <= 32).sum() / n == pytest.approx(1.0437, abs=0.02)
    assert owner.size / n == pytest.approx(1.8576, abs=0.03)


def test_gamma_gamma_and_sbg_simulators_match_their_means():
    rng = np.random.default_rng(3)
    owner = np.repeat(np.arange(100_000), 3)
    spend = processes.gamma_gamma_spend(rng, owner, 100_000, 6.25, 3.74, 15.44)
    assert spend.mean() == pytest.approx(6.25 * 15.44 / 2.74, rel=0.03)  # $35.2, Fader-Hardie
    periods = processes.sbg_periods(rng, 100_000, 0.704, 1.182)
    assert (periods > 1).mean() == pytest.approx(1.182 / 1.886, abs=0.01)


def test_online_school_recovers_bgnbd_parameters():
    from valuation.models import BetaGeo

    tables = sample("online_school", 7, defects=False)
    truth = tables["ground_truth"]["generator"]["bgnbd"]
    orders, cust = tables["orders"], tables["customers"]
    days = orders.groupby("customer_id")["order_date"].agg(["nunique", "max"])
    signup = cust.set_index("customer_id")["signup_date"].reindex(days.index)
    as_of = pd.Timestamp(tables["ground_truth"]["as_of"])
    frequency = days["nunique"] - 1
    recency = (days["max"] - signup).dt.days / 7.0
    age = (as_of - signup).dt.days / 7.0
    fit = BetaGeo().fit(frequency, recency, age)
    for key in ("r", "alpha", "a", "b"):
        assert abs(fit.params_[key] - truth[key]) < 3 * fit.standard_errors_[key], key


def test_purchase_rate_scales_the_bgnbd_rate_and_the_truth_records_it():
    from valuation.errors import SampleError
    from valuation.models import BetaGeo

    base = generate_target("online_school", 7, customers=3000, defects=False)
    faster = generate_target("online_school", 7, customers=3000, defects=False,
                             purchase_rate=1.4)
    truth = faster["ground_truth"]["generator"]["bgnbd"]
    assert truth["alpha"] == pytest.approx(base["ground_truth"]["generator"]["bgnbd"]["alpha"] / 1.4)
    assert len(faster["customers"]) == len(base["customers"])
    assert len(faster["orders"]) > 1.1 * len(base["orders"])
    orders, cust = faster["orders"], faster["customers"]
    days = orders.groupby("customer_id")["order_date"].agg(["nunique", "max"])
    signup = cust.set_index("customer_id")["signup_date"].reindex(days.index)
    as_of = pd.Timestamp(faster["ground_truth"]["as_of"])
    fit = BetaGeo().fit(days["nunique"] - 1, (days["max"] - signup).dt.days / 7.0,
                        (as_of - signup).dt.days / 7.0)
    assert abs(fit.params_["alpha"] - truth["alpha"]) < 3 * fit.standard_errors_["alpha"]
    with pytest.raises(SampleError, match="only to online_school"):
        generate_target("bootcamp", 7, customers=300, purchase_rate=1.4)


def _bootcamp_cox_frame(tables: dict) -> pd.DataFrame:
    """Covariates and observed durations built from the ground truth's written definitions."""
    truth = tables["ground_truth"]
    cust, orders = tables["customers"].copy(), tables["orders"]
    cust = cust[cust["id_number"].notna() & cust["channel"].notna()]
    cust = cust[cust["id_number"].map(lambda i: len(i) == 18 and _checksum_ok(i) and _birth(i) is not None)]
    first = orders.sort_values(["order_date", "order_id"]).groupby("customer_id").first()
    score = tables["feedback"].sort_values("feedback_date").groupby("customer_id")["score"].first()
    last = tables["activity"].groupby("customer_id")["event_date"].max()
    cust = cust[cust["customer_id"].isin(first.index) & cust["customer_id"].isin(score.index)]
    cid = cust["customer_id"]
    x = pd.DataFrame(index=cust.index)
    for level in ("wechat", "douyin", "referral", "offline", "partner"):
        x[f"channel[{level}]"] = (cust["channel"] == level).astype(float)
    category = cid.map(first["category"])
    for level in ("data", "cloud", "security"):
        x[f"category[{level}]"] = (category == level).astype(float)
    x["first_order_value"] = cid.map(first["amount"]) / 10000.0
    x["satisfaction"] = cid.map(score)
    age = [_age(_birth(i), s.date()) for i, s in zip(cust["id_number"], cust["signup_date"])]
    age = pd.Series(age, index=cust.index)
    x["age_band[25-34]"] = age.between(25, 34).astype(float)
    x["age_band[35-44]"] = age.between(35, 44).astype(float)
    x["age_band[45+]"] = (age >= 45).astype(float)
    x["minor"] = (age < 14).astype(float)
    as_of = pd.Timestamp(truth["as_of"])
    seen = cid.map(last).fillna(cust["signup_date"])
    x["duration"] = ((seen - cust["signup_date"]).dt.days + 0.5).clip(lower=0.5)
    x["event"] = ((as_of - seen).dt.days > 90).astype(int)
    return x


def test_bootcamp_cox_fit_recovers_every_log_hazard_ratio():
    import lifelines
    tables = sample("bootcamp", 7)
    truth = tables["ground_truth"]["generator"]["survival"]["log_hazard_ratios"]
    frame = _bootcamp_cox_frame(tables)
    assert len(frame) > 2000
    fit = lifelines.CoxPHFitter().fit(frame, duration_col="duration", event_col="event")
    ci = fit.confidence_intervals_
    outside = [k for k, beta in truth.items()
               if not ci.loc[k].iloc[0] <= beta <= ci.loc[k].iloc[1]]
    assert not outside, f"true effects outside the 95% CI: {outside}"


def test_cert_school_renewals_follow_sbg():
    tables = sample("cert_school", 7, defects=False)
    sbg = tables["ground_truth"]["generator"]["sbg"]
    member = tables["orders"][tables["orders"]["category"] == "membership"]
    paid = member.groupby("customer_id").size()
    signup = tables["customers"].set_index("customer_id")["signup_date"].reindex(paid.index)
    as_of = pd.Timestamp(tables["ground_truth"]["as_of"])
    eligible = signup + pd.DateOffset(years=2) <= as_of  # two anniversaries observable
    renewed1 = (paid[eligible] >= 2).mean()
    renewed2 = (paid[eligible] >= 3).mean()
    s1, s2 = sbg["expected_retention"][:2]
    assert renewed1 == pytest.approx(s1, abs=0.035)
    assert renewed2 == pytest.approx(s2, abs=0.035)


def test_cert_renewals_are_anniversaries_censored_only_at_as_of():
    """No renewal-date or censoring edge case: payments fall on consecutive anniversaries of
    signup, and the pooled churn at every renewal decision is the sBG's alpha/(alpha+beta+t-1)."""
    from valuation.samples.simulate import add_years

    tables = sample("cert_school", 7, defects=False)
    sbg = tables["ground_truth"]["generator"]["sbg"]
    as_of = day_number(dt.date.fromisoformat(tables["ground_truth"]["as_of"]))
    member = tables["orders"][tables["orders"]["category"] == "membership"]
    days = member["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    member = member.assign(day=days).sort_values(["customer_id", "day"])
    signup = tables["customers"].set_index("customer_id")["signup_date"]
    start = signup.reindex(member["customer_id"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    k = member.groupby("customer_id").cumcount().to_numpy()
    assert np.array_equal(member["day"].to_numpy(), add_years(start, k))
    paid = member.groupby("customer_id").size()
    first = signup.reindex(paid.index).to_numpy().astype("datetime64[D]").astype(np.int64)
    for t in range(1, 7):
        decided = add_years(first, np.full(first.size, t)) <= as_of  # the t-th renewal is due
        at_risk = decided & (paid.to_numpy() >= t)
        churned = at_risk & (paid.to_numpy() == t)
        churn = sbg["alpha"] / (sbg["alpha"] + sbg["beta"] + t - 1)
        sd = np.sqrt(at_risk.sum() * churn * (1 - churn))
        assert abs(churned.sum() - at_risk.sum() * churn) < 3.5 * sd, t


# ------------------------------------------------------------------------------------------
# Bootcamp follow-on purchases
# ------------------------------------------------------------------------------------------
def test_poisson_gamma_arrivals_match_the_nbd():
    """Counts in a window T: P(0) = (a/(a+T))^r, mean rT/a, variance rT/a (1 + T/a)."""
    rng = np.random.default_rng(5)
    n, r, alpha = 200_000, 1.0, 45.0
    window = np.where(np.arange(n) % 2 == 0, 20.0, 60.0)
    owner, t = processes.poisson_gamma_arrivals(rng, window, r, alpha)
    assert np.all(np.diff(owner) >= 0) and np.all((t >= 0) & (t < window[owner]))
    assert np.all(np.diff(t)[np.diff(owner) == 0] >= 0), "sorted by time within an owner"
    assert (t / window[owner]).mean() == pytest.approx(0.5, abs=0.005), "uniform in the window"
    k = np.bincount(owner, minlength=n)
    for length in (20.0, 60.0):
        counts = k[window == length]
        assert (counts == 0).mean() == pytest.approx((alpha / (alpha + length)) ** r, abs=0.005)
        assert counts.mean() == pytest.approx(r * length / alpha, rel=0.02)
        assert counts.var() == pytest.approx(r * length / alpha * (1 + length / alpha), rel=0.05)


@pytest.fixture(scope="module")
def bootcamp_latent():
    """A large simulated bootcamp chunk with its hidden draws (lifetimes, follow-on windows)."""
    spec = TARGETS["bootcamp"]
    rng = np.random.default_rng(2024)
    pop = draw_population(rng, spec, 12_000, 0, 0)
    return spec, pop, simulate.simulate_bootcamp(rng, spec, pop)


def _enrolments(orders: pd.DataFrame, key: str) -> pd.Series:
    """Follow-on purchases per customer: full-price orders plus one per instalment plan."""
    follow = orders[orders["course"].isin(list(FOLLOW_ON_PRICES))]
    full = follow[follow["plan"] == "full"].groupby(key).size()
    plans = follow[follow["plan"] == "instalment"].groupby(key)["course"].nunique()
    return full.add(plans, fill_value=0).astype(int)


def test_follow_ons_and_activity_happen_only_while_alive(bootcamp_latent):
    spec, pop, chunk = bootcamp_latent
    signup = pop["_signup"].to_numpy()
    death = signup + np.floor(chunk.latent["life_days"].to_numpy())
    as_of = day_number(spec.as_of)
    for frame in (chunk.orders, chunk.activity):
        row, day = frame["_row"].to_numpy(), frame["day"].to_numpy()
        assert np.all((day >= signup[row]) & (day <= death[row]) & (day <= as_of))
    follow = chunk.orders[chunk.orders["course"].isin(list(FOLLOW_ON_PRICES))]
    assert np.all(follow["day"].to_numpy() > signup[follow["_row"].to_numpy()])
    got = _enrolments(chunk.orders, "_row").reindex(range(len(pop)), fill_value=0)
    assert np.array_equal(got.to_numpy(), chunk.latent["follow_on_arrivals"].to_numpy())
    pupil = pop["_age"].to_numpy()[follow["_row"].to_numpy()] < 14
    pupil_courses = {f.course.name for f in BOOTCAMP_PUPIL_FOLLOW_ONS}
    assert follow["course"][pupil].isin(pupil_courses).all()
    assert not follow["course"][~pupil].isin(pupil_courses).any()
    # One instalment plan per (student, product): its payments are 30 days apart.
    plans = follow[follow["plan"] == "instalment"].groupby(["_row", "course"])["day"]
    assert plans.apply(lambda d: bool(np.all(np.diff(d.to_numpy()) == 30))).all()
    assert (plans.size() > 1).any()
    lessons = chunk.activity[chunk.activity["type"] == "attendance"]
    late = lessons["day"].to_numpy() > signup[lessons["_row"].to_numpy()] + 84
    assert late.any(), "follow-on courses have lessons after the main course"


def test_follow_on_process_parameters_are_recovered(bootcamp_latent):
    """Negative binomial MLE of (r, alpha) from the purchases and the latent windows."""
    from scipy.optimize import minimize
    from scipy.special import gammaln

    spec, pop, chunk = bootcamp_latent
    truth = spec.generator["follow_on"]
    k = _enrolments(chunk.orders, "_row").reindex(range(len(pop)), fill_value=0).to_numpy()
    window = chunk.latent["follow_on_weeks"].to_numpy()
    k, window = k[window > 0], window[window > 0]

    def nll(theta: np.ndarray) -> float:
        r, alpha = np.exp(theta)
        return -float(np.sum(gammaln(r + k) - gammaln(r) + r * np.log(alpha / (alpha + window))
                             + k * np.log(window / (alpha + window))))

    fit = minimize(nll, np.log([0.5, 10.0]), method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-8})
    est = np.exp(fit.x)
    h = 1e-4  # observed information on the log scale, by central differences
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (nll(fit.x + ei + ej) - nll(fit.x + ei - ej) - nll(fit.x - ei + ej)
                          + nll(fit.x - ei - ej)) / (4 * h * h)
    se = est * np.sqrt(np.diag(np.linalg.inv(hess)))
    for name, value, err in zip(("r", "alpha"), est, se):
        assert abs(value - truth[name]) < 3 * err, (name, value, err)


def test_bootcamp_sample_has_follow_on_repeat_buyers():
    """With the default seed, 20-35% of students buy a follow-on, and once the instalments of
    one enrolment are merged into one purchase there are repeat buyers to fit models on."""
    tables = sample("bootcamp", 7)
    truth = tables["ground_truth"]
    observed = truth["generator"]["follow_on"]["observed"]
    assert 0.20 <= observed["share_with_follow_on"] <= 0.35
    orders = tables["orders"]
    orders = orders[orders["customer_id"].isin(tables["customers"]["customer_id"])]
    follow = orders[orders["course"].isin(list(FOLLOW_ON_PRICES))]
    assert follow["customer_id"].nunique() == observed["students_with_follow_on"]
    assert (follow["payment_plan"] == "instalment").any()
    net = orders[(orders["amount"] > orders["refund_amount"])
                 & (orders["order_date"] <= pd.Timestamp(truth["as_of"]))]
    plan = net["payment_plan"] == "instalment"
    merged = net[plan].groupby(["customer_id", "course"])["order_date"].min().reset_index()
    purchases = pd.concat([net.loc[~plan, ["customer_id", "order_date"]], merged[["customer_id", "order_date"]]])
    repeat = purchases.groupby("customer_id")["order_date"].nunique() > 1
    assert repeat.mean() >= 0.2


# ------------------------------------------------------------------------------------------
# Exports: headers, formats, round trip, determinism
# ------------------------------------------------------------------------------------------
def _normalise(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).lower()
    return re.sub(r"[\s_\-()（）\[\]【】]", "", text)


def test_every_export_header_is_a_builtin_alias():
    for style, tables in export.HEADERS.items():
        for table, mapping in tables.items():
            assert set(mapping) == set(RAW_COLUMNS[table]), (style, table)
            for column, header in mapping.items():
                aliases = {_normalise(a) for a in HEADER_ALIASES[table][column]}
                assert _normalise(header) in aliases, (style, table, column)


def _parse_date(value) -> pd.Timestamp:
    if isinstance(value, (dt.date, dt.datetime)):
        return pd.Timestamp(value)
    if isinstance(value, (int, float)):
        return pd.Timestamp(dt.datetime(1899, 12, 30) + dt.timedelta(days=int(value)))
    m = re.fullmatch(r"(\d{4})[年/-](\d{1,2})[月/-](\d{1,2})日?", str(value))
    return pd.Timestamp(int(m[1]), int(m[2]), int(m[3]))


def _parse_money(value) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return float(str(value).replace("¥", "").replace(",", "").replace("元", ""))


def _parse_bool(value):
    return {"true": True, "false": False, "是": True, "否": False}.get(value, pd.NA) if isinstance(value, str) else pd.NA


def _back_to_raw(table: str, frame: pd.DataFrame, style: str) -> pd.DataFrame:
    frame = frame.rename(columns={v: k for k, v in export.HEADERS[style][table].items()})
    out = pd.DataFrame(index=frame.index)
    for col, dtype in RAW_COLUMNS[table].items():
        values = frame[col]
        if dtype.startswith("datetime"):
            out[col] = values.map(_parse_date).astype(dtype)
        elif col in ("amount", "refund_amount"):
            out[col] = values.map(_parse_money).astype(dtype)
        elif dtype == "boolean":
            out[col] = values.map(_parse_bool).astype(dtype)
        elif col == "event_type":
            out[col] = values.map({"出勤": "attendance", "登录": "login"}).fillna(values).astype(dtype)
        else:
            out[col] = values.map(lambda v: pd.NA if v is None or (isinstance(v, float) and np.isnan(v)) else v)
            out[col] = out[col].astype(dtype) if dtype != "string" else out[col].map(
                lambda v: v if pd.isna(v) else str(v)).astype("string")
    return out


def _assert_same_table(table: str, got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want), table
    for col in want.columns:
        a, b = got[col].reset_index(drop=True), want[col].reset_index(drop=True)
        same = (a.astype(str) == b.astype(str)) | (a.isna() & b.isna())
        assert bool(same.all()), f"{table}.{col}: {int((~same).sum())} row(s) differ"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples_a")
    write_samples(out, seed=SEED, customers=SMALL)
    return out


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_exports_read_back_to_the_raw_tables(written, name):
    tables = sample(name, SEED, customers=SMALL)
    folder = written / name
    style = export.STYLE_OF_TARGET[name]
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in truth.items() if k != "export"} == json.loads(
        json.dumps(tables["ground_truth"], ensure_ascii=False))
    for table in RAW_COLUMNS:
        if name == "cert_school":
            frame = pd.read_excel(folder / "cert_school.xlsx", sheet_name=export.SHEETS[table],
                                  dtype=object, engine="openpyxl")
            frame = frame.astype(object).where(frame.notna(), None)
        else:
            encoding = "gb18030" if name == "bootcamp" else "utf-8"
            frame = pd.read_csv(folder / f"{table}.csv", encoding=encoding, dtype=str,
                                keep_default_na=False).replace("", None)
        _assert_same_table(table, _back_to_raw(table, frame, style), tables[table])


def test_cert_workbook_mixes_real_world_cell_styles(written):
    from openpyxl import load_workbook

    wb = load_workbook(written / "cert_school" / "cert_school.xlsx")
    assert wb.sheetnames == ["学员", "订单", "学习记录", "评价"]
    orders = list(wb["订单"].iter_rows(min_row=2, values_only=True))
    amounts = [r[5] for r in orders]
    dates = [r[4] for r in orders]
    assert any(isinstance(a, str) and a.startswith("¥") and "," in a for a in amounts)
    assert any(isinstance(a, str) and a.endswith("元") for a in amounts)
    assert any(isinstance(d, str) and re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", d) for d in dates)
    assert any(isinstance(d, dt.datetime) for d in dates)
    assert any(isinstance(d, int) and 40000 < d < 50000 for d in dates)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(written, tmp_path):
    write_samples(tmp_path, seed=SEED, customers=SMALL)
    first, second = _digests(written), _digests(tmp_path)
    assert len(first) == 12 and first == second


def test_another_seed_gives_other_data(tmp_path):
    a = sample("bootcamp", 1, customers=SMALL)["orders"]
    b = sample("bootcamp", 2, customers=SMALL)["orders"]
    assert not a.equals(b)


def test_committed_samples_are_reproduced_byte_for_byte(tmp_path):
    """data/samples was written by `valuation samples` with the default seed."""
    write_samples(tmp_path)
    committed = {k: v for k, v in _digests(SAMPLES).items() if k != "README.md"}
    assert _digests(tmp_path) == committed
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 8 * 1024 * 1024


def test_chunked_path_writes_csv_and_parquet(tmp_path, monkeypatch):
    monkeypatch.setattr(assemble, "CHUNK_CUSTOMERS", 150)
    whole = sample("online_school", SEED, customers=400)
    truth = whole["ground_truth"]
    assert recount(whole, truth["as_of"], truth["opened"]) == truth["defects"]
    write_samples(tmp_path, seed=SEED, targets=["online_school"], customers=400, fmt="parquet")
    got = pd.read_parquet(tmp_path / "online_school" / "orders.parquet")
    assert len(got) == truth["counts"]["orders"]
    assert got["Order No"].is_unique
    write_samples(tmp_path / "csv", seed=SEED, targets=["cert_school"], customers=400, fmt="csv")
    head = (tmp_path / "csv" / "cert_school" / "orders.csv").read_text(encoding="utf-8-sig")
    assert head.startswith("订单编号,会员编号")
    assert main(["samples", "--out", str(tmp_path / "x"), "--target", "cert_school",
                 "--customers", "400"]) == 2  # several chunks cannot go into one workbook


# ------------------------------------------------------------------------------------------
# Command line and params
# ------------------------------------------------------------------------------------------
def test_cli_writes_a_clean_target(tmp_path, capsys):
    code = main(["samples", "--out", str(tmp_path), "--target", "bootcamp",
                 "--customers", "300", "--clean", "--seed", "3"])
    assert code == 0
    truth = json.loads((tmp_path / "bootcamp" / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["clean"] and set(truth["defects"].values()) == {0}
    assert truth["seed"] == 3
    out = capsys.readouterr().out
    assert "bootcamp:" in out and "@" not in out


@pytest.mark.parametrize("argv, message", [
    (["--customers", "50"], "at least 200"),
    (["--target", "nope"], None),
])
def test_cli_user_errors_exit_2(tmp_path, capsys, argv, message):
    if message is None:
        with pytest.raises(SystemExit) as exc:
            main(["samples", "--out", str(tmp_path), *argv])
        assert exc.value.code == 2
        return
    assert main(["samples", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_params_load_and_fit_the_data(name):
    params = load_params(REPO / "params" / f"{name}.yaml")
    truth = json.loads((SAMPLES / name / "ground_truth.json").read_text(encoding="utf-8"))
    assert params.target == name and params.privacy.demo_key
    assert params.as_of.isoformat() == truth["as_of"]
    assert params.data.opened.isoformat() == truth["opened"]
    assert params.calibration_end.isoformat() == truth["calibration_end"]
    months = truth["activity"]["active_customers_by_month"]
    cal = params.calibration_end.strftime("%Y-%m")
    assert sum(v for k, v in months.items() if k > cal and k <= truth["as_of"][:7]) > 0
    assert min(months) < cal


def test_report_languages():
    langs = sorted(load_params(REPO / "params" / f"{n}.yaml").report.lang for n in TARGETS)
    assert langs == ["en", "en", "zh"]
