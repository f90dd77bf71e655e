"""Ingest API: read_exports / read_table on CSV (UTF-8, BOM, GB18030), XLSX and Parquet.

Known answers: a small target written by the tests in every export style must read into
exactly the same canonical tables. Inputs are compared by SHA-256 before and after.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from valuation.errors import InputError
from valuation.fileio import sha256_file
from valuation.ingest import read_exports, read_table, summarize
from valuation.params import load_params
from valuation.privacy.identifiers import id_check_digit
from valuation.tables import RAW_COLUMNS, TABLES

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
TEST_KEY = "ab" * 32


def make_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


# personal values of the small target: none may ever appear in a message or output
PEOPLE = [
    # customer_id, name, mobile, id_number, email, city, signup, channel, consent
    ("C001", "张伟", "13912345678", make_id("11010519900307123"), "zhangwei@example.com",
     "北京", "2023-01-05", "wechat", "是"),
    ("C002", "李娜", "13698765432", make_id("31010419851112234"), "lina@example.cn",
     "上海", "2023-02-10", "search", "否"),
    ("C003", "王芳", "15811112222", make_id("44030519950620345"), "", "深圳", "2023-03-15",
     "referral", ""),
]
PERSONAL_VALUES = [v for p in PEOPLE for v in p[1:5] if v]
ORDERS = [
    # order_id, customer_id, course, date, amount, refund
    ("O1", "C001", "Python 入门", "2023-01-06", 1200.0, 0.0),
    ("O2", "C001", "数据分析", "2023-06-01", 3500.5, 500.0),
    ("O3", "C002", "Java 进阶", "2023-02-11", 12000.0, 0.0),
    ("O4", "C003", "云计算", "2024-01-05", 899.0, 0.0),
]

EN_CUSTOMERS = ["customer_id", "name", "mobile", "id_number", "email", "city", "signup_date",
                "channel", "consent_transfer"]
ZH_CUSTOMERS = ["学员编号", "姓名", "手机号", "身份证号", "邮箱", "城市", "报名日期", "渠道",
                "同意转移"]
EN_ORDERS = ["order_id", "customer_id", "course", "order_date", "amount", "refund_amount"]
ZH_ORDERS = ["订单号", "学员编号", "课程名称", "下单日期", "实付金额", "退款金额"]


def customers_csv(headers: list[str] = EN_CUSTOMERS, rows=PEOPLE) -> str:
    lines = [",".join(headers)] + [",".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def orders_csv(headers: list[str] = EN_ORDERS, rows=ORDERS, money=lambda x: f"{x:.2f}") -> str:
    lines = [",".join(headers)]
    for oid, cid, course, date, amount, refund in rows:
        lines.append(",".join([oid, cid, course, date, money(amount), money(refund)]))
    return "\n".join(lines) + "\n"


def run_dir(folder: Path) -> Path:
    """Where the work and output folders of a target written in ``folder`` go: a sibling
    folder (a work folder inside the inputs' or params' folder is refused)."""
    return folder.parent / f"{folder.name}-run"


def write_params(folder: Path, data: dict, **extra) -> Path:
    """A minimal valid params YAML in ``folder`` whose work folder is in :func:`run_dir`."""
    raw = {
        "target": "t1",
        "name": "Test school",
        "as_of": "2025-06-30",
        "calibration_end": "2024-12-31",
        "data": data,
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12},
        "deal": {"side": "buyer"},
        "paths": {"work_dir": str(run_dir(folder) / "work" / "t1"),
                  "output_dir": str(run_dir(folder) / "outputs" / "t1")},
        **extra,
    }
    path = folder / "t1.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def write_csv_target(folder: Path, *, customers: str | bytes | None = None,
                     orders: str | bytes | None = None, encoding: str = "utf-8",
                     extra_files: dict[str, str | bytes] | None = None,
                     data: dict | None = None) -> Path:
    """Write customers.csv + orders.csv (+ extra files) and the params; return the YAML."""
    files = {"customers": "customers.csv", "orders": "orders.csv"}
    contents = {"customers.csv": customers_csv() if customers is None else customers,
                "orders.csv": orders_csv() if orders is None else orders}
    for name, content in (extra_files or {}).items():
        contents[name] = content
        table = name.split(".")[0]
        if table in TABLES:
            files[table] = name
    for name, content in contents.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode(encoding))
    return write_params(folder, {"files": files, **(data or {})})


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def expected_tables() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(PEOPLE, columns=EN_CUSTOMERS)
    customers["email"] = customers["email"].replace("", pd.NA)
    customers["signup_date"] = pd.to_datetime(customers["signup_date"])
    customers["consent_transfer"] = customers["consent_transfer"].map(
        {"是": True, "否": False, "": pd.NA})
    orders = pd.DataFrame(ORDERS, columns=EN_ORDERS)
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    return {"customers": customers, "orders": orders}


def assert_canonical(result) -> None:
    for table in TABLES:
        frame = result.tables[table]
        assert list(frame.columns) == list(RAW_COLUMNS[table]), table
        assert {c: str(t) for c, t in frame.dtypes.items()} == RAW_COLUMNS[table], table


def assert_matches_expected(result) -> None:
    expected = expected_tables()
    for table, want in expected.items():
        got = result.tables[table]
        for column in want.columns:
            left = got[column].astype(object).where(got[column].notna(), None).tolist()
            right = want[column].astype(object).where(want[column].notna(), None).tolist()
            assert left == right, (table, column)


# ---------------------------------------------------------------------------------------
def test_utf8_csv_with_english_headers_reads_canonical_tables(tmp_path):
    result = read_exports(load_params(write_csv_target(tmp_path)))
    assert_canonical(result)
    assert_matches_expected(result)
    assert result.tables["activity"].empty and result.tables["feedback"].empty
    assert any("activity: no export given" in w for w in result.warnings)
    # optional columns absent from the export: added as missing / defaults
    assert result.tables["customers"]["consent_marketing"].isna().all()
    assert result.tables["orders"]["payment_plan"].isna().all()


def test_gb18030_csv_with_chinese_headers_and_messy_money_reads_the_same(tmp_path):
    money = {1200.0: "¥1,200.00", 3500.5: "3,500.50元", 12000.0: "１２０００", 899.0: "￥ 899",
             500.0: "500", 0.0: ""}
    path = write_csv_target(
        tmp_path, customers=customers_csv(ZH_CUSTOMERS),
        orders=orders_csv(ZH_ORDERS, money=lambda x: f'"{money[x]}"'), encoding="gb18030")
    result = read_exports(load_params(path))
    assert_canonical(result)
    assert_matches_expected(result)
    assert result.tables["orders"]["refund_amount"].tolist() == [0.0, 500.0, 0.0, 0.0]


def test_utf8_bom_csv_is_detected(tmp_path):
    path = write_csv_target(tmp_path, customers="\ufeff" + customers_csv(), encoding="utf-8")
    result = read_exports(load_params(path))
    assert_matches_expected(result)


def test_workbook_with_chinese_sheets_money_and_excel_dates_reads_the_same(tmp_path):
    customers = [ZH_CUSTOMERS] + [
        [cid, name, int(mobile), idn, email or None, city,
         dt.datetime.fromisoformat(signup) if i == 0 else
         (pd.Timestamp(signup) - pd.Timestamp("1899-12-30")).days if i == 1 else
         "{}年{}月{}日".format(*map(int, signup.split("-"))), channel, consent or None]
        for i, (cid, name, mobile, idn, email, city, signup, channel, consent)
        in enumerate(PEOPLE)]
    orders = [ZH_ORDERS] + [
        [oid, cid, course, date.replace("-", "/"), f"¥{amount:,.2f}", refund]
        for oid, cid, course, date, amount, refund in ORDERS]
    book = write_workbook(tmp_path / "export.xlsx", {"学员": customers, "订单": orders})
    before = sha256_file(book)
    path = write_params(tmp_path, {"workbook": "export.xlsx"})
    result = read_exports(load_params(path))
    assert_canonical(result)
    assert_matches_expected(result)
    assert sha256_file(book) == before
    assert {(s.sheet, s.rows) for s in result.sources} == {("学员", 3), ("订单", 4)}
    assert all(s.sha256 == before for s in result.sources)


def test_parquet_exports_read_the_same(tmp_path):
    expected = expected_tables()
    expected["customers"].to_parquet(tmp_path / "customers.parquet")
    expected["orders"].to_parquet(tmp_path / "orders.parquet")
    path = write_params(tmp_path, {"files": {"customers": "customers.parquet",
                                             "orders": "orders.parquet"}})
    result = read_exports(load_params(path))
    assert_canonical(result)
    assert_matches_expected(result)


def test_params_column_mapping_overrides_the_aliases(tmp_path):
    orders = orders_csv(["单号", "customer_id", "course", "成交时间", "amount", "refund"])
    path = write_csv_target(tmp_path, orders=orders, data={
        "columns": {"orders": {"单号": "order_id", "成交时间": "order_date"}}})
    result = read_exports(load_params(path))
    assert result.tables["orders"]["order_id"].tolist() == ["O1", "O2", "O3", "O4"]
    assert result.tables["orders"]["order_date"].min() == pd.Timestamp("2023-01-06")


def test_activity_and_feedback_aliases_and_defaults(tmp_path):
    activity = "学员编号,日期,类型\nC001,2023-01-07,上课\nC001,2023-01-08,登录\nC002,2023-02-12,LOGIN\n"
    feedback = "学员编号,评价日期,评分,评价内容\nC001,2023-02-01,5,老师很好\nC002,2023-03-01,3.5,\n"
    path = write_csv_target(tmp_path, extra_files={"activity.csv": activity,
                                                   "feedback.csv": feedback})
    result = read_exports(load_params(path))
    assert_canonical(result)
    act = result.tables["activity"]
    assert act["event_type"].tolist() == ["attendance", "login", "login"]
    assert act["count"].tolist() == [1, 1, 1]
    assert result.tables["feedback"]["score"].tolist() == [5.0, 3.5]


def test_read_table_single_file_and_formats(tmp_path):
    (tmp_path / "o.tsv").write_text(orders_csv().replace(",", "\t"), encoding="utf-8")
    frame = read_table(tmp_path / "o.tsv", "orders")
    assert frame["amount"].tolist() == [1200.0, 3500.5, 12000.0, 899.0]
    (tmp_path / "semi.csv").write_text(orders_csv().replace(",", ";"), encoding="utf-8")
    assert read_table(tmp_path / "semi.csv", "orders")["order_id"].tolist() == [
        "O1", "O2", "O3", "O4"]


def test_negative_amounts_are_kept_with_a_warning_naming_rows(tmp_path):
    rows = [*ORDERS[:2], ("O3", "C002", "退费冲销", "2023-02-11", -50.0, 0.0)]
    result = read_exports(load_params(write_csv_target(tmp_path, orders=orders_csv(rows=rows))))
    assert result.tables["orders"]["amount"].tolist() == [1200.0, 3500.5, -50.0]
    assert any("1 order(s) with a negative amount" in w and "rows 4" in w
               for w in result.warnings)


def test_data_level_defects_do_not_stop_ingest(tmp_path):
    rows = [*ORDERS, ("O9", "C999", "孤儿订单", "2030-01-01", 0.0, 99.0),  # orphan, future
            ("O10", "C001", "早于报名", "2020-01-01", 100.0, 500.0)]  # before signup, refund>
    result = read_exports(load_params(write_csv_target(tmp_path, orders=orders_csv(rows=rows))))
    assert len(result.tables["orders"]) == 6


def test_quarantine_sets_bad_rows_aside_with_reasons(tmp_path):
    rows = [*ORDERS, ("O5", "C001", "x", "2023-13-45", 10.0, 0.0)]
    text = orders_csv(rows=rows).replace("O4,C003,云计算,2024-01-05,899.00",
                                         "O4,C003,云计算,2024-01-05,abc")
    path = write_csv_target(tmp_path, orders=text)
    with pytest.raises(InputError):
        read_exports(load_params(path))
    result = read_exports(load_params(path), quarantine=True)
    assert result.tables["orders"]["order_id"].tolist() == ["O1", "O2", "O3"]
    bad = result.quarantined["orders"]
    assert bad["row"].tolist() == [5, 6]
    assert bad["reason"].tolist() == ["amount: not an amount", "order_date: not a date"]
    assert bad["order_id"].tolist() == ["O4", "O5"]
    assert result.quarantined["customers"].empty
    assert any("quarantined 2 row(s)" in w for w in result.warnings)


def test_sources_record_sha256_and_rows_and_inputs_are_unchanged(tmp_path):
    path = write_csv_target(tmp_path)
    files = [tmp_path / "customers.csv", tmp_path / "orders.csv"]
    before = {f: sha256_file(f) for f in files}
    result = read_exports(load_params(path))
    assert {(s.path, s.sha256, s.rows) for s in result.sources} == {
        (files[0], before[files[0]], 3), (files[1], before[files[1]], 4)}
    assert {f: sha256_file(f) for f in files} == before


def test_summary_counts_revenue_and_dates(tmp_path):
    summary = summarize(read_exports(load_params(write_csv_target(tmp_path))))
    assert summary.rows == {"customers": 3, "orders": 4, "activity": 0, "feedback": 0}
    assert summary.customers == 3
    assert summary.revenue == pytest.approx(1200 + 3500.5 + 12000 + 899)
    assert summary.refunds == pytest.approx(500)
    assert summary.order_date_min == pd.Timestamp("2023-01-06")
    assert summary.order_date_max == pd.Timestamp("2024-01-05")


def test_error_lists_every_problem_of_a_file_lazily(tmp_path):
    text = orders_csv().replace("2023-01-06", "someday").replace("12000.00", "lots")
    with pytest.raises(InputError) as caught:
        read_exports(load_params(write_csv_target(tmp_path, orders=text)))
    rows = sorted((p.row, p.column) for p in caught.value.problems)
    assert rows == [(2, "order_date"), (4, "amount")]


# ---------------------------------------------------------------------------------------
# The three embedded samples (written by a colleague's generator into data/samples/)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [
    "online_school",
    "bootcamp",
    # the XLSX workbook (read with calamine)
    "cert_school",
])
def test_samples_match_ground_truth_counts(target):
    truth_file = SAMPLES / target / "ground_truth.json"
    params_file = REPO / "params" / f"{target}.yaml"
    if not truth_file.exists() or not params_file.exists():
        pytest.fail(f"sample {target} missing: data/samples is committed")
    counts = json.loads(truth_file.read_text(encoding="utf-8"))["counts"]
    result = read_exports(load_params(params_file))
    summary = summarize(result)
    for table in TABLES:
        assert summary.rows[table] == counts[table], table
    assert summary.customers == counts["customers"]
    assert summary.revenue == pytest.approx(counts["revenue"], abs=0.01)
    if "refunds" in counts:
        assert summary.refunds == pytest.approx(counts["refunds"], abs=0.01)
    assert summary.order_date_min.date().isoformat() == counts["order_date_min"][:10]
    assert summary.order_date_max.date().isoformat() == counts["order_date_max"][:10]
    assert not any(len(q) for q in result.quarantined.values())
