"""The term sheet of the brief, the forecast curve and the month-by-month comparison.

The term sheet is ``negotiation.earn_out_term_sheet`` of the brief's ``results.json``
(:mod:`valuation.value.earnout`): the metric's window and measurement date are read from its
terms (``definition``, ``measurement_date``) and, when the brief proposed no earn-out (no
terms), from the params (``churn.inactivity_days``; ``max(12, change_of_owner.hazard_months)``
months), as the brief itself sets them. The forecast is the term sheet's ``forecast`` (the
expected retained count with P10 / P50 / P90 per month); a results.json written before it
existed gets a binomial band around ``expected_retained`` interpolated at a constant monthly
hazard (flagged ``band: binomial_only``).

A month counts as **observed** when its date is on or before the last event in the buyer's
exports (the export's cut-off is not recorded anywhere else); later months are shown as not
yet observed, and the payout stays *provisional* (computed on the last observed month) until
the measurement date is observed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from valuation.errors import ReportError
from valuation.monitor.metric import events, month_dates, payout, retained_by_month, roster_ids


@dataclass
class TermSheetView:
    """What the monitor needs of the brief's term sheet."""

    status: str
    eligible: int
    expected_retained: float
    window_days: int
    months: int
    terms: dict = field(default_factory=dict)
    forecast: list = field(default_factory=list)
    band: str = "combined_draws"


def _sheet_block(results: dict) -> dict:
    for path in (("negotiation",), ("valuation", "negotiation")):
        node: Any = results
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("earn_out_term_sheet"), dict):
            return node["earn_out_term_sheet"]
    raise ReportError("results.json holds no earn-out term sheet (negotiation."
                      "earn_out_term_sheet); re-run `valuation brief` with this version")


def term_sheet(results: dict, params) -> TermSheetView:
    """The term sheet of a brief (see the module doc)."""
    sheet = _sheet_block(results)
    terms = sheet.get("terms") or {}
    window = int(params.churn.inactivity_days)
    months = max(12, int(params.deal.change_of_owner.hazard_months))
    found = re.search(r"in the (\d+) days", str(terms.get("definition", "")))
    window = int(found.group(1)) if found else window
    found = re.search(r"closing \+ (\d+) months", str(terms.get("measurement_date", "")))
    months = int(found.group(1)) if found else months
    # briefs since the numeric fields were added say it as numbers: those win
    window = int(terms.get("window_days", window))
    months = int(terms.get("measurement_months", months))
    view = TermSheetView(status=str(sheet.get("status")),
                         eligible=int(sheet.get("eligible_customers") or 0),
                         expected_retained=float(sheet.get("expected_retained") or 0.0),
                         window_days=window, months=months, terms=terms,
                         forecast=list(sheet.get("forecast") or []))
    if len(view.forecast) != months:
        view.forecast, view.band = binomial_forecast(view.eligible, view.expected_retained,
                                                     months), "binomial_only"
    return view


def binomial_forecast(eligible: int, expected: float, months: int) -> list[dict]:
    """Expected retained count per month (constant monthly hazard) with binomial P10-P90."""
    p = min(max(expected / eligible, 1e-12), 1.0) if eligible else 0.0
    rows = []
    for m in range(1, months + 1):
        pm = p ** (m / months) if p else 0.0
        law = stats.binom(eligible, pm)
        rows.append({"month": m, "expected": eligible * pm, "p10": float(law.ppf(0.1)),
                     "p50": float(law.ppf(0.5)), "p90": float(law.ppf(0.9))})
    return rows


def measure(pre: dict[str, pd.DataFrame], post: dict[str, pd.DataFrame], sheet: TermSheetView,
            closing: dt.date) -> dict:
    """Measure the metric month by month and compare it with the forecast.

    Parameters
    ----------
    pre, post : dict of DataFrame
        Token-only analysis tables before closing (the roster) and of the buyer's exports.
    sheet : TermSheetView
    closing : date
        The closing date (the valuation date of the brief).

    Returns
    -------
    dict
        Aggregates only: roster size, months observed, one row per month, payout.
    """
    roster = roster_ids(pre["customers"], pre["orders"], pre["activity"], "customer_token",
                        closing, sheet.window_days)
    post_events = events(post["orders"], post["activity"], "customer_token")
    found = roster & set(post["customers"]["customer_token"].dropna().astype(str))
    if roster and not found:
        raise ReportError("none of the transferred customers is in the buyer's exports: they "
                          "were tokenised with another deal key or are another target's "
                          "exports; use this deal's key and the buyer's exports of this target")
    data_until = post_events["date"].max() if len(post_events) else pd.NaT
    table = retained_by_month(post_events, roster, closing, sheet.months, sheet.window_days)
    forecast = pd.DataFrame(sheet.forecast)[["month", "expected", "p10", "p50", "p90"]]
    table = table.merge(forecast, on="month", how="left")
    observed = pd.notna(data_until) & (pd.to_datetime(table["date"]) <= data_until)
    table["observed"] = observed.to_numpy(bool)
    table.loc[~table["observed"], ["retained", "retention"]] = np.nan
    table["within_band"] = ((table["retained"] >= table["p10"])
                            & (table["retained"] <= table["p90"])).where(table["observed"])
    table["retained"] = table["retained"].astype("Int64")
    last = table[table["observed"]].tail(1)
    final = bool(table["observed"].iloc[-1])
    out = {"roster_customers": len(roster), "roster_in_exports": len(found),
           "eligible_in_brief": sheet.eligible, "window_days": sheet.window_days,
           "months": sheet.months, "closing_date": closing.isoformat(),
           "measurement_date": month_dates(closing, sheet.months)[-1].isoformat(),
           "data_until": None if pd.isna(data_until) else data_until.date().isoformat(),
           "months_observed": int(table["observed"].sum()), "final": final,
           "band": sheet.band, "status": sheet.status,
           "by_month": table.to_dict(orient="records"),
           "latest_retained": None if last.empty else int(last["retained"].iloc[0]),
           "payout": None}
    needed = ("threshold", "slope_per_customer", "cap")
    if out["latest_retained"] is not None and all(k in sheet.terms for k in needed):
        t = sheet.terms
        out["payout"] = {
            "kind": "final" if final else "provisional (measurement date not reached)",
            "retained": out["latest_retained"], "threshold": float(t["threshold"]),
            "slope_per_customer": float(t["slope_per_customer"]), "cap": float(t["cap"]),
            "floor": float(t.get("floor", 0.0)),
            "amount": payout(out["latest_retained"], threshold=float(t["threshold"]),
                             slope=float(t["slope_per_customer"]), cap=float(t["cap"]),
                             floor=float(t.get("floor", 0.0))),
            "cash_at_closing": t.get("cash_at_closing")}
    return out
