"""`valuation ingest` on malformed exports: one row of the table per defect.

Each case builds its own broken target in tmp_path, runs the real CLI and asserts the exit
code, the specific message fragment, that no traceback is printed, that no raw personal
value of the input appears anywhere in the output, and that the inputs are unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from test_ingest import (
    EN_ORDERS,
    ORDERS,
    PERSONAL_VALUES,
    PEOPLE,
    TEST_KEY,
    ZH_CUSTOMERS,
    ZH_ORDERS,
    customers_csv,
    orders_csv,
    run_dir,
    write_csv_target,
    write_params,
    write_workbook,
)
from valuation.cli import main
from valuation.fileio import sha256_file

NAME, MOBILE, ID_NUMBER, EMAIL = PEOPLE[0][1:5]


def _orders_with(replace: str, by: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        text = orders_csv()
        assert replace in text
        return write_csv_target(folder, orders=text.replace(replace, by, 1))
    return build


def _customers_with(replace: str, by: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        text = customers_csv()
        assert replace in text
        return write_csv_target(folder, customers=text.replace(replace, by, 1))
    return build


def _orders_bytes(content: bytes) -> Callable[[Path], Path]:
    return lambda folder: write_csv_target(folder, orders=content)


def _directory(folder: Path) -> Path:
    path = write_csv_target(folder)
    (folder / "orders.csv").unlink()
    (folder / "orders.csv").mkdir()
    return path


def _workbook_missing_sheet(folder: Path) -> Path:
    rows = [ZH_CUSTOMERS] + [list(p) for p in PEOPLE]
    write_workbook(folder / "export.xlsx", {"学员": rows, "Sheet2": [["x"]]})
    return write_params(folder, {"workbook": "export.xlsx", "sheets": {"orders": "订单"}})


def _workbook_unnamed_sheet(folder: Path) -> Path:
    rows = [ZH_CUSTOMERS] + [list(p) for p in PEOPLE]
    write_workbook(folder / "export.xlsx", {"学员": rows, "Sheet2": [["x"]]})
    return write_params(folder, {"workbook": "export.xlsx"})


def _file_named(name: str, content: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        write_csv_target(folder)
        (folder / name).write_bytes(content)
        return write_params(folder, {"files": {"customers": "customers.csv", "orders": name}})
    return build


def _extra(name: str, content: str) -> Callable[[Path], Path]:
    return lambda folder: write_csv_target(folder, extra_files={name: content})


def _params_data(**data) -> Callable[[Path], Path]:
    return lambda folder: write_csv_target(folder, data=data)


def _many_bad_dates(folder: Path) -> Path:
    rows = [(f"O{i}", "C001", "课", "not-a-date", 10.0, 0.0) for i in range(60)]
    return write_csv_target(folder, orders=orders_csv(rows=rows))


def _shifted_name_in_amount(folder: Path) -> Path:
    text = orders_csv().replace("1200.00", NAME, 1)
    return write_csv_target(folder, orders=text)


def _id_number_in_date(folder: Path) -> Path:
    return write_csv_target(folder, customers=customers_csv().replace("2023-01-05", ID_NUMBER))


def _mobile_in_date(folder: Path) -> Path:
    return write_csv_target(folder, orders=orders_csv().replace("2023-01-06", MOBILE))


def _cp1252(folder: Path) -> Path:
    text = customers_csv().replace("北京", "Montréal").replace("上海", "Zürich")
    return write_csv_target(folder, customers=text.encode("utf-8").replace(
        "é".encode(), b"\xe9").replace("ü".encode(), b"\xfc"))


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    code: int
    fragment: str
    quarantine: bool = False


CASES = [
    Case("zero_byte_file", _orders_bytes(b""), 2, "it is empty (0 bytes)"),
    Case("only_blank_lines", _orders_bytes(b"\n\n  \n"), 2, "the file holds only blank lines"),
    Case("blank_first_row", _orders_bytes(b"\n" + orders_csv().encode()), 2, "row 1 is blank"),
    Case("directory_instead_of_file", _directory, 2, "a file, but this is a folder"),
    Case("binary_file", _orders_bytes(bytes(range(256)) * 4), 2, "binary data (NUL bytes)"),
    Case("xlsx_named_csv", _orders_bytes(b"PK\x03\x04" + b"\x14" * 60), 2,
         "looks like an Excel workbook"),
    Case("utf16_file", _orders_bytes(orders_csv().encode("utf-16")), 2, "it is UTF-16"),
    Case("undecodable_encoding", _cp1252, 2,
         "encodings tried: utf-8 (fails at line 2), gb18030 (fails at line 2)"),
    Case("declared_encoding_wrong",
         lambda f: write_csv_target(f, customers=customers_csv(ZH_CUSTOMERS).encode("gb18030"),
                                    data={"encoding": "utf-8"}),
         2, "encodings tried: utf-8 (fails at line 1)"),
    Case("unknown_encoding_name", _params_data(encoding="klingon"), 2,
         "data.encoding: unknown text encoding 'klingon'"),
    Case("duplicate_headers",
         lambda f: write_csv_target(f, orders=orders_csv(
             ["order_id", "customer_id", "course", "order_date", "amount", "amount"])),
         2, "each column header once, but it appears 2 times (columns E, F)"),
    Case("two_headers_for_one_column",
         lambda f: write_csv_target(f, orders=orders_csv(
             ["order_id", "customer_id", "course", "order_date", "amount", "实付金额"])),
         2, "both 'amount' and '实付金额' match it"),
    Case("missing_required_column",
         lambda f: write_csv_target(f, orders="order_id,customer_id,order_date\nO1,C001,2023-01-06\n"),
         2, "a column for orders.amount (required); headers accepted: amount, paid_amount"),
    Case("params_maps_to_unknown_column",
         _params_data(columns={"orders": {"amount": "price_paid"}}),
         2, "expected a column of table orders"),
    Case("unparseable_date", _orders_with("2023-06-01", "2023-13-45"), 2,
         "row 3, column 'order_date': got '2023-13-45'; expected a date"),
    Case("impossible_calendar_date", _orders_with("2023-06-01", "2023-02-30"), 2,
         "got '2023-02-30'; expected a date"),
    Case("text_in_amount", _orders_with("3500.50", "about 3k"), 2,
         "row 3, column 'amount': got 'about 3k'; expected an amount in CNY"),
    Case("name_shifted_into_amount", _shifted_name_in_amount, 2, "got '张*'"),
    Case("id_number_in_date_column", _id_number_in_date, 2, "column 'signup_date'"),
    Case("mobile_in_date_column", _mobile_in_date, 2, "got '139******78'"),
    Case("negative_amount_is_a_warning", _orders_with("899.00", "-899.00"), 0,
         "1 order(s) with a negative amount kept for the data review (rows 5)"),
    Case("duplicate_order_ids", _orders_with("O2,", "O1,"), 2,
         "expected a unique order_id, but the same value is on several rows"),
    Case("duplicate_customer_ids", _customers_with("C002,", "C001,"), 2,
         "expected a unique customer_id"),
    Case("blank_required_customer_id", _orders_with("O3,C002", "O3,"), 2,
         "row 4, column 'customer_id': expected a value"),
    Case("bad_consent_boolean", _customers_with(",是\n", ",maybe\n"), 2,
         "got 'maybe'; expected yes/no"),
    Case("unknown_event_type",
         _extra("activity.csv", "customer_id,event_date,event_type\nC001,2023-01-07,party\n"),
         2, "got 'party'; expected an event type: attendance"),
    Case("score_out_of_range",
         _extra("feedback.csv", "customer_id,feedback_date,score\nC001,2023-02-01,7\n"),
         2, "got '7'; expected a score from 1 to 5"),
    Case("fractional_event_count",
         _extra("activity.csv", "customer_id,event_date,event_type,count\nC001,2023-01-07,login,1.5\n"),
         2, "expected a whole number"),
    Case("row_with_extra_fields", _orders_with("O4,C003,云计算", "O4,C003,云,计算"), 2,
         "row 5: expected as many fields as the header, but the row has 7 fields"),
    Case("sheet_missing_from_workbook", _workbook_missing_sheet, 2,
         "a sheet named '订单'; the workbook has: '学员', 'Sheet2'"),
    Case("no_sheet_for_required_table", _workbook_unnamed_sheet, 2,
         "a sheet for the orders table (tried orders, 订单"),
    Case("legacy_xls", _file_named("orders.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100), 2,
         "this is a legacy .xls file"),
    Case("corrupt_xlsx", _file_named("orders.xlsx", b"order_id,amount\n1,2\n"), 2,
         "an .xlsx workbook, but it is not a ZIP-based workbook"),
    Case("corrupt_parquet", _file_named("orders.parquet", b"PAR1 not really"), 2,
         "a readable Parquet file"),
    Case("unsupported_extension", _file_named("orders.json", b"[]"), 2,
         "a .csv, .xlsx or .parquet file, not '.json'"),
    Case("many_bad_cells_are_capped", _many_bad_dates, 2, "more such cell(s) in rows"),
    Case("header_only_file_is_zero_rows", _orders_bytes(",".join(EN_ORDERS).encode() + b"\n"),
         0, "orders                0"),
    Case("blank_rows_are_skipped_and_counted",
         _orders_bytes(orders_csv().replace("\nO2", "\n,,,,,\nO2").encode()), 0,
         "skipped 1 fully blank row(s) (rows 3)"),
    Case("quarantine_sets_bad_rows_aside", _orders_with("3500.50", "abc"), 0,
         "quarantined 1 row(s): 1 × amount: not an amount", quarantine=True),
]


def test_the_suite_covers_at_least_25_distinct_defects():
    assert len({c.name for c in CASES}) == len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VALUATION_DEAL_KEY", TEST_KEY)
    params = case.build(tmp_path)
    inputs = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before = {p: sha256_file(p) for p in inputs}
    argv = ["ingest", str(params)] + (["--quarantine"] if case.quarantine else [])
    code = main(argv)
    out, err = capsys.readouterr()
    text = out + err
    assert code == case.code, text
    assert case.fragment in text, text
    assert "Traceback" not in text
    for value in PERSONAL_VALUES:
        assert value not in text, f"raw personal value leaked in the output of {case.name}"
    assert {p: sha256_file(p) for p in inputs} == before
    if case.code == 2:
        assert err.startswith("error: ") and not out.strip().startswith("rows read")


def test_successful_ingest_prints_summary_and_gate_results(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VALUATION_DEAL_KEY", TEST_KEY)
    params = write_csv_target(tmp_path)
    assert main(["ingest", str(params)]) == 0
    out = capsys.readouterr().out
    assert "customers: 3" in out
    assert "gross revenue: ¥17,599.50" in out
    assert "refunds: ¥500.00" in out
    assert "orders from 2023-01-06 to 2024-01-05" in out
    assert "consent cohorts" in out
    for value in PERSONAL_VALUES:
        assert value not in out
    written = list((run_dir(tmp_path) / "work").rglob("*.parquet"))
    assert written, "the privacy gate wrote no analysis dataset"
    for path in written:
        frame = pd.read_parquet(path)
        dump = frame.astype(str).to_csv()
        for value in PERSONAL_VALUES:
            assert value not in dump
