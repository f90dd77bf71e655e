"""How numbers, money and dates are written, in both languages: one module for the text,
the tables and the figure axes of every brief, notebook and portfolio.

========== ======================== ============================
what       English                  Chinese
========== ======================== ============================
money      ``¥3.18m``, ``¥750k``    ``¥318.2万``, ``¥1.2亿``
table      ``¥3,182,438``           ``¥318.24万``
axis       ``3.2m``, ``750k``       ``318万``, ``1.2亿``
date       ``2025-06-30``           ``2025年6月30日``
share      ``12.3%``                ``12.3%``
count      ``1,234``                ``1,234``
========== ======================== ============================

Chinese amounts use the units a Chinese deal team reads (万 = 10^4, 亿 = 10^8); tables keep
two decimals of 万 so a column of amounts compares at a glance and the steps of the value
bridge still add up to the displayed total within rounding. Negative amounts carry a true
minus sign (U+2212). A missing value (``None``, NaN, infinite) is written as ``n/a`` / ``无``.

Examples
--------
>>> format_money(3_182_438, "en"), format_money(3_182_438, "zh")
('¥3.18m', '¥318.2万')
>>> format_money(120_000_000, "zh"), format_money(-750_000, "en")
('¥1.2亿', '−¥750k')
>>> format_date("2025-06-30", "zh")
'2025年6月30日'
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

LANGS: tuple[str, ...] = ("en", "zh")

MINUS = "−"
"""U+2212, the minus sign of typeset numbers."""

MISSING: dict[str, str] = {"en": "n/a", "zh": "无"}

WAN, YI = 1e4, 1e8


def _check(lang: str) -> str:
    if lang not in LANGS:
        from valuation.errors import ReportError

        raise ReportError(f"unknown language {lang!r}; use one of: {', '.join(LANGS)}")
    return lang


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (missing, NaN, infinite, not a number)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _trim(text: str) -> str:
    """``1.20`` -> ``1.2``, ``318.0`` -> ``318`` (keeps the thousands separators)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def missing(lang: str) -> str:
    """How a missing value is written."""
    return MISSING[_check(lang)]


def format_money(value: Any, lang: str) -> str:
    """Money in running text: ``¥3.18m`` / ``¥750k`` in English, ``¥318.2万`` / ``¥1.2亿``
    in Chinese."""
    number = finite_number(value)
    if number is None:
        return missing(lang)
    sign, size = (MINUS if number < 0 else ""), abs(number)
    if _check(lang) == "zh":
        if round(size / YI, 2) >= 1:
            body = _trim(f"{size / YI:,.2f}") + "亿"
        elif round(size / WAN, 1) >= 1:
            body = _trim(f"{size / WAN:,.1f}") + "万"
        else:
            body = f"{size:,.0f}"
        return f"{sign}¥{body}"
    if size >= 1e6:
        body = f"{size / 1e6:,.2f}m"
    elif size >= 1e4:
        body = f"{size / 1e3:,.0f}k"
    else:
        body = f"{size:,.0f}"
    return f"{sign}¥{body}"


def format_money_table(value: Any, lang: str) -> str:
    """Money in a table: whole yuan in English (``¥3,182,438``); in Chinese two decimals of
    万 from ¥10,000 on (``¥318.24万``), whole yuan below."""
    number = finite_number(value)
    if number is None:
        return "–"
    sign, size = (MINUS if number < 0 else ""), abs(number)
    if _check(lang) == "zh" and size >= WAN:
        return f"{sign}¥{size / WAN:,.2f}万"
    return f"{sign}¥{size:,.0f}"


def format_money_axis(value: Any, lang: str) -> str:
    """A tick label of a money axis (the axis title names the currency): ``3.2m`` /
    ``750k`` in English, ``318万`` / ``1.2亿`` in Chinese."""
    number = finite_number(value)
    if number is None:
        return ""
    sign, size = (MINUS if number < 0 else ""), abs(number)
    if size == 0:
        return "0"
    if _check(lang) == "zh":
        if size >= YI:
            return sign + _trim(f"{size / YI:,.2f}") + "亿"
        if size >= WAN:
            return sign + _trim(f"{size / WAN:,.1f}") + "万"
        return sign + f"{size:,.0f}"
    if size >= 1e6:
        return sign + _trim(f"{size / 1e6:,.2f}") + "m"
    if size >= 1e4:
        return sign + f"{size / 1e3:,.0f}k"
    return sign + f"{size:,.0f}"


def money_formatter(lang: str):
    """A matplotlib ``FuncFormatter`` writing money ticks with :func:`format_money_axis`."""
    from matplotlib.ticker import FuncFormatter

    _check(lang)
    return FuncFormatter(lambda value, _pos: format_money_axis(value, lang))


def format_share(value: Any, lang: str, decimals: int = 1) -> str:
    """A share 0..1 as a percentage: ``12.3%``."""
    number = finite_number(value)
    if number is None:
        return missing(lang)
    return f"{100 * number:.{decimals}f}%"


def format_count(value: Any, lang: str) -> str:
    """A count (or any whole number) with thousands separators: ``1,234``."""
    number = finite_number(value)
    if number is None:
        return missing(lang)
    return f"{number:,.0f}"


def format_number(value: Any, lang: str, decimals: int = 2) -> str:
    """A plain number with thousands separators and ``decimals`` places (never ``1e+06``)."""
    number = finite_number(value)
    if number is None:
        return missing(lang)
    return f"{number:,.{decimals}f}"


def to_date(value: Any) -> dt.date | None:
    """A date from a ``date``, ``datetime``, pandas ``Timestamp`` or ISO string."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def format_date(value: Any, lang: str) -> str:
    """A date: ISO ``2025-06-30`` in English (unambiguous across readers), ``2025年6月30日``
    in Chinese."""
    day = to_date(value)
    if day is None:
        return missing(lang)
    if _check(lang) == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


def format_timestamp(value: Any, lang: str) -> str:
    """A UTC timestamp (ISO text, ``Z`` suffix allowed): ``2026-12-03 20:01 UTC`` in
    English; in Beijing time ``2026年12月4日 04:01（北京时间）`` in Chinese."""
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    if _check(lang) == "zh":
        local = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
        return f"{format_date(local.date(), 'zh')} {local:%H:%M}（北京时间）"
    return f"{moment.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
