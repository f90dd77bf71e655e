"""Coercers: turn messy exported cells into typed values, vectorised over a Series.

Every coercer takes a :class:`pandas.Series` of any dtype (strings from a CSV, mixed Python
objects from a workbook, already-typed Parquet columns) and returns ``(values, bad_mask)``:

* ``values`` has the canonical dtype and the input's index; unparseable cells are missing;
* ``bad_mask`` is a boolean Series, ``True`` where a non-blank cell could not be parsed.

Blank cells (empty or whitespace-only text, ``None``, ``NaN``, "null", "N/A") are missing
values, never bad. Work is done once per *distinct* value (``pandas.factorize``) and then
broadcast back, so a column of 10^7 dates with a few thousand distinct values costs a few
thousand parses; the parses themselves are vectorised string operations.

Examples
--------
>>> import pandas as pd
>>> values, bad = parse_money(pd.Series(["¥1,200.00", "1200元", "abc", ""]))
>>> values.tolist()[:2], bad.tolist()
([1200.0, 1200.0], [False, False, True, False])
"""

from __future__ import annotations

import datetime as dt
import numbers
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BLANK_TOKENS: frozenset[str] = frozenset({"", "null", "none", "nan", "nat", "n/a", "#n/a"})
"""Text that means "no value" (compared after stripping and lower-casing)."""
_BLANK_ARROW = pa.array(sorted(BLANK_TOKENS), type=pa.string())

TRUE_TOKENS: frozenset[str] = frozenset(
    {"true", "t", "yes", "y", "1", "是", "同意", "已同意", "√", "✓"}
)
FALSE_TOKENS: frozenset[str] = frozenset(
    {"false", "f", "no", "n", "0", "否", "不同意", "未同意", "×", "✗"}
)

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_RANGE: tuple[int, int] = (18264, 109574)
"""Excel serial day numbers accepted as dates: 1950-01-01 .. 2199-12-31.

Smaller numbers in a date column are far more likely a wrong column than a date in 1903,
so they are reported instead of silently turned into a date.
"""

MONEY_EXPECTED = 'an amount in CNY such as 1200, 1,200.00, "¥1,200.00", "1200元" or "-50"'
DATE_EXPECTED = (
    "a date such as 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, "
    "2024-01-05 13:45:00 or an Excel date"
)
BOOL_EXPECTED = "yes/no: 是/否, 同意/不同意, Y/N, 1/0 or true/false"
INTEGER_EXPECTED = "a whole number such as 1, 2 or 3"
NUMBER_EXPECTED = "a number such as 4 or 4.5"

_MONEY_PATTERN = (
    r"^(?P<sign1>[+-])?\s*(?P<cur>¥|rmb|cny)?\s*(?P<sign2>[+-])?\s*"
    r"(?P<num>\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)\s*"
    r"(?P<wan>万)?\s*(?P<unit>元|rmb|cny)?$"
)
_ACCOUNTING_NEGATIVE = r"^\((?P<inner>[^()]*)\)$"
_TZ_SUFFIX = r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:z|utc|[+-]\d{2}:?\d{2})$"

Parser = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# ---------------------------------------------------------------------------------------
# Shared machinery
# ---------------------------------------------------------------------------------------
def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool | np.bool_)


def _normalise_text(text: pd.Series) -> pd.Series:
    """NFKC (full-width digits and punctuation to ASCII), unicode minus to '-', strip, lower."""
    return (
        text.str.normalize("NFKC")
        .str.replace("\u2212", "-", regex=False)
        .str.strip()
        .str.lower()
    )


def _by_distinct(
    series: pd.Series, parse: Parser, fill: object, dtype: str
) -> tuple[pd.Series, pd.Series]:
    """Parse each distinct non-missing value once and broadcast the result.

    ``parse`` takes an object array of distinct values and returns ``(parsed, bad)``
    arrays of the same length; ``parsed`` uses ``fill`` for missing/bad values.
    """
    series = pd.Series(series)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    parsed, bad = parse(distinct)
    extension = dtype in ("boolean", "string")
    parsed = np.append(np.asarray(parsed, dtype=object if extension else None), fill)
    bad = np.append(np.asarray(bad, dtype=bool), False)
    take = np.where(codes < 0, len(distinct), codes)
    if extension:
        values = pd.array(parsed[take], dtype=dtype)
    else:
        values = parsed[take].astype(dtype)
    return (
        pd.Series(values, index=series.index, name=series.name),
        pd.Series(bad[take], index=series.index, name=series.name),
    )


def _split_kinds(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks of the distinct values that are numbers, text and anything else."""
    is_number = np.fromiter((_is_number(v) for v in distinct), bool, len(distinct))
    is_text = np.fromiter((isinstance(v, str) for v in distinct), bool, len(distinct))
    return is_number, is_text, ~(is_number | is_text)


# ---------------------------------------------------------------------------------------
# Money and numbers
# ---------------------------------------------------------------------------------------
def _parse_money_distinct(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(len(distinct), np.nan)
    bad = np.zeros(len(distinct), bool)
    is_number, is_text, other = _split_kinds(distinct)
    if is_number.any():
        nums = distinct[is_number].astype(float)
        finite = np.isfinite(nums)
        out[is_number] = np.where(finite, nums, np.nan)
        bad[is_number] = ~finite & ~np.isnan(nums)
    bad |= other & ~pd.isna(distinct)
    if is_text.any():
        raw = pd.Series(distinct[is_text], dtype=object)
        text = _normalise_text(raw)
        blank = text.isin(BLANK_TOKENS).to_numpy()
        # quick path: plain numbers ("1200", "-50", "12.5")
        quick = pd.to_numeric(text.where(text.str.fullmatch(r"[+-]?\d+(?:\.\d+)?")),
                              errors="coerce").to_numpy(float)
        todo = np.isnan(quick) & ~blank
        values = quick
        if todo.any():
            rest = text[todo]
            accounting = rest.str.extract(_ACCOUNTING_NEGATIVE)["inner"]
            negative = accounting.notna().to_numpy()
            rest = rest.where(~negative, accounting.str.strip())
            parts = rest.str.extract(_MONEY_PATTERN)
            two_signs = parts["sign1"].notna() & parts["sign2"].notna()
            number = pd.to_numeric(parts["num"].str.replace(r"[, ]", "", regex=True),
                                   errors="coerce").to_numpy(float)
            number = np.where(parts["wan"].notna(), number * 10_000, number)
            minus = ((parts["sign1"] == "-").to_numpy() ^ (parts["sign2"] == "-").to_numpy()
                     ^ negative)
            signed_twice = two_signs.to_numpy() | (
                negative & (parts["sign1"].notna() | parts["sign2"].notna()).to_numpy())
            number = np.where(signed_twice, np.nan, np.where(minus, -number, number))
            values = values.copy()
            values[todo] = number
        text_bad = np.isnan(values) & ~blank
        out[is_text] = values
        bad[is_text] = text_bad
    return out, bad


def parse_money(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse amounts of money in CNY.

    Accepts numbers, "1200", "1,200", "1,200.00", "¥1,200.00", "￥ 1 200", "1200元",
    "RMB 1200", "1.2万", full-width digits ("１２００"), "-50", "¥-50", "-¥50" and the
    accounting negative "(50)". Blank cells are missing, not bad.

    Parameters
    ----------
    series : pandas.Series
        Cells of any dtype.

    Returns
    -------
    values : pandas.Series of float64
        The amounts; NaN where blank or bad.
    bad_mask : pandas.Series of bool
        True where a non-blank cell is not an amount.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = pd.Series(series, dtype="float64")
        bad = pd.Series(np.isinf(values.to_numpy()), index=series.index, name=series.name)
        return values.where(~bad), bad
    return _by_distinct(series, _parse_money_distinct, np.nan, "float64")


def parse_number(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse plain numbers (scores, counts) with the same tolerance as :func:`parse_money`.

    Returns
    -------
    values : pandas.Series of float64
    bad_mask : pandas.Series of bool
    """
    return parse_money(series)


def parse_integer(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse whole numbers; a fractional value ("1.5") is bad.

    Returns
    -------
    values : pandas.Series of Int64 (nullable)
    bad_mask : pandas.Series of bool
    """
    values, bad = parse_number(series)
    fractional = values.notna() & (values != np.floor(values.fillna(0)))
    bad = bad | fractional
    return values.where(~bad).astype("Int64"), bad


# ---------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------
def _dates_from_numbers(nums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Excel serial day numbers, or yyyymmdd written as a number."""
    out = np.full(len(nums), np.datetime64("NaT"), dtype="datetime64[ns]")
    lo, hi = EXCEL_SERIAL_RANGE
    serial = (nums >= lo) & (nums <= hi + 1)
    if serial.any():
        out[serial] = (EXCEL_EPOCH + pd.to_timedelta(nums[serial], unit="D")).round("s")
    yyyymmdd = (nums >= 19000101) & (nums <= 22001231) & (nums == np.floor(nums))
    if yyyymmdd.any():
        out[yyyymmdd] = pd.to_datetime(
            pd.Series(nums[yyyymmdd].astype(np.int64).astype(str)),
            format="%Y%m%d", errors="coerce").to_numpy()
    return out, np.isnat(out)


def _dates_from_text(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse date text; return (values, bad, blank)."""
    text = _normalise_text(raw)
    blank = text.isin(BLANK_TOKENS).to_numpy()
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    # Excel serials or yyyymmdd written as text ("45296", "20240105")
    numeric = text.str.fullmatch(r"\d{5,6}(?:\.\d+)?|\d{8}").fillna(False).to_numpy()
    if numeric.any():
        nums = pd.to_numeric(text[numeric]).to_numpy(float)
        out[numeric], _ = _dates_from_numbers(nums)
    rest = ~numeric & ~blank
    if rest.any():
        cleaned = (
            text[rest]
            .str.replace(r"^(\d{4})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})(?:\s*[日号])?",
                         r"\1-\2-\3", regex=True)
            .str.replace(_TZ_SUFFIX, r"\1", regex=True)
            .str.replace(r"(?<=\d)\s*t\s*(?=\d{1,2}:)", " ", regex=True)
            .str.replace(r"\s+", " ", regex=True)
            .str.strip()
        )
        shaped = cleaned.str.fullmatch(
            r"\d{4}-\d{1,2}-\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
        ).fillna(False)
        parsed = pd.to_datetime(cleaned.where(shaped), format="ISO8601", errors="coerce")
        out[rest] = parsed.to_numpy(dtype="datetime64[ns]")
    return out, np.isnat(out) & ~blank, blank


def _parse_dates_distinct(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(len(distinct), np.datetime64("NaT"), dtype="datetime64[ns]")
    bad = np.zeros(len(distinct), bool)
    is_number, is_text, other = _split_kinds(distinct)
    if is_number.any():
        out[is_number], bad[is_number] = _dates_from_numbers(distinct[is_number].astype(float))
    if is_text.any():
        values, text_bad, _ = _dates_from_text(pd.Series(distinct[is_text], dtype=object))
        out[is_text], bad[is_text] = values, text_bad
    for i in np.flatnonzero(other):
        value = distinct[i]
        if isinstance(value, dt.datetime | dt.date | pd.Timestamp | np.datetime64):
            stamp = pd.Timestamp(value)
            if stamp.tzinfo is not None:
                stamp = stamp.tz_localize(None)
            out[i] = stamp.to_datetime64()
        elif not pd.isna(value):
            bad[i] = True
    return out, bad


def parse_dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse calendar dates (and date-times) written in the ways exports write them.

    Accepts "2024-01-05", "2024/1/5", "2024.1.5", "2024年1月5日", "20240105",
    "2024-01-05 13:45:00", ISO "2024-01-05T13:45:00+08:00" (the wall-clock time is kept,
    the offset dropped), Excel serial numbers (45296; see :data:`EXCEL_SERIAL_RANGE`) as
    numbers or text, and real ``datetime``/``date`` objects (openpyxl). Impossible dates
    (2024-02-30) and anything else are bad. Blank cells are missing, not bad.

    Parameters
    ----------
    series : pandas.Series
        Cells of any dtype.

    Returns
    -------
    values : pandas.Series of datetime64[ns]
        NaT where blank or bad.
    bad_mask : pandas.Series of bool
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        values = pd.Series(series)
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)
        values = values.astype("datetime64[ns]")
        return values, pd.Series(False, index=series.index, name=series.name)
    return _by_distinct(series, _parse_dates_distinct, np.datetime64("NaT"), "datetime64[ns]")


# ---------------------------------------------------------------------------------------
# Booleans and text
# ---------------------------------------------------------------------------------------
def _parse_bool_distinct(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(len(distinct), None, dtype=object)
    bad = np.zeros(len(distinct), bool)
    for i, value in enumerate(distinct):
        if isinstance(value, bool | np.bool_):
            out[i] = bool(value)
        elif _is_number(value) and value in (0, 1):
            out[i] = bool(value)
        elif isinstance(value, str):
            key = unicodedata.normalize("NFKC", value).strip().lower()
            if key in TRUE_TOKENS:
                out[i] = True
            elif key in FALSE_TOKENS:
                out[i] = False
            elif key not in BLANK_TOKENS:
                bad[i] = True
        elif not pd.isna(value):
            bad[i] = True
    return out, bad


def parse_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse yes/no cells: 是/否, 同意/不同意, 已同意/未同意, Y/N, yes/no, 1/0, true/false, √/×.

    The distinct values of a yes/no column are a handful, so they are looked up one by one.

    Returns
    -------
    values : pandas.Series of boolean (nullable)
    bad_mask : pandas.Series of bool
    """
    if pd.api.types.is_bool_dtype(series):
        values = pd.Series(series).astype("boolean")
        return values, pd.Series(False, index=series.index, name=series.name)
    return _by_distinct(series, _parse_bool_distinct, None, "boolean")


def _text_distinct(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(len(distinct), None, dtype=object)
    is_number, is_text, other = _split_kinds(distinct)
    if is_text.any():
        text = pd.Series(distinct[is_text], dtype=object).str.strip()
        out[is_text] = text.where(~text.str.lower().isin(BLANK_TOKENS), None).to_numpy()
    for i in np.flatnonzero(is_number | other):
        value = distinct[i]
        if _is_number(value) and float(value).is_integer():
            out[i] = str(int(value))  # Excel stores 10001 as 10001.0
        elif isinstance(value, dt.datetime | pd.Timestamp):
            out[i] = pd.Timestamp(value).isoformat(sep=" ")
        elif not pd.isna(value):
            out[i] = str(value)
    return out, np.zeros(len(distinct), bool)


def _arrow_strings(series: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow array behind a pyarrow-backed string Series, else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa.chunked_array(series.array.__arrow_array__())
    return None


def _arrow_blank(arrow: pa.ChunkedArray) -> pa.ChunkedArray:
    trimmed = pc.utf8_lower(pc.utf8_trim_whitespace(arrow))
    return pc.or_kleene(pc.is_null(arrow), pc.is_in(trimmed, value_set=_BLANK_ARROW))


def parse_text(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean text cells: strip spaces, blank to missing, whole numbers without ".0".

    Never bad (any cell can be text); returns a pyarrow-backed ``string`` Series and an
    all-False mask.
    """
    series = pd.Series(series)
    no_bad = pd.Series(False, index=series.index, name=series.name)
    arrow = _arrow_strings(series)
    if arrow is None and pd.api.types.is_string_dtype(series) and not (
            pd.api.types.is_object_dtype(series)):
        arrow = _arrow_strings(series.astype(pd.StringDtype("pyarrow")))
    if arrow is not None:
        blank = _arrow_blank(arrow)
        trimmed = pc.utf8_trim_whitespace(arrow)
        if (pc.sum(pc.and_(blank, pc.is_valid(arrow))).as_py() or 0) == 0 and pc.all(
                pc.equal(trimmed, arrow)).as_py() is not False:
            cleaned = arrow  # already clean (the usual case): share the buffers, no copy
        else:
            cleaned = pc.if_else(blank, pa.scalar(None, pa.string()), trimmed)
        del blank, trimmed
        values = pd.Series(pd.arrays.ArrowStringArray(cleaned), index=series.index,
                           name=series.name)
        return values, no_bad
    values, bad = _by_distinct(series, _text_distinct, None, "string")
    return values.astype(pd.StringDtype("pyarrow")), bad


def is_blank(series: pd.Series) -> pd.Series:
    """True where a cell is missing or blank text (see :data:`BLANK_TOKENS`)."""
    series = pd.Series(series)
    arrow = _arrow_strings(series)
    if arrow is not None:
        return pd.Series(_arrow_blank(arrow).to_numpy(zero_copy_only=False), index=series.index)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    blank = np.fromiter(
        (isinstance(v, str) and v.strip().lower() in BLANK_TOKENS for v in distinct),
        bool, len(distinct))
    blank = np.append(blank, True)
    return pd.Series(blank[np.where(codes < 0, len(distinct), codes)], index=series.index)
