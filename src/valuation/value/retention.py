"""Retention of the existing base after transfer, and the change-of-owner attrition ratio.

The change of owner is modelled as a proportional-hazards shock on the base's own retention:
a one-off loss ``l`` at transfer, then the churn hazard multiplied by ``m`` for ``h`` years.
If ``S(t)`` is the residual retention curve of today's active customers (probability of still
being a customer ``t`` years from now), the shocked curve is

    S'(t) = (1 - l) * S(t) * S(min(t, h)) ** (m - 1)

and, because the expected purchases of a customer who is still there do not change, the
expected transactions (hence the value) of period ``t`` are multiplied by the ratio

    a(t) = S'(t) / S(t) = (1 - l) * S(min(t, h)) ** (m - 1).

``S`` comes from a Kaplan-Meier fit (lifelines) of the customer lifetimes of
:mod:`valuation.lifetime` (the one definition shared with the brief's churn section: same
customers, same durations, same censoring at ``as_of - inactivity_days``, so the churn
section's 12-month survival and this curve's are the same number). A current customer (not
churned) is known to have lived ``s`` days (first purchase to last sign of life) and is ``a``
days old at ``as_of``; it is still a customer ``t`` years on with ``S_KM(a + t) / S_KM(s)``
(which allows for a customer who left after the last sign of life, not yet confirmed), and
``S`` is the mean of that over the current customers, taken relative to ``t = 0`` where the
shock is applied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from valuation import lifetime
from valuation.errors import ModelInputError, NotFittedError

DAYS_PER_YEAR = 365.25


def last_events(activity: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Date of each customer's last activity event on or before ``as_of``.

    Returns
    -------
    Series of ``event_date`` indexed by ``customer_token``.
    """
    dates = activity["event_date"]
    keep = (dates <= pd.Timestamp(as_of)).to_numpy(bool)
    tokens = activity["customer_token"]
    if not keep.all():
        tokens, dates = tokens[keep], dates[keep]
    return dates.groupby(tokens, sort=True).max()


def customer_lifetimes(
    orders: pd.DataFrame,
    activity: pd.DataFrame | None,
    as_of: pd.Timestamp,
    inactivity_days: int,
) -> pd.DataFrame:
    """Lifetime of every customer with a purchase (:mod:`valuation.lifetime`), for retention.

    Parameters
    ----------
    orders : DataFrame
        Analysis orders (``customer_token``, ``order_date``, ``amount``, optional
        ``refund_amount``; rows already reduced to purchases are fine).
    activity : DataFrame or None
        Analysis activity (``customer_token``, ``event_date``); extends a lifetime.
    as_of : Timestamp
        The valuation date; events after it are ignored.
    inactivity_days : int
        The churn window.

    Returns
    -------
    DataFrame indexed by ``customer_token``: the columns of
    :func:`valuation.lifetime.lifetime_frame` (``duration``, ``event``, ``observable``,
    ``span_days``, ``age_days``, ...) plus ``churned`` (bool, ``event == 1``) and
    ``duration_days``: the *exposure* of the customer (first purchase to the last sign of life
    if churned, else to ``as_of``), used for rates per customer-year; it is not the survival
    time (``duration``).
    """
    tables = {"orders": orders, "activity": activity}
    frame = lifetime.customer_lifetimes(tables, as_of, inactivity_days)
    frame["churned"] = frame["event"].to_numpy(dtype=bool)
    frame["duration_days"] = np.where(frame["churned"], frame["span_days"],
                                      frame["age_days"]).astype(float)
    return frame


class ResidualRetention:
    """Residual retention curve of today's active customers (Kaplan-Meier based).

    Examples
    --------
    >>> curve = ResidualRetention().fit(lifetimes)  # doctest: +SKIP
    >>> curve.survival([0.5, 1.0])  # doctest: +SKIP
    """

    def __init__(self) -> None:
        pass

    def fit(self, lifetimes: pd.DataFrame) -> "ResidualRetention":
        """Fit the Kaplan-Meier curve (observable customers) and remember, for every current
        (not churned) customer, the known lifetime ``span_days`` and the age ``age_days``.

        Parameters
        ----------
        lifetimes : DataFrame
            As returned by :func:`customer_lifetimes`.
        """
        if lifetimes.empty:
            raise ModelInputError("no customer lifetimes to fit a retention curve on")
        observed = lifetime.observable_rows(lifetimes)
        if observed.empty:
            raise ModelInputError(
                "no customer's first purchase is older than the inactivity window: churn "
                "cannot be confirmed for anyone yet, so no retention curve can be fitted"
            )
        # a duration of 0 days (churned after a single-day life) is legal for lifelines
        kmf = KaplanMeierFitter().fit(
            observed["duration"].to_numpy(float), observed["event"].to_numpy(bool)
        )
        self.km_ = kmf
        self.n_customers_ = int(len(observed))
        churned = lifetimes["event"].to_numpy(dtype=bool)
        current = lifetimes.loc[~churned] if (~churned).any() else lifetimes
        pairs = current[["span_days", "age_days"]].to_numpy(float)
        rows, counts = np.unique(pairs, axis=0, return_counts=True)
        self.active_known_days_ = rows[:, 0]
        self.active_ages_days_ = rows[:, 1]
        self.active_counts_ = counts
        self.n_active_ = int(counts.sum())
        self.n_churned_ = int(churned.sum())
        return self

    def lifetime_survival(self, days) -> np.ndarray:
        """Kaplan-Meier survival of a lifetime at ``days`` (the churn section's curve)."""
        self._check_fitted()
        return self._km(np.atleast_1d(np.asarray(days, float)))

    def _check_fitted(self) -> None:
        if not hasattr(self, "km_"):
            raise NotFittedError("ResidualRetention is not fitted; call fit(lifetimes) first")

    def _km(self, days: np.ndarray) -> np.ndarray:
        sf = self.km_.survival_function_
        times = sf.index.to_numpy(float)
        values = sf.iloc[:, 0].to_numpy(float)
        pos = np.searchsorted(times, days, side="right") - 1
        return values[np.clip(pos, 0, len(values) - 1)]

    def conditional_survival(self, ages_days, years) -> np.ndarray:
        """Probability that a customer alive at age ``a`` (days since the first order) is
        still a customer ``t`` years later: ``S_KM(a + t) / S_KM(a)``.

        Beyond the last Kaplan-Meier time the curve is held at its last value (no
        extrapolation), so long horizons on short histories are optimistic; the valuation's
        horizon keeps this in bounds.

        Returns
        -------
        ndarray of shape (len(ages_days), len(years))
        """
        self._check_fitted()
        ages = np.atleast_1d(np.asarray(ages_days, float))
        t_days = np.atleast_1d(np.asarray(years, float)) * DAYS_PER_YEAR
        s_now = np.maximum(self._km(ages), 1e-12)
        return np.clip(self._km(ages[:, None] + t_days[None, :]) / s_now[:, None], 0.0, 1.0)

    def survival(self, years) -> np.ndarray:
        """Mean probability that a current customer is still a customer ``years`` from now.

        Each current customer is conditioned on what is known: alive up to the last sign of
        life, ``S_KM(a + t) / S_KM(s)``; so ``survival(0)`` is below 1 by the share of
        current customers who have in fact already left (churn not yet confirmable).

        Parameters
        ----------
        years : array-like of float
            Years after the valuation date (>= 0).
        """
        self._check_fitted()
        t_days = np.atleast_1d(np.asarray(years, float)) * DAYS_PER_YEAR
        s_known = np.maximum(self._km(self.active_known_days_), 1e-12)
        s_later = self._km(self.active_ages_days_[:, None] + t_days[None, :])
        ratio = np.clip(s_later / s_known[:, None], 0.0, 1.0)
        return (self.active_counts_ @ ratio) / self.n_active_


def attrition_ratio(years, retention: ResidualRetention, one_off_loss: float,
                    hazard_multiplier: float, hazard_months: int) -> np.ndarray:
    """Share of period-``t`` value kept after the change of owner, ``a(t)`` (see module doc).

    Parameters
    ----------
    years : array-like of float
        Time after transfer, in years.
    retention : ResidualRetention
        The base's fitted residual retention curve.
    one_off_loss, hazard_multiplier, hazard_months
        The change-of-owner assumptions.
    """
    t = np.atleast_1d(np.asarray(years, float))
    capped = np.minimum(t, hazard_months / 12.0)
    shock = np.ones_like(capped)
    if hazard_multiplier != 1 and hazard_months > 0:
        # the shock acts from the transfer on: the residual curve relative to t = 0
        now = max(float(retention.survival([0.0])[0]), 1e-12)
        s = np.clip(retention.survival(capped) / now, 1e-12, 1.0)
        shock = s ** (hazard_multiplier - 1.0)
    return (1.0 - one_off_loss) * shock
