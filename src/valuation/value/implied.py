"""What you must believe: the single assumption that makes the value equal a price.

For the counterparty's price, each lever is solved alone (the others at the base case) with
Brent's method (:func:`scipy.optimize.brentq`) on the what-if engine
(:class:`~valuation.value.whatif.Revaluer`), and shown beside what the data say:

================  ==========================================  ==============================
lever             searched over                               what the data say
================  ==========================================  ==============================
retention_12m     12-month retention of the customers, 1-99%  the Kaplan-Meier 12-month
                  (hazard scaled over the whole horizon)      retention of the data
gross_margin      1% to 100%                                  the params' margin
horizon_years     first grid edge to the longest horizon      the params' horizon
                  of the fit
acquisitions_     0 to 20x the new customers of the last      new customers in the 12 months
per_year          12 months (at least 1,000)                  to ``as_of``
================  ==========================================  ==============================

The value compared with the price is that of the transferable base plus future acquisitions
when they are on (the acquisitions lever always adds them, at zero acquisition cost when
params give none). When the price is not reached anywhere in the searched range the answer
is ``not_reachable`` with the values at both ends.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import brentq

LEVERS: tuple[str, ...] = ("retention_12m", "gross_margin", "horizon_years",
                           "acquisitions_per_year")

RETENTION_BOUNDS: tuple[float, float] = (0.01, 0.99)
MARGIN_BOUNDS: tuple[float, float] = (0.01, 1.0)


def _solve(fun, low: float, high: float) -> tuple[str, float | None, float, float]:
    f_low, f_high = fun(low), fun(high)
    if not (math.isfinite(f_low) and math.isfinite(f_high)):
        return "not_reachable", None, f_low, f_high
    if f_low == 0:
        return "solved", low, f_low, f_high
    if f_high == 0:
        return "solved", high, f_low, f_high
    if np.sign(f_low) == np.sign(f_high):
        return "not_reachable", None, f_low, f_high
    root = brentq(fun, low, high, xtol=1e-6 * max(abs(low), abs(high), 1.0), maxiter=200)
    return "solved", float(root), f_low, f_high


def implied_assumptions(revaluer, price: float | None, *,
                        new_customers_12m: float | None = None) -> pd.DataFrame:
    """Solve each lever for ``price``.

    Parameters
    ----------
    revaluer : Revaluer
    price : float or None
        The counterparty's price (no price: an empty table).
    new_customers_12m : float, optional
        New customers of the last 12 months in the data (the acquisitions lever's "data").

    Returns
    -------
    DataFrame indexed by lever with ``data`` (what the data / params say), ``implied`` (NaN
    when not reachable), ``low``, ``high`` (the searched range), ``status`` (``solved``,
    ``not_reachable``, ``not_applicable``), ``value_at_low``, ``value_at_high``, ``unit``,
    ``note`` (e.g. the acquisition cost the acquisitions lever assumed).
    """
    columns = ["data", "implied", "low", "high", "status", "value_at_low", "value_at_high",
               "unit", "note"]
    if price is None:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="lever"))
    a = revaluer.assumptions
    with_acq = revaluer.acquisitions is not None
    rows = {}

    def total(**kw) -> float:
        result = revaluer.revalue(**kw)
        return result.with_acquisitions if with_acq or "acquisitions_per_year" in kw \
            else result.transferable

    s12 = revaluer.retention_12m()["observed"]
    if 0 < s12 < 1:
        def by_retention(r: float) -> float:
            return total(retention_scale=math.log(r) / math.log(s12)) - price
        rows["retention_12m"] = (s12, *RETENTION_BOUNDS, by_retention, "share")
    else:
        rows["retention_12m"] = (s12, *RETENTION_BOUNDS, None, "share")
    rows["gross_margin"] = (a.gross_margin, *MARGIN_BOUNDS,
                            lambda m: total(gross_margin=m) - price, "share")
    edges = revaluer.base.edges_
    rows["horizon_years"] = (a.horizon_years, float(edges[1]), float(edges[-1]),
                             lambda h: total(horizon_years=h) - price, "years")
    observed = float(new_customers_12m) if new_customers_12m is not None else float("nan")
    current = revaluer.acquisitions.customers_per_year if with_acq else 0.0
    top = max(20 * (observed if math.isfinite(observed) else 0.0), 20 * current, 1000.0)
    rows["acquisitions_per_year"] = (observed, 0.0, top,
                                     lambda n: total(acquisitions_per_year=n) - price,
                                     "customers")
    cost = revaluer.acquisitions.cost_per_customer if with_acq else 0.0
    notes = {"acquisitions_per_year": f"new customers a year for "
                                      f"{revaluer.acquisitions.years if with_acq else 5:g} "
                                      f"years at {cost:,.0f} CNY acquisition cost each"
                                      + ("" if with_acq else " (params give none)"),
             "retention_12m": "churn hazard scaled over the whole horizon"}
    out = []
    for lever, (data, low, high, fun, unit) in rows.items():
        if fun is None:
            out.append({"lever": lever, "data": data, "implied": np.nan, "low": low,
                        "high": high, "status": "not_applicable", "value_at_low": np.nan,
                        "value_at_high": np.nan, "unit": unit, "note": notes.get(lever, "")})
            continue
        status, root, f_low, f_high = _solve(fun, low, high)
        out.append({"lever": lever, "data": data,
                    "implied": root if root is not None else np.nan, "low": low,
                    "high": high, "status": status, "value_at_low": f_low + price,
                    "value_at_high": f_high + price, "unit": unit,
                    "note": notes.get(lever, "")})
    return pd.DataFrame(out, columns=["lever", *columns]).set_index("lever")
