"""Retention of the existing base after transfer, and the change-of-owner attrition ratio.

The change of owner is modelled as a proportional-hazards shock on the base's own retention:
a one-off loss ``l`` at transfer, then the churn hazard multiplied by ``m`` for ``h`` years.
If ``S(t)`` is the residual retention curve of today's active customers (probability of still
being a customer ``t`` years from now), the shocked curve is

    S'(t) = (1 - l) * S(t) * S(min(t, h)) ** (m - 1)

and, because the expected purchases of a customer who is still there do not change, the
expected transactions (hence the value) of period ``t`` are multiplied by the ratio

    a(t) = S'(t) / S(t) = (1 - l) * S(min(t, h)) ** (m - 1).

``S`` comes from a Kaplan-Meier fit (lifelines) of customer lifetimes, with churn defined as
``inactivity_days`` without an order or activity event before ``as_of``; a customer of age
``a`` (years since first order) survives ``t`` more years with ``S_KM(a + t) / S_KM(a)``, and
``S`` is the mean of that over the currently active customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from valuation.errors import ModelInputError

DAYS_PER_YEAR = 365.25


def last_events(activity: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Date of each customer's last activity event on or before ``as_of``.

    Only the two columns needed are touched, and rows are copied only when some event lies
    after ``as_of`` (the activity table is the largest one).

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
    """Lifetime of every customer with at least one order, for survival analysis.

    Parameters
    ----------
    orders : DataFrame
        Analysis orders (``customer_token``, ``order_date``).
    activity : DataFrame or None
        Analysis activity (``customer_token``, ``event_date``); extends a lifetime.
    as_of : Timestamp
        The valuation date; events after it are ignored.
    inactivity_days : int
        A customer whose last event is more than this many days before ``as_of`` has churned
        (at the date of the last event).

    Returns
    -------
    DataFrame indexed by ``customer_token`` with ``age_days`` (first order to ``as_of``),
    ``duration_days`` (first order to last event if churned, else to ``as_of``) and ``churned``.
    """
    as_of = pd.Timestamp(as_of)
    # the two columns as Series (no copy of the table), rows copied only when some are late
    tokens, dates = orders["customer_token"], orders["order_date"]
    on_time = (dates <= as_of).to_numpy(bool)
    if not on_time.all():
        tokens, dates = tokens[on_time], dates[on_time]
    if dates.empty:
        raise ModelInputError("no orders on or before the valuation date: cannot fit retention")
    grouped = dates.groupby(tokens)
    first, last = grouped.min(), grouped.max()
    if activity is not None and len(activity):
        last_act = last_events(activity, as_of).reindex(last.index)
        last = pd.concat([last, last_act], axis=1).max(axis=1)
    age = (as_of - first).dt.days.astype(float)
    since_last = (as_of - last).dt.days.astype(float)
    churned = since_last > inactivity_days
    duration = np.where(churned, (last - first).dt.days.astype(float), age)
    return pd.DataFrame(
        {"age_days": age, "duration_days": duration, "churned": churned.to_numpy()},
        index=first.index,
    )


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
        """Fit the Kaplan-Meier curve and remember the ages of the active customers.

        Parameters
        ----------
        lifetimes : DataFrame
            As returned by :func:`customer_lifetimes`.
        """
        if lifetimes.empty:
            raise ModelInputError("no customer lifetimes to fit a retention curve on")
        # a duration of 0 days (churned after a single-day life) is legal for lifelines
        kmf = KaplanMeierFitter().fit(
            lifetimes["duration_days"].to_numpy(float), lifetimes["churned"].to_numpy(bool)
        )
        self.km_ = kmf
        active = lifetimes.loc[~lifetimes["churned"], "age_days"]
        if active.empty:
            active = lifetimes["age_days"]
        ages, counts = np.unique(active.to_numpy(float), return_counts=True)
        self.active_ages_days_ = ages
        self.active_counts_ = counts
        self.n_active_ = int(counts.sum())
        self.n_churned_ = int(lifetimes["churned"].sum())
        return self

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
        if not hasattr(self, "km_"):
            from valuation.errors import NotFittedError

            raise NotFittedError("ResidualRetention is not fitted; call fit(lifetimes) first")
        ages = np.atleast_1d(np.asarray(ages_days, float))
        t_days = np.atleast_1d(np.asarray(years, float)) * DAYS_PER_YEAR
        s_now = np.maximum(self._km(ages), 1e-12)
        return np.clip(self._km(ages[:, None] + t_days[None, :]) / s_now[:, None], 0.0, 1.0)

    def survival(self, years) -> np.ndarray:
        """Mean probability that an active customer is still a customer ``years`` from now.

        Parameters
        ----------
        years : array-like of float
            Years after the valuation date (>= 0).
        """
        if not hasattr(self, "km_"):
            from valuation.errors import NotFittedError

            raise NotFittedError("ResidualRetention is not fitted; call fit(lifetimes) first")
        t_days = np.atleast_1d(np.asarray(years, float)) * DAYS_PER_YEAR
        s_now = np.maximum(self._km(self.active_ages_days_), 1e-12)
        s_later = self._km(self.active_ages_days_[:, None] + t_days[None, :])
        ratio = np.clip(s_later / s_now[:, None], 0.0, 1.0)
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
        s = np.maximum(retention.survival(capped), 1e-12)
        shock = s ** (hazard_multiplier - 1.0)
    return (1.0 - one_off_loss) * shock
