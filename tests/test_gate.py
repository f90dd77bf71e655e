"""The privacy gate on a small handmade raw dataset, and reading its output back."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from valuation.analysis import AnalysisFiles, analysis_is_stale, load_analysis
from valuation.errors import InputError, LeakError, LogIntegrityError
from valuation.params import parse_params
from valuation.privacy.gate import build_customers, run_gate
from valuation.privacy.identifiers import id_check_digit
from valuation.privacy.log import verify_log
from valuation.privacy.scanner import scan_path
from valuation.privacy.tokens import pseudonymize
from valuation.tables import ANALYSIS_COLUMNS, TABLES

KEY = bytes(range(100, 132))


def make_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


ID_ZHANG = make_id("11010519900307123")  # Beijing, male, 1990
ID_CHILD = make_id("44030420120515002")  # Guangdong, female, born 2012 (minor in 2023)
ID_BADSUM = ID_ZHANG[:17] + ("0" if ID_ZHANG[-1] != "0" else "1")
ID_LEGACY = "310104880212041"  # 15-digit Shanghai number, born 1988-02-12

PEOPLE = pd.DataFrame({
    "customer_id": ["C001", "C002", "C003", "C004", "C005", "C006"],
    "name": ["张伟明", "李思琪", "张伟明", "Wang Fang", "赵小雨", "陈建国"],
    "mobile": ["+86 139-1234-5678", "13800000000", "139 1234 5678", "15011112222",
               "18655554444", "18655554444"],
    "id_number": [ID_ZHANG, ID_CHILD, ID_ZHANG.lower(), ID_BADSUM, None, ID_LEGACY],
    "email": ["zwm1990@qq.com", None, "zhangwm@163.com", "wang.fang@example.cn", "bad@", None],
    "city": ["北京", "Shenzhen", "北京市", "Chengdu", "绵阳", None],
    "signup_date": pd.to_datetime(["2023-01-05", "2023-02-01", "2024-03-01", "2023-05-05",
                                   "2023-06-06", "2023-07-07"]),
    "channel": ["wechat", "search", "referral", "offline", "wechat", "search"],
    "consent_transfer": pd.array([True, True, None, False, True, True], dtype="boolean"),
    "consent_marketing": pd.array([True, False, None, False, True, False], dtype="boolean"),
    "guardian_consent": pd.array([None, False, None, None, None, None], dtype="boolean"),
})
ORDERS = pd.DataFrame({
    "order_id": ["O1", "O2", "O3", "O4"],
    "customer_id": ["C001", "C999", "C002", "C003"],
    "course": ["Python", "Java", "Scratch", "Go"],
    "category": ["programming"] * 4,
    "order_date": pd.to_datetime(["2023-02-01", "2023-03-01", "2023-04-01", "2024-04-01"]),
    "amount": [1299.0, 8800.0, 499.0, 2999.0],
    "refund_amount": [0.0, None, 499.0, 0.0],
    "payment_plan": ["full", None, "full", "instalment"],
})
ACTIVITY = pd.DataFrame({
    "customer_id": ["C001", "C001", "C004"],
    "event_date": pd.to_datetime(["2023-02-02", "2023-02-09", "2023-06-01"]),
    "event_type": ["attendance", "login", "login"],
    "count": [1, 3, 1],
})
FEEDBACK = pd.DataFrame({
    "customer_id": ["C001", "C004", "C005"],
    "feedback_date": pd.to_datetime(["2023-03-01", "2023-06-02", "2023-07-01"]),
    "score": [5.0, 3.0, 4.0],
    "text": ["我是张伟明，电话 139 1234 5678，伟明很满意，邮箱 zwm1990@qq.com",
             f"Wang Fang here, my ID {ID_BADSUM}, mail wang.fang@example.cn",
             "课程不错"],
})
RAW_SECRETS = (
    [*PEOPLE["name"], "伟明", "13912345678", "15011112222", "18655554444", ID_ZHANG,
     ID_ZHANG.lower(), ID_CHILD, ID_BADSUM, ID_LEGACY, "31010419880212041",
     "zwm1990@qq.com", "zhangwm@163.com", "wang.fang@example.cn"]
)


@dataclass
class Source:
    path: Path
    sha256: str
    rows: int
    sheet: str | None = None


@dataclass
class FakeIngest:
    tables: dict
    sources: list = field(default_factory=list)
    quarantined: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


@pytest.fixture
def params(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("customers.csv", "orders.csv"):
        (data / name).write_text("x\n")
    yaml = tmp_path / "params" / "t.yaml"
    yaml.parent.mkdir()
    yaml.write_text("target: t\n")
    return parse_params(
        {"target": "t", "name": "T", "as_of": "2025-06-30", "calibration_end": "2024-12-31",
         "data": {"files": {"customers": str(data / "customers.csv"),
                            "orders": str(data / "orders.csv")}},
         "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.1},
         "deal": {"side": "buyer"}, "privacy": {"assessment_ref": "PIA-2025-007"}},
        source=yaml)


def ingest(**overrides) -> FakeIngest:
    tables = {"customers": PEOPLE.copy(), "orders": ORDERS.copy(),
              "activity": ACTIVITY.copy(), "feedback": FEEDBACK.copy()}
    tables.update(overrides)
    sources = [Source(Path("/exports/customers.csv"), "ab" * 32, len(PEOPLE))]
    return FakeIngest(tables, sources, {"orders": ORDERS.iloc[:0].assign(reason=[])})


@pytest.fixture
def result(params):
    return run_gate(ingest(), params, KEY, operator="tester")


def test_tables_have_exactly_the_analysis_columns_and_dtypes(result):
    assert set(result.paths) == set(TABLES)
    for table in TABLES:
        frame = pd.read_parquet(result.paths[table])
        assert list(frame.columns) == list(ANALYSIS_COLUMNS[table])
        assert {c: str(t) for c, t in result.tables[table].dtypes.items()} == ANALYSIS_COLUMNS[table]
    assert [len(result.tables[t]) for t in TABLES] == [6, 4, 3, 3]


def test_no_raw_personal_value_in_the_parquet_bytes_or_any_string_cell(result):
    for path in result.paths.values():
        data = path.read_bytes()
        frame = pd.read_parquet(path)
        cells = [str(v) for c in frame.columns for v in frame[c].dropna()]
        for secret in RAW_SECRETS:
            assert secret.encode("utf-8") not in data, (path.name, secret)
            assert not any(secret in cell for cell in cells), (path.name, secret)
    assert scan_path(result.paths["customers"].parent) == []


def test_tokens_and_the_person_rule(result):
    customers = result.tables["customers"]
    expected = pseudonymize(PEOPLE["customer_id"], "customer_id", KEY)
    assert customers["customer_token"].tolist() == expected.tolist()
    person = customers["person_token"]
    # same ID number (one upper-case, one lower-case x/spaces) under C001 and C003
    assert person[0] == person[2]
    # C005 has no ID: its person token comes from its valid mobile, like C006 has its own ID
    assert person[4] == pseudonymize(pd.Series(["18655554444"]), "person", KEY)[0]
    assert person[5] != person[4]
    # checksum-failed but well-formed ID still gives a person token; dummy mobile alone does not
    assert person[3] == pseudonymize(pd.Series([ID_BADSUM]), "person", KEY)[0]
    assert customers["mobile_token"][0] == customers["mobile_token"][2]
    assert customers["mobile_token"][0] == pseudonymize(pd.Series(["13912345678"]), "mobile", KEY)[0]
    assert person.nunique() == 5


def test_flags_and_coarse_attributes(result):
    c = result.tables["customers"].set_index(PEOPLE["customer_id"])
    assert c.loc["C001", ["province", "sex", "birth_year_band", "age_band", "city_tier"]].tolist() == [
        "北京", "M", "1990-1994", "25-34", "tier1"]
    assert bool(c.loc["C002", "minor"]) and c.loc["C002", "age_band"] == "<14"
    assert bool(c.loc["C002", "mobile_dummy"]) and not bool(c.loc["C002", "contactable"])
    assert not bool(c.loc["C004", "id_checksum_ok"]) and not bool(c.loc["C004", "id_valid"])
    assert pd.isna(c.loc["C004", "province"])
    assert bool(c.loc["C006", "id_valid"]) and c.loc["C006", "province"] == "上海"
    assert not bool(c.loc["C005", "id_present"]) and not bool(c.loc["C005", "email_valid"])
    assert c["name_present"].all()
    assert result.cohort_counts == {"all": 6, "transferable": 3, "transferable_contactable": 3,
                                    "minor_without_guardian_consent": 1, "missing_consent": 1}


def test_orphan_orders_keep_their_data_and_feedback_is_redacted(result):
    orders = result.tables["orders"]
    assert orders["customer_token"][1] == pseudonymize(pd.Series(["C999"]), "customer_id", KEY)[0]
    assert orders["amount"].tolist() == [1299.0, 8800.0, 499.0, 2999.0]
    assert orders["refund_amount"].tolist() == [0.0, 0.0, 499.0, 0.0]
    assert result.tables["feedback"]["text_redacted"].tolist() == [
        "我是[姓名]，电话 [手机号]，[姓名]很满意，邮箱 [邮箱]",
        "[姓名] here, my ID [身份证号], mail [邮箱]",
        "课程不错",
    ]


def test_the_run_is_logged_without_personal_data(result):
    log_text = result.log_path.read_text(encoding="utf-8")
    assert verify_log(result.log_path).ok
    assert not result.log_path.is_relative_to(result.paths["customers"].parent.parent)
    entry = json.loads(log_text.splitlines()[-1])
    assert entry == result.log_entry
    assert entry["operator"] == "tester" and entry["assessment_ref"] == "PIA-2025-007"
    assert entry["row_counts"] == {"customers": 6, "orders": 4, "activity": 3, "feedback": 3}
    assert entry["inputs"][0]["sha256"] == "ab" * 32
    assert {Path(o["path"]).name for o in entry["outputs"]} == {f"{t}.parquet" for t in TABLES}
    assert all(secret not in log_text for secret in RAW_SECRETS)
    assert scan_path(result.log_path) == []


def test_round_trip_through_load_analysis(params, result):
    loaded = load_analysis(params)
    for table in TABLES:
        pd.testing.assert_frame_equal(loaded[table], result.tables[table])
    assert load_analysis(params.analysis_dir).keys() == loaded.keys()
    assert result.row_counts == {t: len(loaded[t]) for t in TABLES}
    assert not analysis_is_stale(params)
    future = result.paths["customers"].stat().st_mtime + 10
    os.utime(params.data.files["orders"], (future, future))
    assert analysis_is_stale(params)


def test_analysis_files_read_a_table_on_each_lookup(params, result):
    files = AnalysisFiles(params)
    assert list(files) == list(TABLES) and len(files) == 4 and "orders" in files
    assert "people" not in files
    first, second = files["orders"], files["orders"]
    assert first is not second  # nothing cached: each lookup reads the file
    pd.testing.assert_frame_equal(first, result.tables["orders"])
    with pytest.raises(KeyError):
        files["people"]
    result.paths["feedback"].write_bytes(b"not parquet")
    with pytest.raises(InputError, match="feedback.parquet: cannot be read"):
        files["feedback"]


def test_missing_dataset_tells_the_user_to_ingest(params):
    assert analysis_is_stale(params)
    with pytest.raises(InputError, match="valuation ingest"):
        load_analysis(params)


def test_an_identifier_in_a_label_is_redacted_and_a_rare_label_grouped(params):
    leaky = PEOPLE.copy()
    leaky.loc[1, "channel"] = "referred by 13712345678"
    out = run_gate(ingest(customers=leaky), params, KEY)
    channels = out.tables["customers"]["channel"]
    assert not channels.str.contains("1371234", regex=False).any()
    assert channels.iloc[1] == "other"  # one customer: fewer than min_cell_size


def test_a_leak_fails_the_run_and_nothing_is_kept(params, monkeypatch):
    # the scan before keeping is the safety net behind the column policies: switch them off
    monkeypatch.setattr("valuation.privacy.gate.apply_policy", lambda *a, **k: None)
    leaky = PEOPLE.copy()
    leaky.loc[1, "channel"] = "referred by 13712345678"
    with pytest.raises(LeakError) as info:
        run_gate(ingest(customers=leaky), params, KEY)
    message = str(info.value)
    assert "customers.parquet" in message and "channel" in message
    assert "13712345678" not in message and "137****5678" in message
    assert not params.analysis_dir.exists() or not any(params.analysis_dir.iterdir())
    assert not (params.work_dir.parent / "logs" / "t.jsonl").exists()


def test_a_second_run_chains_the_log_and_a_broken_log_stops_the_gate(params, result):
    second = run_gate(ingest(), params, KEY)
    assert second.log_entry["prev_hash"] == result.log_entry["hash"]
    assert second.tables["customers"].equals(result.tables["customers"])  # deterministic
    lines = result.log_path.read_text(encoding="utf-8").splitlines(keepends=True)
    result.log_path.write_text(lines[0].replace("tester", "someone") + lines[1], encoding="utf-8")
    with pytest.raises(LogIntegrityError, match="line 1"):
        run_gate(ingest(), params, KEY)


def test_missing_optional_tables_and_columns_give_empty_typed_tables(params):
    minimal = FakeIngest({"customers": PEOPLE[["customer_id", "signup_date"]].copy(),
                          "orders": ORDERS[["order_id", "customer_id", "order_date", "amount"]]})
    out = run_gate(minimal, params, KEY)
    assert len(out.tables["activity"]) == 0 and len(out.tables["feedback"]) == 0
    assert out.tables["customers"]["person_token"].isna().all()
    assert not out.tables["customers"]["contactable"].any()
    assert out.cohort_counts["transferable"] == 0


def test_dummy_flag_covers_invalid_dummies_and_dummies_are_not_contactable():
    raw = PEOPLE.iloc[:4].copy().reset_index(drop=True)
    raw["mobile"] = ["11111111111", "123-4567-8901", "138 8888 8888", "13912345678"]
    raw["email"] = None
    customers = build_customers(raw, KEY, dt.date(2025, 6, 30))
    assert customers["mobile_dummy"].tolist() == [True, True, True, False]
    assert customers["mobile_valid"].tolist() == [False, False, True, True]
    assert customers["contactable"].tolist() == [False, False, False, True]


def test_memory_returning_pool_switches_arrow_to_jemalloc_when_built_with_it():
    import pyarrow as pa

    from valuation.analysis import use_memory_returning_pool

    before = pa.default_memory_pool()
    try:
        backend = use_memory_returning_pool()
        try:
            pa.jemalloc_memory_pool()
            assert backend == "jemalloc"
        except NotImplementedError:
            assert backend == before.backend_name
        assert pa.default_memory_pool().backend_name == backend
        assert pa.array(["a", "b"]).to_pylist() == ["a", "b"]  # allocations still work
    finally:
        pa.set_memory_pool(before)
