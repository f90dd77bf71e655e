"""The data review on handmade analysis tables: every planted defect found at its exact count."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

import pandas as pd
import pytest

from valuation.cli import main
from valuation.errors import ReviewError
from valuation.params import parse_params
from valuation.quality import CHECK_NAMES, HAIRCUT_CAP, clean_tables, review
from valuation.quality.report import quality_score, severity_for
from valuation.tables import ANALYSIS_COLUMNS

AS_OF = "2025-06-30"
OPENED = "2022-01-01"
START = pd.Timestamp("2023-01-01")
N_BASE = 40


def tok(label: str) -> str:
    """A token shaped like the gate's (32 hex characters), deterministic."""
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def cid(i: int | str) -> str:
    return tok(f"customer:{i}")


def make_params(opened: str | None = OPENED):
    raw = {
        "target": "handmade", "name": "Handmade school", "as_of": AS_OF,
        "calibration_end": "2024-12-31",
        "data": {"files": {"customers": "c.csv", "orders": "o.csv"}, "opened": opened},
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12},
        "deal": {"side": "buyer"},
    }
    return parse_params(raw, check_files=False)


def _customer(i: int | str, signup: pd.Timestamp) -> dict:
    return {
        "customer_token": cid(i), "person_token": tok(f"person:{i}"),
        "mobile_token": tok(f"mobile:{i}"), "city": "北京", "city_tier": "tier1",
        "province": "11", "sex": "F", "birth_year_band": "1990-1994", "age_band": "25-34",
        "minor": False, "signup_date": signup, "channel": "wechat", "consent_transfer": True,
        "consent_marketing": True, "guardian_consent": pd.NA, "id_present": True,
        "id_valid": True, "id_checksum_ok": True, "id_birthdate_ok": True,
        "mobile_present": True, "mobile_valid": True, "mobile_dummy": False,
        "email_valid": True, "contactable": True, "name_present": True,
    }


def _typed(table: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(ANALYSIS_COLUMNS[table]))
    return frame.astype(ANALYSIS_COLUMNS[table])


def clean_rows(n: int = N_BASE) -> dict[str, list[dict]]:
    """n customers signing up on distinct days, two paid orders, one event and one review each."""
    rows: dict[str, list[dict]] = {"customers": [], "orders": [], "activity": [], "feedback": []}
    for i in range(n):
        signup = START + pd.Timedelta(days=3 * i)
        rows["customers"].append(_customer(i, signup))
        for k, (offset, amount) in enumerate(((10, 1000.0), (60, 500.0))):
            rows["orders"].append({
                "order_id": f"O{i}-{k}", "customer_token": cid(i), "course": "Python",
                "category": "programming", "order_date": signup + pd.Timedelta(days=offset),
                "amount": amount, "refund_amount": 0.0, "payment_plan": "full"})
        rows["activity"].append({"customer_token": cid(i), "event_type": "login", "count": 1,
                                 "event_date": signup + pd.Timedelta(days=20)})
        rows["feedback"].append({"customer_token": cid(i), "score": 5.0, "text_redacted": "好",
                                 "feedback_date": signup + pd.Timedelta(days=30)})
    return rows


def to_tables(rows: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    return {table: _typed(table, table_rows) for table, table_rows in rows.items()}


def _c(rows, i) -> dict:
    return rows["customers"][i]


def _orders_of(rows, i) -> list[dict]:
    return [o for o in rows["orders"] if o["customer_token"] == cid(i)]


BURST_DAY = pd.Timestamp("2024-03-15")
BURST_SIZE = 35

EXPECTED = {
    "invalid_id_checksum": 2,
    "impossible_birth_date": 3,
    "dummy_phone": 2,
    "repeated_phone": 2,
    "duplicate_person": 3,
    "signup_burst": BURST_SIZE,
    "missing_fields": 4,
    "orphan_orders": 2,
    "missing_consent": 2,
    "minor_without_guardian_consent": 2,
    "payment_before_signup": 1,
    "non_positive_amount": 2,
    "refund_exceeds_payment": 1,
    "activity_after_full_refund": 1,
    "future_dates": 4,
    "before_opening": 2,
}


def defect_rows() -> dict[str, list[dict]]:
    """The clean rows with every defect planted at the count of :data:`EXPECTED`."""
    rows = clean_rows()
    # authenticity
    for i in (0, 1):
        _c(rows, i).update(id_checksum_ok=False, id_valid=False, id_birthdate_ok=pd.NA)
    _c(rows, 1)["id_birthdate_ok"] = False  # a bad check digit is not also a bad birth date
    for i in (2, 3, 4):
        _c(rows, i).update(id_birthdate_ok=False, id_valid=False, birth_year_band=pd.NA)
    for i in (5, 6):
        _c(rows, i).update(mobile_dummy=True, contactable=False)
    _c(rows, 8)["mobile_token"] = _c(rows, 7)["mobile_token"]  # two persons, one phone
    _c(rows, 10)["person_token"] = _c(rows, 9)["person_token"]  # one person, two numbers
    for i in (12, 13):
        _c(rows, i)["person_token"] = _c(rows, 11)["person_token"]  # one person, three numbers
    for j in range(BURST_SIZE):
        rows["customers"].append(_customer(f"burst{j}", BURST_DAY))
    # completeness
    _c(rows, 14)["name_present"] = False
    _c(rows, 15)["city"] = pd.NA
    _c(rows, 16)["channel"] = "  "
    _c(rows, 17).update(id_present=False, id_valid=False, id_checksum_ok=pd.NA,
                        id_birthdate_ok=pd.NA)
    for k in (1, 2):
        rows["orders"].append({**rows["orders"][0], "order_id": f"GHOST{k}",
                               "customer_token": tok(f"ghost:{k}")})
    for i in (18, 19):
        _c(rows, i)["consent_transfer"] = pd.NA
    _c(rows, 20).update(minor=True, age_band="<14", birth_year_band="2010-2014")
    _c(rows, 21).update(minor=True, age_band="<14", birth_year_band="2010-2014",
                        guardian_consent=False)
    _c(rows, 22).update(minor=True, age_band="<14", birth_year_band="2010-2014",
                        guardian_consent=True)  # consent given: fine
    # consistency
    _orders_of(rows, 23)[0]["order_date"] = _c(rows, 23)["signup_date"] - pd.Timedelta(days=5)
    _orders_of(rows, 24)[0]["amount"] = 0.0
    _orders_of(rows, 25)[0]["amount"] = -100.0
    _orders_of(rows, 26)[0]["refund_amount"] = 1200.0
    for i, late in ((27, 31), (28, 30)):  # 31 days after the last order fails, 30 does not
        for order in _orders_of(rows, i):
            order["refund_amount"] = order["amount"]
        last = max(o["order_date"] for o in _orders_of(rows, i))
        rows["activity"].append({"customer_token": cid(i), "event_type": "attendance",
                                 "count": 1, "event_date": last + pd.Timedelta(days=late)})
    future = pd.Timestamp("2025-07-15")
    rows["customers"].append(_customer("future", future))
    rows["feedback"][29]["feedback_date"] = future
    _orders_of(rows, 30)[1]["order_date"] = future
    rows["activity"][31]["event_date"] = future + pd.Timedelta(days=200)
    rows["activity"][32]["event_date"] = pd.Timestamp("2021-06-01")
    rows["feedback"][33]["feedback_date"] = pd.Timestamp("2021-12-31")
    return rows


@pytest.fixture(scope="module")
def defect_report():
    return review(to_tables(defect_rows()), make_params())


def test_clean_tables_raise_no_finding():
    report = review(to_tables(clean_rows()), make_params())
    assert report.failed_counts() == dict.fromkeys(CHECK_NAMES, 0)
    assert report.score == 100.0
    assert report.haircut == 0.0
    assert report.excluded_customers == frozenset()
    assert report.flagged_customers == frozenset()
    assert set(report.checks["severity"]) == {"info"}
    assert "No finding" in report.summary("en")
    assert "未发现问题" in report.summary("zh")


def test_every_planted_defect_is_found_at_its_exact_count(defect_report):
    assert defect_report.failed_counts() == EXPECTED


def test_checks_table_has_the_contract_columns_and_groups(defect_report):
    frame = defect_report.to_frame()
    assert list(frame["check"]) == list(CHECK_NAMES)
    assert {"check", "group", "group_zh", "unit", "failed", "share_of_customers",
            "share_of_revenue", "severity", "treatment", "why"} <= set(frame.columns)
    groups = dict(zip(frame["check"], frame["group_zh"]))
    assert groups["signup_burst"] == "真实性"
    assert groups["missing_consent"] == "完整性"
    assert groups["future_dates"] == "一致性"
    assert set(frame["treatment"]) == {"exclude", "flag"}
    assert (frame.loc[frame["failed"] > 0, "severity"] != "info").all()


def test_shares_of_customers_and_revenue(defect_report):
    rows = defect_report.to_frame().set_index("check")
    n_customers = N_BASE + BURST_SIZE + 1
    # two dummy-phone customers out of all; each paid 1,500 of the total net revenue
    assert rows.loc["dummy_phone", "share_of_customers"] == pytest.approx(2 / n_customers)
    total = defect_report.revenue_total
    assert rows.loc["dummy_phone", "share_of_revenue"] == pytest.approx(3000 / total)
    # orphan orders: no customer, their own revenue (2 x 1,000)
    assert rows.loc["orphan_orders", "share_of_customers"] == 0.0
    assert rows.loc["orphan_orders", "share_of_revenue"] == pytest.approx(2000 / total)
    # burst customers have no orders: customers affected, no revenue
    assert rows.loc["signup_burst", "share_of_customers"] == pytest.approx(35 / n_customers)
    assert rows.loc["signup_burst", "share_of_revenue"] == 0.0
    assert rows.loc["signup_burst", "severity"] == "high"


def test_excluded_and_flagged_customers(defect_report):
    excluded = defect_report.excluded_customers
    # dummy phones 2 + duplicates 3 + burst 35 + signup after as_of 1
    assert len(excluded) == 2 + 3 + BURST_SIZE + 1
    assert {cid(5), cid(6), cid(10), cid(12), cid(13), cid("future")} <= excluded
    assert cid(9) not in excluded and cid(11) not in excluded  # first records stay
    flagged = defect_report.flagged_customers
    assert not flagged & excluded
    assert {cid(0), cid(2), cid(7), cid(8), cid(14), cid(18), cid(20), cid(23), cid(27)} <= flagged
    assert cid(22) not in flagged and cid(39) not in flagged


def test_before_opening_is_skipped_without_an_opening_date():
    report = review(to_tables(defect_rows()), make_params(opened=None))
    row = report.to_frame().set_index("check").loc["before_opening"]
    assert row["failed"] == 0 and "data.opened" in row["note"]
    assert "data.opened" in report.summary("en")


@pytest.mark.parametrize(
    ("low", "high", "threshold"),
    [(30, 40, 85), (1, 2, 30)],  # median 35 + 10 x MAD 5; the floor of 30
)
def test_signup_burst_threshold_is_max_of_30_and_median_plus_ten_mads(low, high, threshold):
    rows = clean_rows(0)
    day0 = pd.Timestamp("2023-01-01")
    for d in range(121):  # 61 days of `low` signups, 60 of `high`, then one burst day
        for j in range(high if d % 2 else low):
            rows["customers"].append(_customer(f"{d}-{j}", day0 + pd.Timedelta(days=d)))
    for extra, expected in ((threshold, 0), (threshold + 1, threshold + 1)):
        burst = [_customer(f"b{extra}-{j}", pd.Timestamp("2023-09-01")) for j in range(extra)]
        tables = to_tables({**rows, "customers": rows["customers"] + burst})
        assert review(tables, make_params()).failed_counts()["signup_burst"] == expected


def test_score_falls_and_haircut_rises_with_more_defects():
    scores, haircuts = [], []
    for k in range(0, 11, 2):  # up to 25 % of revenue: below the cap
        rows = clean_rows()
        for i in range(k):
            _c(rows, i).update(id_checksum_ok=False, id_valid=False)
        report = review(to_tables(rows), make_params())
        assert report.failed_counts()["invalid_id_checksum"] == k
        scores.append(report.score)
        haircuts.append(report.haircut)
    assert scores[0] == 100.0 and haircuts[0] == 0.0
    assert all(a > b for a, b in zip(scores, scores[1:]))
    assert all(a < b for a, b in zip(haircuts, haircuts[1:]))
    assert max(haircuts) <= HAIRCUT_CAP


def test_haircut_is_capped():
    rows = clean_rows()
    for i in range(N_BASE):
        _orders_of(rows, i)[0]["refund_amount"] = 1200.0
        _c(rows, i).update(id_checksum_ok=False, id_valid=False)
    report = review(to_tables(rows), make_params())
    assert report.haircut == HAIRCUT_CAP
    assert 0.0 <= report.score < 50.0


def test_severity_and_score_are_monotone_in_the_share():
    shares = [0.0, 0.001, 0.009, 0.01, 0.03, 0.05, 0.2, 0.6, 1.0]
    levels = ["info", "low", "medium", "high"]
    for base in ("low", "medium", "high"):
        sev = [severity_for(1, s, base) for s in shares]
        assert [levels.index(x) for x in sev] == sorted(levels.index(x) for x in sev)
        frame = pd.DataFrame({"failed": 1, "share_of_customers": shares,
                              "share_of_revenue": 0.0, "severity": sev})
        scores = [quality_score(frame.iloc[[i]]) for i in range(len(shares))]
        assert scores == sorted(scores, reverse=True)


def test_json_has_counts_and_shares_but_no_personal_data_or_tokens(defect_report):
    data = defect_report.to_json_dict()
    text = json.dumps(data, ensure_ascii=False)
    tables = to_tables(defect_rows())
    tokens = set(tables["customers"]["customer_token"]) | set(tables["customers"]["person_token"])
    tokens |= set(tables["customers"]["mobile_token"].dropna())
    assert not any(token in text for token in tokens)
    assert not re.search(r"1[3-9]\d{9}|\d{17}[\dXx]|[\w.]+@[\w-]+\.", text)
    assert data["excluded_customers"] == len(defect_report.excluded_customers)
    assert {c["check"]: c["failed"] for c in data["checks"]} == EXPECTED
    assert data["score"] < 100 and 0 < data["haircut"] <= HAIRCUT_CAP


def test_summary_in_english_and_chinese(defect_report):
    en, zh = defect_report.summary("en"), defect_report.summary("zh")
    assert "signup_burst: 35 customers" in en and f"{defect_report.score:.1f}/100" in en
    assert "[真实性] signup_burst: 35 名学员" in zh and "估值扣减" in zh
    with pytest.raises(ReviewError):
        defect_report.summary("fr")


def test_cleaned_tables_remove_and_merge_what_the_review_excludes(defect_report):
    tables = to_tables(defect_rows())
    before = {name: frame.copy() for name, frame in tables.items()}
    cleaned = clean_tables(tables, make_params(), defect_report)
    for name, frame in tables.items():  # inputs untouched
        pd.testing.assert_frame_equal(frame, before[name])
    assert cleaned.removed_count("customers", "duplicate_person") == 3
    assert cleaned.removed_count("customers", "excluded customer") == 2 + BURST_SIZE + 1
    assert cleaned.removed_count("orders", "record of an excluded customer") == 4  # 2 dummies
    assert cleaned.removed_count("orders", "future_dates") == 1
    assert cleaned.removed_count("activity", "future_dates") == 1
    assert cleaned.removed_count("feedback", "future_dates") == 1
    assert cleaned.removed_count("orders", "non_positive_amount") == 2
    assert cleaned.removed_count("orders", "orphan_orders") == 2
    reassigned = cleaned.removed.query("action == 'reassigned' and table == 'orders'")
    assert int(reassigned["rows"].sum()) == 2 * 3
    out = cleaned.tables
    assert len(out["customers"]) == len(tables["customers"]) - 3 - 2 - BURST_SIZE - 1
    assert out["customers"]["customer_token"].is_unique
    assert (out["orders"]["customer_token"] == cid(11)).sum() == 6  # 3 records merged
    assert out["orders"]["customer_token"].isin(out["customers"]["customer_token"]).all()
    assert (out["orders"]["amount"] > 0).all()
    assert len(out["orders"]) == len(tables["orders"]) - 4 - 1 - 2 - 2
    # flagged records stay (before_opening, payment before signup, refund > payment)
    assert (out["activity"]["event_date"] == pd.Timestamp("2021-06-01")).sum() == 1
    assert (out["orders"]["refund_amount"] > out["orders"]["amount"]).sum() == 1


def test_clean_target_is_not_changed_by_cleaning():
    tables = to_tables(clean_rows())
    cleaned = clean_tables(tables, make_params())
    assert cleaned.removed.empty
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(cleaned.tables[name], frame)


def test_missing_tables_or_columns_are_clear_errors():
    tables = to_tables(clean_rows())
    with pytest.raises(ReviewError, match="lacks the table.*orders.*valuation ingest"):
        review({"customers": tables["customers"]}, make_params())
    broken = {**tables, "customers": tables["customers"].drop(columns=["mobile_dummy"])}
    with pytest.raises(ReviewError, match="customers: mobile_dummy"):
        review(broken, make_params())


def test_review_without_activity_and_feedback_tables():
    tables = to_tables(defect_rows())
    report = review({"customers": tables["customers"], "orders": tables["orders"]}, make_params())
    counts = report.failed_counts()
    assert counts["activity_after_full_refund"] == 0
    assert counts["future_dates"] == 2  # the customer's signup and the order
    assert counts["duplicate_person"] == 3


def test_cli_without_analysis_dataset_says_to_ingest_first(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(
        "target: t\nname: T\nas_of: 2025-06-30\ncalibration_end: 2024-12-31\n"
        "data: {files: {customers: c.csv, orders: o.csv}}\n"
        "economics: {gross_margin: 0.6, annual_discount_rate: 0.12}\n"
        "deal: {side: buyer}\n", encoding="utf-8")
    assert main(["review", str(tmp_path / "t.yaml")]) == 2
    err = capsys.readouterr().err
    assert "valuation ingest" in err and "t.yaml" in err and "Traceback" not in err


class _CountingTables(Mapping):
    """A mapping that records every table lookup (like ``AnalysisFiles``, which reads a file
    on each lookup)."""

    def __init__(self, tables):
        self._tables, self.lookups = tables, []

    def __getitem__(self, name):
        self.lookups.append(name)
        return self._tables[name]

    def __contains__(self, name):
        return name in self._tables

    def __iter__(self):
        return iter(self._tables)

    def __len__(self):
        return len(self._tables)


def test_cleaning_looks_each_table_up_once_customers_first(defect_report):
    tables = to_tables(defect_rows())
    expected = clean_tables(dict(tables), make_params(), defect_report)
    counting = _CountingTables(tables)
    got = clean_tables(counting, make_params(), defect_report)
    assert counting.lookups == ["customers", "orders", "activity", "feedback"]
    pd.testing.assert_frame_equal(got.removed, expected.removed)
    for name in tables:
        pd.testing.assert_frame_equal(got.tables[name], expected.tables[name])
        assert isinstance(got.tables[name].index, pd.RangeIndex)
    # the log lists the steps in order: merges first, then exclusions, dates, amounts, orphans
    reasons = list(got.removed["reason"])
    assert reasons.index("duplicate_person") < reasons.index("excluded customer") \
        < reasons.index("future_dates") < reasons.index("non_positive_amount") \
        < reasons.index("orphan_orders")


def test_cleaning_without_optional_tables_and_with_a_missing_required_one(defect_report):
    tables = to_tables(defect_rows())
    only = {"customers": tables["customers"], "orders": tables["orders"]}
    cleaned = clean_tables(only, make_params(), defect_report)
    assert len(cleaned.tables["activity"]) == 0 and len(cleaned.tables["feedback"]) == 0
    assert cleaned.removed_count("orders", "orphan_orders") == 2
    with pytest.raises(ReviewError, match="lacks the table"):
        clean_tables({"customers": tables["customers"]}, make_params(), defect_report)
    broken = dict(tables, activity=tables["activity"].drop(columns=["event_type"]))
    with pytest.raises(ReviewError, match="activity: event_type"):
        clean_tables(broken, make_params(), defect_report)
