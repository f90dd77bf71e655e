"""The customer table of a target before defects: who signed up when, through which channel."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from valuation.samples.people import draw_people
from valuation.samples.specs import TargetSpec

EPOCH = dt.date(1970, 1, 1)


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01 (the integer form of dates used inside the generator)."""
    return (date - EPOCH).days


def to_datetime64(days: np.ndarray) -> np.ndarray:
    """Integer day numbers to ``datetime64[ns]`` (the dtype of the raw tables)."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[ns]")


def _natural_signup_days(rng: np.random.Generator, spec: TargetSpec, n: int) -> np.ndarray:
    """Signup days over the signup window: gentle growth, busier weekends, no spikes.

    The daily rate never exceeds about 1.5 times its median, so no natural day comes close
    to the ``signup_burst`` threshold (max(30, median + 10 MAD)) at the default sizes, nor
    for large targets where the median is large.
    """
    first, last = day_number(spec.signup_start), day_number(spec.signup_end)
    days = np.arange(first, last + 1)
    growth = 1.0 + 0.6 * (days - first) / max(last - first, 1)
    weekday = (days + 3) % 7  # 0 = Monday
    weight = growth * np.where(weekday >= 5, 1.15, 1.0)
    if spec.name == "cert_school":  # cohorts grow from year to year
        years = pd.DatetimeIndex(to_datetime64(days)).year.to_numpy()
        weight = weight * (1.0 + 0.08 * (years - years.min()))
    burst = day_number(spec.burst_day)
    weight = np.where(days == burst, 0.0, weight)  # the burst day's natural signups: none
    return rng.choice(days, size=n, p=weight / weight.sum())


def _ages(rng: np.random.Generator, spec: TargetSpec, n: int) -> np.ndarray:
    weights = np.array([w for _, _, w in spec.age_mix])
    band = rng.choice(len(spec.age_mix), size=n, p=weights / weights.sum())
    low = np.array([lo for lo, _, _ in spec.age_mix])[band]
    high = np.array([hi for _, hi, _ in spec.age_mix])[band]
    return rng.integers(low, high + 1)


def draw_population(
    rng: np.random.Generator, spec: TargetSpec, n: int, burst_extra: int, future: int
) -> pd.DataFrame:
    """Customers of a target: ``n`` natural ones, a signup burst and future-dated records.

    Returns
    -------
    DataFrame
        The raw canonical customer columns (``customer_id`` ... ``guardian_consent``) plus
        hidden columns (prefixed ``_``): ``_signup`` (day number), ``_kind`` (natural | burst
        | future), ``_age``, ``_birth``, ``_mobile`` (normalised); sorted by signup, ids in
        that order.
    """
    as_of = day_number(spec.as_of)
    signup = np.concatenate([
        _natural_signup_days(rng, spec, n),
        np.full(burst_extra, day_number(spec.burst_day)),
        as_of + rng.integers(5, 120, size=future),
    ])
    kind = np.array(["natural"] * n + ["burst"] * burst_extra + ["future"] * future)
    order = np.lexsort((rng.random(signup.size), signup))
    signup, kind = signup[order], kind[order]
    size = signup.size
    ages = _ages(rng, spec, size)
    people = draw_people(rng, signup.astype("datetime64[D]"), ages,
                         email_share=spec.email_share,
                         messy_mobile_share=spec.messy_mobile_share)
    channels = np.array([c for c, _ in spec.channels])
    weights = np.array([w for _, w in spec.channels])
    width = max(6, len(str(size)) + 1)
    ids = np.char.add(spec.id_prefix, np.char.zfill((10 ** (width - 1) + np.arange(size)).astype(str), width))
    minor = people["_age"].to_numpy() < 14
    frame = pd.DataFrame({
        "customer_id": ids,
        "name": people["name"],
        "mobile": people["mobile"],
        "id_number": people["id_number"],
        "email": people["email"].replace("", pd.NA),
        "city": people["city"],
        "signup_date": to_datetime64(signup),
        "channel": channels[rng.choice(len(channels), size=size, p=weights / weights.sum())],
        "consent_transfer": rng.random(size) < spec.consent_transfer_share,
        "consent_marketing": rng.random(size) < spec.consent_marketing_share,
        "guardian_consent": pd.array(np.where(minor, True, None), dtype="boolean"),
        "_signup": signup,
        "_kind": kind,
        "_age": people["_age"].to_numpy(),
        "_birth": people["_birth"].to_numpy(),
        "_mobile": people["_mobile"],
    })
    for col in ("consent_transfer", "consent_marketing"):
        frame[col] = frame[col].astype("boolean")
    for col in ("customer_id", "name", "mobile", "id_number", "email", "city", "channel"):
        frame[col] = frame[col].astype("string")
    return frame
