"""A simulator of customer lifetimes with a known truth, independent of the code under test.

Customers arrive uniformly over several years before ``as_of``; each has a true lifetime
``D`` (exponential or Weibull, in days) and, while alive, is active at the times of a Poisson
process (rate ``1 / mean_gap_days``). Observation stops at ``as_of``: nothing later is known
except a few planted future-dated rows (a data defect the code must ignore).

Only the events that can bound a lifetime are emitted in full: the first order at arrival,
the *last* event of the Poisson process before ``min(D, as_of)`` (its distance to that time
is exponential, memorylessness), plus a few events at random times in between and one
repeat order. Intermediate events of a Poisson process cannot change a first-purchase /
last-sign-of-life definition, so emitting all of them (hundreds per customer) would only
make the test slow. Some orders are fully refunded duplicates of real ones (not purchases).

The truth is the survival function of ``D``: ``exp(-(t / scale) ** shape)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2025-06-30")


def true_survival(days: float | np.ndarray, shape: float, scale: float) -> np.ndarray:
    """``P(D > days)`` of the simulated lifetimes."""
    return np.exp(-((np.asarray(days, float) / scale) ** shape))


def simulate_lifetimes(
    n: int = 30_000,
    *,
    shape: float = 1.0,
    scale: float = 450.0,
    years: float = 5.0,
    mean_gap_days: float = 3.0,
    seed: int = 0,
    as_of: pd.Timestamp = AS_OF,
) -> dict[str, pd.DataFrame]:
    """Analysis-like ``orders`` and ``activity`` tables (token-only) with known lifetimes."""
    rng = np.random.default_rng(seed)
    span = int(years * 365)
    arrival = rng.integers(0, span, n)  # day index; as_of is day `span`
    life = scale * rng.weibull(shape, n)
    tokens = np.array([f"s{i:06d}" for i in range(n)], dtype=object)
    end = np.minimum(arrival + life, span)  # alive and observed up to here
    last = end - rng.exponential(mean_gap_days, n)
    has_last = last > arrival
    origin = as_of - pd.Timedelta(days=span)

    def day(x: np.ndarray) -> pd.DatetimeIndex:
        return origin + pd.to_timedelta(np.floor(x).astype(int), unit="D")

    order_token = [tokens]
    order_day = [arrival.astype(float)]
    order_amount = [rng.uniform(100, 3000, n)]
    order_refund = [np.zeros(n)]
    # one repeat order at a random time of the observed life
    repeat = has_last & (rng.random(n) < 0.5)
    order_token.append(tokens[repeat])
    order_day.append(arrival[repeat] + rng.random(repeat.sum()) * (last[repeat] - arrival[repeat]))
    order_amount.append(rng.uniform(100, 3000, repeat.sum()))
    order_refund.append(np.zeros(repeat.sum()))
    # a fully refunded order after death (not a purchase, not a sign of life) for some
    ghost = (arrival + life + 30 < span) & (rng.random(n) < 0.1)
    order_token.append(tokens[ghost])
    order_day.append(arrival[ghost] + life[ghost] + 30)
    amount = rng.uniform(100, 3000, ghost.sum())
    order_amount.append(amount)
    order_refund.append(amount)
    # future-dated orders of customers alive at as_of (must be ignored)
    future = (arrival + life > span) & (rng.random(n) < 0.2)
    order_token.append(tokens[future])
    order_day.append(np.full(future.sum(), span + 20.0))
    order_amount.append(rng.uniform(100, 3000, future.sum()))
    order_refund.append(np.zeros(future.sum()))
    orders = pd.DataFrame({
        "customer_token": pd.array(np.concatenate(order_token), dtype="string"),
        "order_date": day(np.concatenate(order_day)),
        "amount": np.round(np.concatenate(order_amount), 2),
        "refund_amount": np.round(np.concatenate(order_refund), 2),
    })

    event_token = [tokens[has_last]]
    event_day = [last[has_last]]
    for _ in range(2):  # a few activity events at random times of the observed life
        pick = has_last & (rng.random(n) < 0.7)
        event_token.append(tokens[pick])
        event_day.append(arrival[pick] + rng.random(pick.sum()) * (last[pick] - arrival[pick]))
    alive = arrival + life > span + 40
    event_token.append(tokens[alive])
    event_day.append(np.full(alive.sum(), span + 40.0))  # future-dated: ignored
    activity = pd.DataFrame({
        "customer_token": pd.array(np.concatenate(event_token), dtype="string"),
        "event_date": day(np.concatenate(event_day)),
    })
    return {"orders": orders, "activity": activity}


def simulate_with_covariates(
    n: int,
    log_hazard_ratios: dict[str, float],
    *,
    shape: float = 1.2,
    scale: float = 500.0,
    years: float = 4.0,
    seed: int = 0,
    as_of: pd.Timestamp = AS_OF,
) -> dict[str, pd.DataFrame]:
    """Analysis-like tables with a Weibull proportional-hazards lifetime (vectorised).

    ``log_hazard_ratios`` may name ``channel[offline]``, ``channel[wechat]``,
    ``category[data]``, ``first_order_value`` (per CNY 10,000) and ``minor``; anything else
    (city tier, age bands, satisfaction) has no effect. Half the customers leave one score at
    a random date, independent of their lifetime (so a missing score carries no signal).
    """
    rng = np.random.default_rng(seed)
    span = int(years * 365)
    tokens = np.array([f"c{i:06d}" for i in range(n)], dtype=object)
    channel = rng.choice(["search", "wechat", "offline"], n, p=[0.5, 0.3, 0.2])
    category = rng.choice(["programming", "data"], n, p=[0.6, 0.4])
    value = np.round(rng.uniform(500, 5000, n), 2)
    minor = rng.random(n) < 0.15
    age_band = np.where(minor, "<14", rng.choice(["18-24", "25-34", "35-44"], n))
    city_tier = rng.choice(["tier1", "tier2", "other"], n)
    hr = {k: float(v) for k, v in log_hazard_ratios.items()}
    linear = (hr.get("channel[offline]", 0.0) * (channel == "offline")
              + hr.get("channel[wechat]", 0.0) * (channel == "wechat")
              + hr.get("category[data]", 0.0) * (category == "data")
              + hr.get("first_order_value", 0.0) * value / 10000.0
              + hr.get("minor", 0.0) * minor)
    life = scale * (-np.log(rng.random(n)) / np.exp(linear)) ** (1.0 / shape)
    arrival = rng.integers(0, span - 30, n)
    end = np.minimum(arrival + life, span)
    last = end - rng.exponential(3.0, n)
    seen = last > arrival
    origin = as_of - pd.Timedelta(days=span)

    def day(x: np.ndarray) -> pd.DatetimeIndex:
        return origin + pd.to_timedelta(np.floor(x).astype(int), unit="D")

    customers = pd.DataFrame({
        "customer_token": pd.array(tokens, dtype="string"),
        "channel": pd.array(channel, dtype="string"),
        "age_band": pd.array(age_band, dtype="string"),
        "minor": pd.array(minor, dtype="boolean"),
        "city_tier": pd.array(city_tier, dtype="string"),
    })
    orders = pd.DataFrame({
        "order_id": pd.array([f"o{i:07d}" for i in range(n)], dtype="string"),
        "customer_token": pd.array(tokens, dtype="string"),
        "category": pd.array(category, dtype="string"),
        "order_date": day(arrival.astype(float)),
        "amount": value,
        "refund_amount": np.zeros(n),
    })
    activity = pd.DataFrame({"customer_token": pd.array(tokens[seen], dtype="string"),
                             "event_date": day(last[seen])})
    rated = rng.random(n) < 0.5
    feedback = pd.DataFrame({
        "customer_token": pd.array(tokens[rated], dtype="string"),
        "feedback_date": day(np.minimum(arrival[rated] + rng.integers(1, 400, rated.sum()),
                                        span)),
        "score": rng.integers(1, 6, rated.sum()).astype(float),
    })
    return {"customers": customers, "orders": orders, "activity": activity, "feedback": feedback}
