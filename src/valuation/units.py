"""Time units and discounting: the one place where days, weeks, months and years convert.

A year is 365.25 days (the Julian year, leap days averaged), so a week is 7/365.25 of a year
and there are 365.25 / 7 = 52.18 weeks in a year, 12 months of 30.44 days. Every module that
turns model time (days, weeks or months, ``params.time_unit``) into years, or an annual
discount rate into a per-period one, uses these constants and functions (no literal 52 or
365 elsewhere).

Discounting: an effective annual rate ``i`` discounts a cash flow ``t`` years ahead by
``(1 + i) ** -t``, the same as continuous discounting at the force of interest
``delta = ln(1 + i)`` a year, ``delta / periods_per_year`` a period. Periodic discounting
(a flow at the end of whole periods, ``(1 + d) ** -k`` with ``d = (1 + i) ** (1/m) - 1`` per
period) gives the same factor at the period ends; :func:`periodic_rate` converts.
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.25
"""Days in a year (Julian year)."""
DAYS_PER_WEEK = 7.0
WEEKS_PER_YEAR = DAYS_PER_YEAR / DAYS_PER_WEEK
"""52.1786 weeks a year."""
MONTHS_PER_YEAR = 12.0
DAYS_PER_MONTH = DAYS_PER_YEAR / MONTHS_PER_YEAR

DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": DAYS_PER_WEEK, "M": DAYS_PER_MONTH}
"""Length of one model time unit (``params.time_unit``) in days."""
PERIODS_PER_YEAR: dict[str, float] = {unit: DAYS_PER_YEAR / days
                                      for unit, days in DAYS_PER_UNIT.items()}
"""Model time units in a year: days 365.25, weeks 52.18, months 12."""


def periods_per_year(time_unit: str) -> float:
    """Model time units in a year for ``time_unit`` in {"D", "W", "M"}.

    Raises
    ------
    ValueError
        Unknown unit (the message lists the known ones).
    """
    try:
        return PERIODS_PER_YEAR[time_unit]
    except KeyError:
        raise ValueError(
            f"time_unit must be one of {sorted(PERIODS_PER_YEAR)}, got {time_unit!r}.") from None


def years(days: object) -> np.ndarray:
    """Days as years (365.25 days a year)."""
    return np.asarray(days, float) / DAYS_PER_YEAR


def force_of_interest(annual_rate: float) -> float:
    """Continuous rate ``ln(1 + i)`` a year for an effective annual rate ``i``."""
    return float(np.log1p(annual_rate))


def periodic_rate(annual_rate: float, periods: float) -> float:
    """Effective rate per period, ``(1 + i) ** (1 / periods) - 1`` (e.g. per opportunity)."""
    return float(np.expm1(np.log1p(annual_rate) / periods))


def discount_factors(times_years: object, annual_rate: float) -> np.ndarray:
    """``(1 + i) ** -t`` for times in years (continuous and periodic discounting agree at
    the times given)."""
    return np.exp(-np.asarray(times_years, float) * np.log1p(annual_rate))


def midpoint_discount(edges_years: object, annual_rate: float) -> np.ndarray:
    """Discount factor of each grid interval, at its middle (the valuation grid's convention)."""
    edges = np.asarray(edges_years, float)
    return discount_factors((edges[:-1] + edges[1:]) / 2, annual_rate)
