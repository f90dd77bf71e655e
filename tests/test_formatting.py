"""One formatting module for both languages: money, dates, shares, known answers."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from valuation.report import formatting as F


@pytest.mark.parametrize("value, en, zh", [
    (3_182_438, "¥3.18m", "¥318.2万"),
    (750_000, "¥750k", "¥75万"),
    (120_000_000, "¥120.00m", "¥1.2亿"),
    (125_400_000, "¥125.40m", "¥1.25亿"),
    (9_999_999, "¥10.00m", "¥1,000万"),
    (99_999_000, "¥100.00m", "¥1亿"),
    (8_500, "¥8,500", "¥8,500"),
    (-17_879, "−¥18k", "−¥1.8万"),
    (0, "¥0", "¥0"),
])
def test_money_in_text(value, en, zh):
    assert F.format_money(value, "en") == en
    assert F.format_money(value, "zh") == zh


@pytest.mark.parametrize("value", [None, float("nan"), math.inf, "abc"])
def test_missing_money_is_written_as_missing(value):
    assert F.format_money(value, "en") == "n/a"
    assert F.format_money(value, "zh") == "无"


def test_money_in_tables_keeps_precision():
    assert F.format_money_table(3_182_438, "en") == "¥3,182,438"
    assert F.format_money_table(3_182_438, "zh") == "¥318.24万"
    assert F.format_money_table(150_000_000, "zh") == "¥15,000.00万"
    assert F.format_money_table(-8_500.4, "zh") == "−¥8,500"
    assert F.format_money_table(None, "zh") == "–"


def test_money_axis_ticks():
    zh = [F.format_money_axis(v, "zh") for v in (0, 5_000, 500_000, 1_600_000, 250_000_000)]
    assert zh == ["0", "5,000", "50万", "160万", "2.5亿"]
    en = [F.format_money_axis(v, "en") for v in (0, 5_000, 750_000, 1_600_000)]
    assert en == ["0", "5,000", "750k", "1.6m"]
    formatter = F.money_formatter("zh")
    assert formatter(3_000_000, 0) == "300万"


def test_dates_and_timestamps():
    for value in (dt.date(2025, 6, 30), "2025-06-30", pd.Timestamp("2025-06-30"),
                  dt.datetime(2025, 6, 30, 12)):
        assert F.format_date(value, "zh") == "2025年6月30日"
        assert F.format_date(value, "en") == "2025-06-30"
    assert F.format_date(None, "zh") == "无"
    assert F.format_timestamp("2026-12-03T20:01:12Z", "zh") == "2026年12月4日 04:01（北京时间）"
    assert F.format_timestamp("2026-12-03T20:01:12Z", "en") == "2026-12-03 20:01 UTC"


def test_shares_counts_and_numbers_never_use_scientific_notation():
    assert F.format_share(0.1234, "zh") == "12.3%"
    assert F.format_count(1_828_533.4, "en") == "1,828,533"
    assert F.format_number(1_828_533.456, "en") == "1,828,533.46"
    assert "e+" not in F.format_number(1.828533e+06, "zh")


def test_unknown_language_is_a_clear_error():
    from valuation.errors import ReportError

    with pytest.raises(ReportError, match="unknown language"):
        F.format_money(1.0, "fr")
