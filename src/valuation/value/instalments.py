"""Outstanding instalments of payment plans running at the valuation date.

A course bought in instalments (``payment_plan == "instalment"``) is one purchase
(:func:`valuation.value.equity.collapse_instalments`); the instalments a student has not yet
paid at ``as_of`` are not a future purchase, they are the rest of a purchase already made.
The purchase models do not see them, so they are valued here, per plan:

* **plan length**: the number of instalments is not in the exports; it is the standard
  length in :data:`PLAN_LENGTHS` (at least the instalments paid) closest, on a log scale,
  to ``course price / instalment`` (course price: median full-payment amount of the course;
  without one, the shortest standard length that covers the payments made, which values
  the fewest outstanding instalments);
* **cadence**: the median gap between consecutive instalments of all plans (30 days
  when no plan has two payments);
* **running**: fewer instalments paid than the plan length and the last one at most one
  cadence plus :data:`GRACE_DAYS` before ``as_of`` (older unfinished plans were abandoned);
* **continuation**: the probability of paying instalment ``m + 1`` after ``m`` is estimated
  from every plan that reached ``m`` and whose next instalment was due before ``as_of``
  (pooled over ``m`` where fewer than 5 plans were at risk), so the expected outstanding
  amount allows for students who stop paying;
* each expected instalment is due one cadence after the previous one and is discounted
  and shocked (change of owner) like every other stream.

Uncertainty: bootstrap replicates re-estimate the continuation rates with the resampling
weights; parameter draws take each rate from its Jeffreys ``Beta(k + 1/2, n - k + 1/2)``.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from valuation.value.streams import interval_of, matches_lower

PLAN_LENGTHS: tuple[int, ...] = (3, 6, 12, 24)
"""Standard instalment plan lengths (分期: 3, 6, 12 or 24 期)."""

GRACE_DAYS = 15
"""Days after a missed due date before a plan counts as abandoned."""

MIN_AT_RISK = 5.0


def instalment_plans(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per (customer, course) instalment plan, with its inferred length.

    Parameters
    ----------
    orders : DataFrame
        Net orders (``net_amount`` > 0, dated on or before ``as_of``) with ``payment_plan``,
        ``course``, ``customer_token``, ``order_date``.
    as_of : Timestamp

    Returns
    -------
    DataFrame with ``customer_token, course, paid, instalment, first, last, length,
    running`` (empty when there is no instalment order) and ``attrs["cadence_days"]``.
    """
    instal = orders.loc[matches_lower(orders["payment_plan"], "instalment")]
    columns = ["customer_token", "course", "paid", "instalment", "first", "last", "length",
               "running"]
    if instal.empty:
        out = pd.DataFrame(columns=columns)
        out.attrs["cadence_days"] = 30.0
        return out
    full = orders.loc[matches_lower(orders["payment_plan"], "full")]
    price = full.groupby("course", observed=True)["net_amount"].median()
    ordered = instal.sort_values(["customer_token", "course", "order_date"], kind="stable")
    grouped = ordered.groupby(["customer_token", "course"], observed=True, sort=False,
                              dropna=False)
    plans = grouped.agg(paid=("net_amount", "size"), instalment=("net_amount", "median"),
                        first=("order_date", "min"), last=("order_date", "max")).reset_index()
    gaps = grouped["order_date"].diff().dt.days.dropna()
    cadence = float(gaps.median()) if len(gaps) else 30.0
    cadence = cadence if cadence > 0 else 30.0
    ratio = plans["course"].map(price).to_numpy(float) / plans["instalment"].to_numpy(float)
    lengths = np.array(PLAN_LENGTHS, float)
    paid = plans["paid"].to_numpy(float)
    allowed = lengths[None, :] >= paid[:, None]
    distance = np.where(allowed, np.abs(np.log(np.where(np.isfinite(ratio) & (ratio > 0), ratio,
                                                        1.0))[:, None] - np.log(lengths)[None, :]),
                        np.inf)
    shortest = np.where(allowed, lengths[None, :], np.inf).min(axis=1)
    by_price = lengths[np.argmin(distance, axis=1)]
    length = np.where(np.isfinite(ratio) & (ratio > 0), by_price, shortest)
    length = np.where(np.isfinite(length), length, paid)  # longer than every standard plan
    plans["length"] = length.astype(int)
    since_last = (pd.Timestamp(as_of) - plans["last"]).dt.days.to_numpy(float)
    plans["running"] = (paid < length) & (since_last <= cadence + GRACE_DAYS)
    plans.attrs["cadence_days"] = cadence
    return plans[columns]


class InstalmentStream:
    """Expected outstanding instalments of the plans running at ``as_of``."""

    method = "outstanding_instalments"
    label = "outstanding instalments of running payment plans (empirical continuation)"

    def fit(self, plans: pd.DataFrame, as_of: pd.Timestamp,
            tokens: pd.Index | None = None) -> "InstalmentStream":
        """Estimate continuation rates from all plans; keep the running ones to value.

        Parameters
        ----------
        plans : DataFrame
            From :func:`instalment_plans`.
        as_of : Timestamp
        tokens : Index, optional
            Customers the stream may cover (default: all); it covers every one of them
            with a plan (running or not: all plans inform the continuation rates).
        """
        self.as_of_ = pd.Timestamp(as_of)
        self.cadence_days_ = float(plans.attrs.get("cadence_days", 30.0))
        if tokens is not None:
            plans = plans.loc[plans["customer_token"].isin(pd.Index(tokens))]
        self.plans_ = plans
        self.tokens_ = pd.Index(plans["customer_token"].unique())
        self.running_ = plans.loc[plans["running"].astype(bool)]
        self.plan_customer_ = self.tokens_.get_indexer(self.running_["customer_token"])
        self.all_customer_ = self.tokens_.get_indexer(plans["customer_token"])
        # plans that reached m and had their (m+1)-th instalment due before as_of
        max_len = int(plans["length"].max()) if len(plans) else 1
        m = np.arange(1, max_len)
        paid = plans["paid"].to_numpy(int)[:, None]
        length = plans["length"].to_numpy(int)[:, None]
        due = (plans["first"].to_numpy("datetime64[ns]")[:, None]
               + (m[None, :] * self.cadence_days_ + GRACE_DAYS).astype("timedelta64[D]"))
        self.at_risk_ = (paid >= m) & (length > m) & (due <= np.datetime64(self.as_of_))
        self.continued_ = self.at_risk_ & (paid >= m + 1)
        self._estimate(np.ones(len(self.tokens_)))
        return self

    def _estimate(self, customer_weights: np.ndarray) -> None:
        w = np.asarray(customer_weights, float)[self.all_customer_]
        at_risk = w @ self.at_risk_ if self.at_risk_.size else np.zeros(0)
        kept = w @ self.continued_ if self.continued_.size else np.zeros(0)
        pooled = float(kept.sum() / at_risk.sum()) if at_risk.sum() > 0 else 1.0
        self.at_risk_counts_, self.continued_counts_ = at_risk, kept
        self.continuation_ = np.where(at_risk >= MIN_AT_RISK,
                                      kept / np.maximum(at_risk, 1e-12), pooled)

    def expected_payments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(plan row, years from as_of to the due date, expected amount) of every expected
        outstanding instalment of the running plans."""
        cont = np.append(self.continuation_, 0.0)  # beyond the longest plan: no payment
        last = ((self.running_["last"] - self.as_of_).dt.days.to_numpy(float))
        paid = self.running_["paid"].to_numpy(float).astype(int)
        length = self.running_["length"].to_numpy(float).astype(int)
        inst = self.running_["instalment"].to_numpy(float)
        steps = np.maximum(length - paid, 0)
        width = int(steps.max()) if len(steps) else 0
        # plans x outstanding instalments (a plan has at most a few dozen); instalment
        # j = paid + 1 + s is paid with P(pay j | paid j-1) = c_{j-1}, chained by cumprod
        s = np.arange(width)[None, :]
        inside = s < steps[:, None]
        j = paid[:, None] + 1 + s
        factor = np.where(inside, cont[np.minimum(j - 2, len(cont) - 1)], 1.0)
        prob = np.cumprod(factor, axis=1)
        rows = np.broadcast_to(np.arange(len(paid))[:, None], inside.shape)[inside]
        due = np.maximum((last[:, None] + (s + 1) * self.cadence_days_) / 365.25, 0.0)[inside]
        amount = (prob * inst[:, None])[inside]
        return rows.astype(int), due.astype(float), amount.astype(float)

    def customer_revenue(self, edges: np.ndarray, disc: np.ndarray, shock: np.ndarray,
                         assumptions=None) -> tuple[np.ndarray, np.ndarray]:
        """Present value of each customer's expected outstanding instalments (and shocked)."""
        rows, due, amount = self.expected_payments()
        inside = due < float(edges[-1])
        k = interval_of(edges, due[inside])
        customer = self.plan_customer_[rows[inside]]
        n = len(self.tokens_)
        pv = np.bincount(customer, weights=amount[inside] * disc[k], minlength=n)
        pv_s = np.bincount(customer, weights=amount[inside] * disc[k] * shock[k], minlength=n)
        return pv, pv_s

    def new_customer_revenue(self, edges: np.ndarray, disc: np.ndarray) -> float:
        """0: a new customer's instalments are part of the purchase stream's spend."""
        return 0.0

    def replicate(self, weights: np.ndarray, rng: np.random.Generator):
        """Continuation rates re-estimated on the resample, and drawn from their posterior."""
        boot = copy.copy(self)
        boot._estimate(np.asarray(weights, float))
        param = copy.copy(self)
        k, n = self.continued_counts_, self.at_risk_counts_
        draws = rng.beta(k + 0.5, np.maximum(n - k, 0.0) + 0.5)
        pooled = float(k.sum() / n.sum()) if n.sum() > 0 else 1.0
        param.continuation_ = np.where(n >= MIN_AT_RISK, draws, pooled)
        return boot, param, "exact"

    def summary(self) -> dict:
        """Aggregates for the result: running plans, expected amount, cadence."""
        _, _, amount = self.expected_payments()
        return {"running_plans": int(len(self.running_)),
                "expected_outstanding_amount": float(amount.sum()),
                "cadence_days": self.cadence_days_,
                "continuation_rates": [float(c) for c in self.continuation_]}
