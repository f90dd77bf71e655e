"""Malformed params and exports at the edges (issue 13, item 9): each is exit 2 through the
real CLI, naming the file (and the YAML key, or row and column), with no traceback, no
personal value in the output, and the inputs byte-identical afterwards.

Params cases mutate a valid small target's YAML; export cases damage one export. Documented
acceptances (a cell reading ``nan`` is an empty cell) are asserted as such.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from test_ingest import (
    EN_CUSTOMERS,
    EN_ORDERS,
    PEOPLE,
    PERSONAL_VALUES,
    TEST_KEY,
    customers_csv,
    orders_csv,
    write_csv_target,
    write_params,
    write_workbook,
)
from valuation.cli import main
from valuation.fileio import sha256_file


# ---------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamsCase:
    name: str
    change: Callable[[dict], dict] | str  # a mutation of the raw YAML, or the whole text
    fragment: str  # what the message must say (e.g. the YAML key)


def _set(path: str, value) -> Callable[[dict], dict]:
    def change(raw: dict) -> dict:
        node = raw
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
        return raw
    return change


INF, NAN = float("inf"), float("nan")
DEEP = "target: t1\nname: x\nextra: " + "[" * 5000 + "]" * 5000 + "\n"
BOMB = ("target: t1\nname: x\n"
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n")

PARAMS_CASES = [
    ParamsCase("asking_price_inf", _set("deal.asking_price", INF), "deal.asking_price"),
    ParamsCase("asking_price_minus_inf", _set("deal.asking_price", -INF), "deal.asking_price"),
    ParamsCase("asking_price_nan", _set("deal.asking_price", NAN), "deal.asking_price"),
    ParamsCase("asking_price_1e400_text", "1e400", "deal.asking_price"),
    ParamsCase("asking_price_absurd", _set("deal.asking_price", 1e15), "deal.asking_price"),
    ParamsCase("asking_price_zero", _set("deal.asking_price", 0), "deal.asking_price"),
    ParamsCase("gross_margin_nan", _set("economics.gross_margin", NAN), "economics.gross_margin"),
    ParamsCase("gross_margin_above_one", _set("economics.gross_margin", 1.5),
               "economics.gross_margin"),
    ParamsCase("discount_rate_one", _set("economics.annual_discount_rate", 1.0),
               "economics.annual_discount_rate"),
    ParamsCase("discount_rate_inf", _set("economics.annual_discount_rate", INF),
               "economics.annual_discount_rate"),
    ParamsCase("horizon_inf", _set("economics.horizon_years", INF), "economics.horizon_years"),
    ParamsCase("horizon_negative", _set("economics.horizon_years", -1),
               "economics.horizon_years"),
    ParamsCase("membership_fee_inf", _set("economics.membership_fee", INF),
               "economics.membership_fee"),
    ParamsCase("integration_cost_negative", _set("deal.integration_cost", -5),
               "deal.integration_cost"),
    ParamsCase("notification_cost_nan", _set("deal.notification_cost_per_customer", NAN),
               "deal.notification_cost_per_customer"),
    ParamsCase("earn_out_share_above_one", _set("deal.earn_out_share", 1.2),
               "deal.earn_out_share"),
    ParamsCase("revenue_multiple_inf", _set("deal.revenue_multiple", INF),
               "deal.revenue_multiple"),
    ParamsCase("one_off_loss_one", _set("deal.change_of_owner.one_off_loss", 1.0),
               "deal.change_of_owner.one_off_loss"),
    ParamsCase("hazard_multiplier_below_one", _set("deal.change_of_owner.hazard_multiplier", 0.5),
               "deal.change_of_owner.hazard_multiplier"),
    ParamsCase("acquisitions_inf", _set("deal.acquisitions",
                                        {"customers_per_year": INF, "cost_per_customer": 10}),
               "deal.acquisitions.customers_per_year"),
    ParamsCase("sensitivity_discount_negative",
               _set("sensitivity.annual_discount_rate", [-0.1, 0.2]),
               "sensitivity.annual_discount_rate = [-0.1, 0.2]"),
    ParamsCase("sensitivity_discount_reversed",
               _set("sensitivity.annual_discount_rate", [0.2, 0.1]), "low first"),
    ParamsCase("sensitivity_margin_above_one", _set("sensitivity.gross_margin", [0.5, 1.5]),
               "sensitivity.gross_margin"),
    ParamsCase("sensitivity_loss_inf", _set("sensitivity.one_off_loss", [0, INF]),
               "sensitivity.one_off_loss"),
    ParamsCase("sensitivity_horizon_nan", _set("sensitivity.horizon_years", [NAN, 10]),
               "sensitivity.horizon_years"),
    ParamsCase("sensitivity_days_zero", _set("sensitivity.inactivity_days", [0, 365]),
               "sensitivity.inactivity_days"),
    ParamsCase("sensitivity_one_value", _set("sensitivity.inactivity_days", [90]),
               "sensitivity.inactivity_days"),
    ParamsCase("sensitivity_three_values", _set("sensitivity.horizon_years", [3, 10, 20]),
               "sensitivity.horizon_years"),
    ParamsCase("seed_negative", _set("uncertainty.seed", -1), "uncertainty.seed"),
    ParamsCase("seed_too_large", _set("uncertainty.seed", 2**40), "uncertainty.seed"),
    ParamsCase("replicates_huge", _set("uncertainty.bootstrap_replicates", 10**9),
               "uncertainty.bootstrap_replicates"),
    ParamsCase("min_cell_size_zero", _set("privacy.min_cell_size", 0), "privacy.min_cell_size"),
    ParamsCase("inactivity_days_huge", _set("churn.inactivity_days", 10**6),
               "churn.inactivity_days"),
    ParamsCase("encoding_unknown", _set("data.encoding", "klingon"), "data.encoding"),
    ParamsCase("encoding_not_text_rot13", _set("data.encoding", "rot13"), "data.encoding"),
    ParamsCase("encoding_not_text_base64", _set("data.encoding", "base64"), "data.encoding"),
    ParamsCase("encoding_number", _set("data.encoding", 123), "data.encoding"),
    ParamsCase("time_unit_unknown", _set("time_unit", "Y"), "time_unit"),
    ParamsCase("lang_unknown", _set("report.lang", "fr"), "report.lang"),
    ParamsCase("as_of_impossible_date", _set("as_of", "2025-02-30"), "as_of"),
    ParamsCase("calibration_after_as_of", _set("calibration_end", "2026-01-01"),
               "calibration_end must be before as_of"),
    ParamsCase("target_with_path", _set("target", "../x"), "target"),
    ParamsCase("unknown_key", _set("privacy.opertor", "me"), "privacy.opertor: unknown key"),
    ParamsCase("nul_in_name", _set("name", "School\x00"), "name: contains a control character"),
    ParamsCase("control_in_file_path", _set("data.files.customers", "cust\x07omers.csv"),
               "data.files.customers: contains a control character"),
    ParamsCase("yaml_nested_5000_deep", DEEP, "nested more than 12 levels"),
    ParamsCase("yaml_nested_13_deep", "target: t1\nx: " + "[" * 13 + "]" * 13 + "\n",
               "nested more than 12 levels"),
    ParamsCase("yaml_alias_bomb", BOMB, "anchors and aliases"),
    ParamsCase("yaml_single_alias", "target: &t t1\nname: *t\n", "anchors and aliases"),
    ParamsCase("yaml_syntax_error", "target: [t1\nname: x\n", "not valid YAML at line"),
    ParamsCase("yaml_top_level_list", "- target\n- name\n", "expected a YAML mapping"),
    ParamsCase("yaml_empty", "", "expected a YAML mapping"),
    ParamsCase("yaml_not_utf8", "gbk", "not UTF-8 text"),
    ParamsCase("yaml_too_large", "big", "a params file is at most"),
]


def _write_params_case(folder: Path, case: ParamsCase) -> Path:
    path = write_csv_target(folder)
    if callable(case.change):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump(case.change(raw), allow_unicode=True), encoding="utf-8")
    elif case.change == "1e400":
        text = path.read_text(encoding="utf-8").replace("side: buyer",
                                                        "side: buyer\n  asking_price: 1e400")
        path.write_text(text, encoding="utf-8")
    elif case.change == "gbk":
        path.write_bytes("name: 北京培训学校\n".encode("gbk"))
    elif case.change == "big":
        path.write_text("# filler\n" * 200_000, encoding="utf-8")
    else:
        path.write_text(case.change, encoding="utf-8")
    return path


def _inputs(folder: Path) -> dict[Path, str]:
    return {p: sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _run_refused(argv: list[str], capsys) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    text = out + err
    assert code == 2, text
    assert "Traceback" not in text
    assert err.startswith("error: "), text
    for value in PERSONAL_VALUES:
        assert value not in text
    return err


@pytest.mark.parametrize("case", PARAMS_CASES, ids=[c.name for c in PARAMS_CASES])
def test_malformed_params_are_refused(case: ParamsCase, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VALUATION_DEAL_KEY", TEST_KEY)
    path = _write_params_case(tmp_path, case)
    before = _inputs(tmp_path)
    err = _run_refused(["ingest", str(path)], capsys)
    assert str(path) in err
    assert case.fragment in err, err
    assert _inputs(tmp_path) == before
    assert not any(tmp_path.parent.glob(f"{tmp_path.name}-run/work/*/analysis"))


# ---------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportCase:
    name: str
    build: Callable[[Path], tuple[Path, str]]  # -> (params, the damaged file's name)
    fragments: tuple[str, ...]  # row/column/what, each must be in the message


def _orders_text(replace: str, by: str) -> Callable[[Path], tuple[Path, str]]:
    def build(folder: Path) -> tuple[Path, str]:
        text = orders_csv()
        assert replace in text
        return write_csv_target(folder, orders=text.replace(replace, by, 1)), "orders.csv"
    return build


def _orders_bytes(make: Callable[[], bytes]) -> Callable[[Path], tuple[Path, str]]:
    return lambda folder: (write_csv_target(folder, orders=make()), "orders.csv")


def _customers_bytes(make: Callable[[], bytes]) -> Callable[[Path], tuple[Path, str]]:
    return lambda folder: (write_csv_target(folder, customers=make()), "customers.csv")


def _long_orders_with_nul() -> bytes:
    rows = [("O%d" % i, "C001", "课", "2023-03-01", 10.0, 0.0) for i in range(3000)]
    text = orders_csv(rows=rows).encode()
    assert len(text) > 1 << 16  # the NUL lies beyond the first 64 KiB sniffed
    at = text.index(b"O2500,")
    return text[:at] + b"O2500,C0\x0001" + text[at + len(b"O2500,C001"):]


def _workbook(folder: Path) -> Path:
    rows_c = [EN_CUSTOMERS] + [list(p) for p in PEOPLE]
    rows_o = [EN_ORDERS] + [["O1", "C001", "课", "2023-01-06", 1200.0, 0.0]]
    return write_workbook(folder / "export.xlsx", {"customers": rows_c, "orders": rows_o})


def _damaged_workbook(damage: Callable[[bytes], bytes]) -> Callable[[Path], tuple[Path, str]]:
    def build(folder: Path) -> tuple[Path, str]:
        path = _workbook(folder)
        path.write_bytes(damage(path.read_bytes()))
        params = write_params(folder, {"workbook": "export.xlsx",
                                       "sheets": {"customers": "customers", "orders": "orders"}})
        return params, "export.xlsx"
    return build


def _rezip(data: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = edit(item.filename, src.read(item.filename))
            if content is not None:
                dst.writestr(item, content)
    return out.getvalue()


def _broken_sheet_xml(data: bytes) -> bytes:
    return _rezip(data, lambda name, content: content[: len(content) // 2]
                  if name == "xl/worksheets/sheet2.xml" else content)


def _garbage_sheet_xml(data: bytes) -> bytes:
    return _rezip(data, lambda name, content: b"<worksheet><sheetData><row r='1'><c r="
                  if name == "xl/worksheets/sheet2.xml" else content)


def _no_workbook_xml(data: bytes) -> bytes:
    return _rezip(data, lambda name, content: None if name == "xl/workbook.xml" else content)


def _corrupt_stream(data: bytes) -> bytes:
    """Flip bytes inside the deflate stream of the orders sheet (the directory intact)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        info = book.getinfo("xl/worksheets/sheet2.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    damaged = bytearray(data)
    for i in range(middle, min(middle + 8, start + info.compress_size)):
        damaged[i] ^= 0xFF
    return bytes(damaged)


def _parquet_orders(amounts: list[float]) -> Callable[[Path], tuple[Path, str]]:
    def build(folder: Path) -> tuple[Path, str]:
        frame = pd.DataFrame({"order_id": [f"O{i}" for i in range(len(amounts))],
                              "customer_id": "C001", "order_date": "2023-03-01",
                              "amount": amounts})
        frame.to_parquet(folder / "orders.parquet", index=False)
        (folder / "customers.csv").write_text(customers_csv(), encoding="utf-8")
        return write_params(folder, {"files": {"customers": "customers.csv",
                                               "orders": "orders.parquet"}}), "orders.parquet"
    return build


EXPORT_CASES = [
    ExportCase("nul_in_a_cell", _orders_text("Java 进阶", "Java\x00进阶"),
               ("row 4", "column 'course'", "NUL")),
    ExportCase("nul_beyond_the_sniffed_head", _orders_bytes(_long_orders_with_nul),
               ("row 2502", "column 'customer_id'", "NUL")),
    ExportCase("nul_in_the_header", _orders_bytes(
        lambda: orders_csv().replace("course", "cou\x00rse", 1).encode()), ("row 1", "NUL")),
    ExportCase("nul_in_customers", _customers_bytes(
        lambda: customers_csv().replace("北京", "北\x00京", 1).encode()),
        ("row 2", "column 'city'", "NUL")),
    ExportCase("bom_at_start_of_a_data_row", _orders_text("\nO3,", "\n\ufeffO3,"),
               ("row 4", "column 'order_id'", "U+FEFF")),
    ExportCase("bom_inside_a_cell", _orders_text("数据分析", "数据\ufeff分析"),
               ("row 3", "column 'course'", "U+FEFF")),
    ExportCase("two_exports_joined", _orders_bytes(
        lambda: orders_csv().encode("utf-8-sig") + orders_csv().encode("utf-8-sig")),
        ("row 6", "U+FEFF")),
    ExportCase("amount_inf", _orders_text("12000.00", "inf"), ("row 4", "column 'amount'")),
    ExportCase("amount_minus_inf", _orders_text("12000.00", "-inf"), ("row 4", "column 'amount'")),
    ExportCase("amount_infinity_word", _orders_text("12000.00", "Infinity"),
               ("row 4", "column 'amount'")),
    ExportCase("amount_1e400", _orders_text("12000.00", "1e400"), ("row 4", "column 'amount'")),
    ExportCase("refund_inf", _orders_text("500.00", "inf"), ("row 3", "column 'refund_amount'")),
    # documented acceptance: "nan" is an empty cell, and an order needs its amount
    ExportCase("amount_nan_is_an_empty_required_cell", _orders_text("12000.00", "nan"),
               ("row 4", "column 'amount'")),
    ExportCase("parquet_amount_inf", _parquet_orders([10.0, float("inf")]),
               ("row 3", "column 'amount'")),
    ExportCase("parquet_truncated", lambda folder: _truncate(
        _parquet_orders([10.0, 20.0])(folder)), ("readable Parquet",)),
    ExportCase("xlsx_sheet_xml_cut_in_half", _damaged_workbook(_broken_sheet_xml),
               ("[sheet orders]", "damaged")),
    ExportCase("xlsx_sheet_xml_garbage", _damaged_workbook(_garbage_sheet_xml),
               ("[sheet orders]", "damaged")),
    ExportCase("xlsx_corrupt_deflate_stream", _damaged_workbook(_corrupt_stream), ("damaged",)),
    ExportCase("xlsx_truncated", _damaged_workbook(lambda data: data[: len(data) // 2]),
               ("workbook",)),
    ExportCase("xlsx_without_workbook_xml", _damaged_workbook(_no_workbook_xml), ("workbook",)),
]


def _truncate(built: tuple[Path, str]) -> tuple[Path, str]:
    params, name = built
    path = params.parent / name
    path.write_bytes(path.read_bytes()[:40])
    return params, name


@pytest.mark.parametrize("case", EXPORT_CASES, ids=[c.name for c in EXPORT_CASES])
def test_malformed_exports_are_refused(case: ExportCase, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VALUATION_DEAL_KEY", TEST_KEY)
    params, name = case.build(tmp_path)
    before = _inputs(tmp_path)
    err = _run_refused(["ingest", str(params)], capsys)
    assert str(tmp_path / name) in err, err
    for fragment in case.fragments:
        assert fragment in err, err
    assert _inputs(tmp_path) == before


def test_at_least_60_malformed_input_cases():
    names = [c.name for c in PARAMS_CASES] + [c.name for c in EXPORT_CASES]
    assert len(set(names)) == len(names) >= 60


def test_a_few_cases_through_a_subprocess(tmp_path):
    """The installed entry point too: exit 2, no traceback (one params, one export case)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "VALUATION_DEAL_KEY": TEST_KEY,
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    for index, build in enumerate((
            lambda f: _write_params_case(f, PARAMS_CASES[0]),
            lambda f: EXPORT_CASES[0].build(f)[0])):
        folder = tmp_path / str(index)
        folder.mkdir()
        params = build(folder)
        done = subprocess.run([sys.executable, "-m", "valuation.cli", "ingest", str(params)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert str(params if index == 0 else folder / "orders.csv") in done.stderr
