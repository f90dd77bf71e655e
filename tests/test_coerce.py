"""Coercers: known answers for every supported style, and hypothesis round-trips.

Round-trip: format a number / date / yes-no value in each supported export style, parse
it back, and get the same value with no cell flagged bad.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuation.ingest.coerce import (
    EXCEL_EPOCH,
    is_blank,
    parse_bool,
    parse_dates,
    parse_integer,
    parse_money,
    parse_text,
)

FULL_WIDTH = str.maketrans("0123456789,.-", "０１２３４５６７８９，．－")


def _series(values) -> pd.Series:
    return pd.Series(list(values), dtype=object)


# ---------------------------------------------------------------------------------------
# known answers
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("¥1,200.00", 1200.0), ("1200元", 1200.0), ("1,200", 1200.0), ("￥ 1 200", 1200.0),
    ("１２００", 1200.0), ("-50", -50.0), ("¥-50", -50.0), ("-¥50", -50.0), ("(50)", -50.0),
    ("RMB 1200", 1200.0), ("1.2万", 12000.0), (" 12.5 ", 12.5), (1200, 1200.0),
    (12.5, 12.5), ("1,234,567.89", 1234567.89),
])
def test_money_known_answers(text, value):
    values, bad = parse_money(_series([text]))
    assert values.iloc[0] == pytest.approx(value) and not bad.iloc[0]


@pytest.mark.parametrize("text", ["abc", "1,2,3", "--50", "inf", "(-5)", "12¥00", "1 2",
                                  "¥", True, dt.date(2024, 1, 5)])
def test_money_rejects_non_amounts(text):
    values, bad = parse_money(_series([text]))
    assert bad.iloc[0] and pd.isna(values.iloc[0])


@pytest.mark.parametrize("blank", ["", "   ", None, np.nan, "NULL", "N/A"])
def test_blanks_are_missing_not_bad(blank):
    for parser in (parse_money, parse_dates, parse_bool, parse_integer):
        values, bad = parser(_series([blank]))
        assert pd.isna(values.iloc[0]) and not bad.iloc[0]
    assert is_blank(_series([blank])).iloc[0]


@pytest.mark.parametrize("cell, expected", [
    ("2024-01-05", "2024-01-05"), ("2024/1/5", "2024-01-05"), ("2024.1.5", "2024-01-05"),
    ("2024年1月5日", "2024-01-05"), ("２０２４年１月５日", "2024-01-05"),
    ("20240105", "2024-01-05"), (45296, "2024-01-05"), ("45296", "2024-01-05"),
    (45296.5, "2024-01-05 12:00:00"), (dt.datetime(2024, 1, 5, 13, 45), "2024-01-05 13:45"),
    (dt.date(2024, 1, 5), "2024-01-05"), ("2024-01-05 13:45:00", "2024-01-05 13:45"),
    ("2024-01-05T13:45:00+08:00", "2024-01-05 13:45"), ("2024-1-5 9:05", "2024-01-05 09:05"),
])
def test_date_known_answers(cell, expected):
    values, bad = parse_dates(_series([cell]))
    assert values.iloc[0] == pd.Timestamp(expected) and not bad.iloc[0]


@pytest.mark.parametrize("cell", ["2024-02-30", "2024-13-01", "05/01/2024", "someday", 1200,
                                  "24-1-5", True])
def test_dates_reject_impossible_or_ambiguous(cell):
    values, bad = parse_dates(_series([cell]))
    assert bad.iloc[0] and pd.isna(values.iloc[0])


def test_dates_already_typed_pass_through():
    typed = pd.Series(pd.to_datetime(["2024-01-05", None]))
    values, bad = parse_dates(typed)
    assert values.dtype == "datetime64[ns]" and not bad.any()
    aware = typed.dt.tz_localize("Asia/Shanghai")
    assert parse_dates(aware)[0].iloc[0] == pd.Timestamp("2024-01-05")


@pytest.mark.parametrize("cell, expected", [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("1", True), ("0", False),
    (1, True), (0, False), (True, True), ("true", True), ("FALSE", False),
    ("同意", True), ("不同意", False), ("已同意", True), ("未同意", False),
])
def test_bool_known_answers(cell, expected):
    values, bad = parse_bool(_series([cell]))
    assert values.iloc[0] == expected and not bad.iloc[0]


@pytest.mark.parametrize("cell", ["maybe", 2, "是的吧", dt.date(2024, 1, 1)])
def test_bool_rejects_other_values(cell):
    values, bad = parse_bool(_series([cell]))
    assert bad.iloc[0] and pd.isna(values.iloc[0])


def test_text_keeps_ids_as_written_and_drops_float_suffix():
    values, bad = parse_text(_series(["007", 10001, 10001.0, "  C1 ", "", None]))
    assert values.tolist()[:4] == ["007", "10001", "10001", "C1"]
    assert values.iloc[4:].isna().all() and not bad.any()
    assert str(values.dtype) == "string"


def test_integer_rejects_fractions():
    values, bad = parse_integer(_series(["3", "1.5", 2.0]))
    assert bad.tolist() == [False, True, False]
    assert values.iloc[0] == 3 and values.iloc[2] == 2


def test_results_keep_the_index_and_broadcast_repeated_values():
    series = pd.Series(["¥1,200.00", "x", "¥1,200.00", None], index=[10, 11, 12, 13])
    values, bad = parse_money(series)
    assert list(values.index) == [10, 11, 12, 13]
    assert values.tolist()[::2] == [1200.0, 1200.0]
    assert bad.tolist() == [False, True, False, False]


# ---------------------------------------------------------------------------------------
# hypothesis round-trips
# ---------------------------------------------------------------------------------------
cents = st.integers(min_value=-10**11, max_value=10**11)

MONEY_STYLES = {
    "plain": lambda x: f"{x:.2f}",
    "thousands": lambda x: f"{x:,.2f}",
    "yen": lambda x: f"¥{x:,.2f}",
    "yen_minus_inside": lambda x: ("¥-" if x < 0 else "¥") + f"{abs(x):,.2f}",
    "fullwidth_yen_spaces": lambda x: ("-" if x < 0 else "") + "￥ "
    + f"{abs(x):,.2f}".replace(",", " "),
    "yuan": lambda x: f"{x:.2f}元",
    "fullwidth_digits": lambda x: f"{x:,.2f}".translate(FULL_WIDTH),
    "accounting": lambda x: f"({abs(x):,.2f})" if x < 0 else f"{x:,.2f}",
    "number": lambda x: x,
}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(cents, min_size=1, max_size=20), st.sampled_from(sorted(MONEY_STYLES)))
def test_money_round_trip(amounts, style):
    numbers = [c / 100 for c in amounts]
    values, bad = parse_money(_series(MONEY_STYLES[style](x) for x in numbers))
    assert not bad.any()
    np.testing.assert_allclose(values.to_numpy(), numbers, rtol=0, atol=1e-6)


DATE_STYLES = {
    "iso": lambda d: d.strftime("%Y-%m-%d"),
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "dots": lambda d: f"{d.year}.{d.month}.{d.day}",
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "compact": lambda d: d.strftime("%Y%m%d"),
    "excel_serial": lambda d: (pd.Timestamp(d) - EXCEL_EPOCH).days,
    "excel_serial_text": lambda d: str((pd.Timestamp(d) - EXCEL_EPOCH).days),
    "datetime": lambda d: dt.datetime(d.year, d.month, d.day),
    "date": lambda d: d,
    "with_midnight": lambda d: d.strftime("%Y-%m-%d 00:00:00"),
}
dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2199, 12, 31))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(dates, min_size=1, max_size=20), st.sampled_from(sorted(DATE_STYLES)))
def test_date_round_trip(days, style):
    values, bad = parse_dates(_series(DATE_STYLES[style](d) for d in days))
    assert not bad.any()
    assert [v.date() for v in values] == days


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.datetimes(min_value=dt.datetime(1950, 1, 1),
                             max_value=dt.datetime(2199, 12, 31)).map(
    lambda d: d.replace(microsecond=0)), min_size=1, max_size=20))
def test_datetime_text_round_trip(stamps):
    values, bad = parse_dates(_series(d.strftime("%Y-%m-%d %H:%M:%S") for d in stamps))
    assert not bad.any()
    assert [v.to_pydatetime() for v in values] == stamps


BOOL_STYLES = {
    "chinese": {True: "是", False: "否"}, "consent": {True: "同意", False: "不同意"},
    "yn": {True: "Y", False: "N"}, "digits": {True: "1", False: "0"},
    "words": {True: "true", False: "false"}, "upper": {True: "TRUE", False: "FALSE"},
    "python": {True: True, False: False}, "ints": {True: 1, False: 0},
}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.booleans(), st.none()), min_size=1, max_size=20),
       st.sampled_from(sorted(BOOL_STYLES)))
def test_bool_round_trip(flags, style):
    cells = [None if f is None else BOOL_STYLES[style][f] for f in flags]
    values, bad = parse_bool(_series(cells))
    assert not bad.any()
    assert [None if pd.isna(v) else bool(v) for v in values] == flags


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.text(max_size=12))
def test_any_text_is_parsed_or_flagged_never_both_never_crash(text):
    for parser in (parse_money, parse_dates, parse_bool):
        values, bad = parser(_series([text]))
        assert not (bad.iloc[0] and pd.notna(values.iloc[0]))
