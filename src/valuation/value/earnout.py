"""The earn-out as a term sheet a later measurement can settle (issue 16).

Metric: a **retained customer** is a transferred customer (a token on the transfer roster of
the handover package) with a paid order or a learning-activity event in the
``window_days`` (the churn threshold, ``churn.inactivity_days``) before the measurement
date; the measurement date is ``measurement_months`` after closing (the change-of-owner
hazard window, at least 12 months); the data source is the buyer's order system and
learning platform matched to the roster, with the seller's right to audit.

Payout: nothing up to the ``threshold`` count, then ``slope`` CNY per retained customer
above it, up to the ``cap``; the ``floor`` is 0 (no claw-back). Paid within 60 days of the
measurement date from an escrow funded at closing.

* **Buyer** (we propose it when the ask exceeds our walk-away): cash at closing = our
  target; threshold = the retained count our base case expects; slope = the value of the
  transferable base per expected retained customer (each customer retained above our base
  case is paid what it is worth to us, so the earn-out costs us nothing in expectation that
  the retention does not bring in); cap = ask - cash, or what full retention of the roster
  pays when the ask lies beyond it (then the ask cannot be reached by retention at all).
* **Seller**: accept an earn-out only to bridge a gap (no agreement zone): cash = the
  buyer's estimated reservation; the cap = our walk-away - cash, reached at the count our
  base case expects, the threshold at its P10; otherwise resist (the cash price is within
  reach and an earn-out hands us the retention risk the buyer controls after closing).

No earn-out is proposed (and a seller resists one) when fewer than
:data:`MIN_EXPECTED_RETAINED` customers are expected to be retained: a handful of departures
would then swing the payout, measuring luck rather than the transfer.

The payout's P10 / P50 / P90 come from the combined draws: each draw's 12-month retention
after transfer (its drawn one-off loss and hazard), times a Beta-distributed error of the
Kaplan-Meier estimate (precision: the customers at risk), then a binomial count of the
eligible customers. The stress case sets the one-off loss to 20% and 30%.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_EXPECTED_RETAINED = 50
"""Below this expected retained count no earn-out (binomial noise alone moves the count by
more than +/-10% at P10/P90 when fewer than ~50 are expected at retention ~50%)."""

STRESS_LOSSES: tuple[float, ...] = (0.20, 0.30)
"""One-off transfer losses of the stress case."""


@dataclass
class TermSheet:
    """An earn-out proposal or recommendation (see the module doc)."""

    side: str
    status: str  # proposed | not_needed | base_too_small | accept | resist | no_price
    recommendation: str | None
    eligible_customers: int
    expected_retained: float
    terms: dict = field(default_factory=dict)
    payout: dict = field(default_factory=dict)
    stress: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)
    forecast: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"side": self.side, "status": self.status,
                "recommendation": self.recommendation,
                "eligible_customers": self.eligible_customers,
                "expected_retained": self.expected_retained,
                "min_expected_retained": MIN_EXPECTED_RETAINED, "terms": self.terms,
                "payout": self.payout, "stress": self.stress, "reasons": self.reasons,
                "forecast": self.forecast}


def payout(count, threshold: float, slope: float, cap: float, floor: float = 0.0):
    """Payout for a retained ``count`` (array or scalar)."""
    return np.clip(slope * (np.asarray(count, float) - threshold), floor, cap)


def retained_counts(eligible: int, retention_draws: np.ndarray, base_retention: float,
                    effective_size: float, *, seed: int) -> np.ndarray:
    """Simulated retained counts, one per draw (see the module doc)."""
    rng = np.random.default_rng([int(seed), 5])
    p0 = float(np.clip(base_retention, 1e-6, 1 - 1e-6))
    n_eff = max(float(effective_size), 2.0)
    error = rng.beta(p0 * n_eff, (1 - p0) * n_eff, size=len(retention_draws)) / p0
    p = np.clip(np.asarray(retention_draws, float) * error, 0.0, 1.0)
    return rng.binomial(int(eligible), p).astype(float)


def retained_forecast(eligible: int, retention_draws: np.ndarray, base_retention: float,
                      effective_size: float, *, months: int, seed: int) -> list[dict]:
    """The expected retained count and its P10 / P50 / P90 at each month after closing.

    The retention at month ``m`` of ``months`` is the measurement-date retention to the
    power ``m / months`` (a constant monthly hazard between closing and the measurement
    date); each draw's retention carries the same Beta error of the Kaplan-Meier estimate
    as :func:`retained_counts`, then a binomial count of the eligible customers. The
    earn-out monitor compares the measured count with this curve month by month.
    """
    rng = np.random.default_rng([int(seed), 19])
    p0 = float(np.clip(base_retention, 1e-6, 1 - 1e-6))
    n_eff = max(float(effective_size), 2.0)
    draws = np.asarray(retention_draws, float)
    error = rng.beta(p0 * n_eff, (1 - p0) * n_eff, size=len(draws)) / p0
    p = np.clip(draws * error, 1e-12, 1.0)
    rows = []
    for m in range(1, int(months) + 1):
        share = m / int(months)
        counts = rng.binomial(int(eligible), p ** share).astype(float)
        rows.append({"month": m, "expected": float(eligible * p0 ** share),
                     "p10": float(np.percentile(counts, 10)),
                     "p50": float(np.percentile(counts, 50)),
                     "p90": float(np.percentile(counts, 90))})
    return rows


def earn_out_terms(plan, *, eligible: int, base_retention: float, value_per_retained: float,
                   retention_draws: np.ndarray, effective_size: float,
                   implied_retention: float | None, stress_retention: dict[float, float],
                   window_days: int, measurement_months: int, seed: int) -> TermSheet:
    """The term sheet for our side.

    Parameters
    ----------
    plan : PositionPlan
        Our positions (:mod:`valuation.value.positions`).
    eligible : int
        Active transferable customers (the roster the metric counts).
    base_retention : float
        Their 12-month retention after the transfer under the base case.
    retention_draws : ndarray
        The same under each combined draw.
    effective_size : float
        Customers at risk behind the Kaplan-Meier 12-month estimate.
    value_per_retained : float
        Value of the transferable base per customer expected to be retained (the buyer's
        slope: each customer above the threshold is paid what it is worth to us).
    implied_retention : float or None
        12-month retention after transfer that the counterparty's price implies.
    stress_retention : dict
        One-off loss -> 12-month retention after transfer under it.
    window_days, measurement_months, seed
    """
    expected = eligible * base_retention
    counts = retained_counts(eligible, retention_draws, base_retention, effective_size,
                             seed=seed)
    sheet = TermSheet(side=plan.side, status="not_needed", recommendation=None,
                      eligible_customers=int(eligible), expected_retained=float(expected))
    if len(retention_draws) and eligible > 0:
        sheet.forecast = retained_forecast(eligible, retention_draws, base_retention,
                                           effective_size, months=measurement_months,
                                           seed=seed)
    metric = {
        "metric": "retained customers",
        "definition": (f"a customer on the transfer roster with a paid order or a "
                       f"learning-activity event in the {window_days} days before the "
                       f"measurement date"),
        "measurement_date": f"closing + {measurement_months} months",
        "data_source": "buyer's order system and learning platform matched to the transfer "
                       "roster tokens; seller's right to audit",
        "payment_timing": "within 60 days of the measurement date, from an escrow funded "
                          "at closing",
        "floor": 0.0,
        "window_days": int(window_days),  # the words above, as numbers (for any language)
        "measurement_months": int(measurement_months),
    }
    if plan.price is None:
        sheet.status = "no_price"
        return sheet
    small = expected < MIN_EXPECTED_RETAINED
    if plan.side == "buyer":
        gap = plan.price - plan.walk_away
        if gap <= 0:
            sheet.reasons = {"code": "ask_within_walk_away", "gap": gap}
            return sheet
        if small:
            sheet.status = "base_too_small"
            sheet.reasons = {"code": "base_too_small", "expected_retained": expected,
                             "minimum": MIN_EXPECTED_RETAINED}
            return sheet
        cash = plan.target
        threshold = round(expected)
        # each customer retained above our base case is paid what it is worth to us
        slope = max(value_per_retained, 0.0)
        if slope <= 0:
            sheet.status = "not_needed"
            sheet.reasons = {"code": "no_value_per_customer", "value_per_retained": slope}
            return sheet
        cap = plan.price - cash
        full = threshold + cap / slope
        code = "cap_at_ask"
        if implied_retention is not None:
            code = "cap_at_ask_implied_retention"
        if full > eligible:
            full, code = float(eligible), "cap_at_full_retention"
            cap = slope * (full - threshold)
        sheet.status, sheet.recommendation = "proposed", "propose"
    else:
        if small:
            sheet.status, sheet.recommendation = "base_too_small", "resist"
            sheet.reasons = {"code": "base_too_small", "expected_retained": expected,
                             "minimum": MIN_EXPECTED_RETAINED}
            return sheet
        if plan.zone.get("exists"):
            sheet.status, sheet.recommendation = "resist", "resist"
            sheet.reasons = {"code": "cash_price_within_reach",
                             "counterparty_reservation": plan.counterparty_reservation,
                             "walk_away": plan.walk_away,
                             "max_concession": plan.anchor - plan.walk_away}
            return sheet
        cash = plan.counterparty_reservation
        cap = plan.walk_away - cash
        threshold = float(np.percentile(counts, 10))
        full, code = max(expected, threshold + 1.0), "cap_at_expected_count"
        sheet.status, sheet.recommendation = "accept", "accept"
    if plan.side == "seller":
        slope = cap / (full - threshold)
    paid = payout(counts, threshold, slope, cap)
    sheet.terms = {**metric, "cash_at_closing": float(cash), "threshold": float(threshold),
                   "slope_per_customer": float(slope), "cap": float(cap),
                   "cap_reached_at": float(full), "cap_rule": code,
                   "maximum_price": float(cash + cap)}
    sheet.payout = {"p10": float(np.percentile(paid, 10)),
                    "p50": float(np.percentile(paid, 50)),
                    "p90": float(np.percentile(paid, 90)), "mean": float(paid.mean()),
                    "expected_total_price": float(cash + paid.mean())}
    sheet.stress = [{"one_off_loss": loss, "retention_12m_after": r,
                     "retained": eligible * r,
                     "payout": float(payout(eligible * r, threshold, slope, cap))}
                    for loss, r in sorted(stress_retention.items())]
    sheet.reasons = {"code": code, "gap": float(cap)}
    return sheet
