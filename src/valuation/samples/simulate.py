"""Orders, activity and feedback of a block of customers, one simulator per business.

Each simulator takes the customers of one chunk (rows of the population) and returns internal
tables keyed by ``_row`` (the customer's position in the chunk) with integer day numbers;
:mod:`valuation.samples.assemble` turns them into raw canonical tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valuation.samples import processes as proc
from valuation.samples import vocab
from valuation.samples.population import day_number
from valuation.samples.specs import (BOOTCAMP_FOLLOW_ONS, BOOTCAMP_PUPIL_FOLLOW_ONS, FollowOn,
                                     TargetSpec)

SCORE_WEIGHTS = np.array([0.05, 0.08, 0.17, 0.35, 0.35])
PII_SHARES = {"phone": 0.03, "email": 0.02, "name": 0.02}


@dataclass
class Chunk:
    """Internal tables of one chunk (integer days, ``_row`` = customer position)."""

    orders: pd.DataFrame  # _row, day, course, category, amount, refund, plan
    activity: pd.DataFrame  # _row, day, type, count
    feedback: pd.DataFrame  # _row, day, score, text, pii
    latent: pd.DataFrame | None = None  # per customer row: hidden draws (for tests only)


def aggregate_events(rows: list[np.ndarray], days: list[np.ndarray], kinds: list[str]) -> pd.DataFrame:
    """One row per customer-day-type with the number of events that day."""
    parts = []
    for row, day, kind in zip(rows, days, kinds):
        key = row.astype(np.int64) * (1 << 22) + day
        uniq, count = np.unique(key, return_counts=True)
        parts.append(pd.DataFrame({"_row": uniq >> 22, "day": uniq & ((1 << 22) - 1),
                                   "type": kind, "count": count}))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["_row", "day", "type"], kind="stable").reset_index(drop=True)


def feedback_texts(
    rng: np.random.Generator, scores: np.ndarray, names: np.ndarray, mobiles: np.ndarray,
    emails: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Chinese feedback texts by score; a few carry the writer's phone, e-mail or name.

    Returns the texts and the kind of personal data each carries ("" when none). Texts without
    planted personal data never contain the writer's name by accident (checked).
    """
    n = len(scores)
    pools = {5: vocab.POSITIVE_TEXTS, 4: vocab.POSITIVE_TEXTS, 3: vocab.NEUTRAL_TEXTS,
             2: vocab.NEGATIVE_TEXTS, 1: vocab.NEGATIVE_TEXTS}
    texts = np.empty(n, dtype=object)
    for score, pool in pools.items():
        hit = scores == score
        texts[hit] = np.array(pool, dtype=object)[rng.integers(0, len(pool), hit.sum())]
    u = rng.random(n)
    has_email = pd.notna(emails) & (emails != "")
    kind = np.where(u < PII_SHARES["phone"], "phone",
                    np.where(u < PII_SHARES["phone"] + PII_SHARES["email"],
                             np.where(has_email, "email", "phone"),
                             np.where(u < sum(PII_SHARES.values()), "name", "")))
    templates = {"phone": vocab.PII_PHONE_TEMPLATES, "email": vocab.PII_EMAIL_TEMPLATES,
                 "name": vocab.PII_NAME_TEMPLATES}
    spaced = rng.random(n) < 0.3
    for i in np.flatnonzero(kind != ""):
        pool = templates[kind[i]]
        template = pool[rng.integers(0, len(pool))]
        if kind[i] == "phone":
            m = mobiles[i]
            value = f"{m[:3]} {m[3:7]} {m[7:]}" if spaced[i] else m
        elif kind[i] == "email":
            value = emails[i]
        else:
            value = names[i]
        texts[i] = template.format(v=value)
    for i in np.flatnonzero(kind == ""):
        if names[i] and names[i] in texts[i]:
            texts[i] = "整体满意。"
    return texts, kind


def _feedback(rng, cust: pd.DataFrame, row: np.ndarray, day: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    names = cust["name"].to_numpy(dtype=object)[row]
    mobiles = cust["_mobile"].to_numpy(dtype=object)[row]
    emails = cust["email"].to_numpy(dtype=object, na_value="")[row]
    text, kind = feedback_texts(rng, score, names, mobiles, emails)
    frame = pd.DataFrame({"_row": row, "day": day, "score": score.astype(float), "text": text,
                          "pii": kind})
    return frame.sort_values(["_row", "day"], kind="stable").reset_index(drop=True)


def _orders(row, day, course_idx, spec: TargetSpec, amount, refund=None, plan=None) -> pd.DataFrame:
    names = np.array([c.name for c in spec.courses], dtype=object)
    cats = np.array([c.category for c in spec.courses], dtype=object)
    frame = pd.DataFrame({
        "_row": row, "day": day, "course": names[course_idx], "category": cats[course_idx],
        "amount": np.round(amount, 2),
        "refund": np.zeros(len(row)) if refund is None else np.round(refund, 2),
        "plan": "full" if plan is None else plan,
    })
    return frame.sort_values(["_row", "day"], kind="stable").reset_index(drop=True)


def simulate_online(rng: np.random.Generator, spec: TargetSpec, cust: pd.DataFrame) -> Chunk:
    """BG/NBD purchases (weeks), Gamma-Gamma spend, activity around each purchase."""
    g = spec.generator
    n = len(cust)
    as_of = day_number(spec.as_of)
    signup = cust["_signup"].to_numpy()
    horizon = (as_of - signup) / 7.0
    bg = g["bgnbd"]
    owner, t = proc.bgnbd_repeat_times(rng, horizon, bg["r"], bg["alpha"], bg["a"], bg["b"])
    row = np.concatenate([np.arange(n), owner])
    day = np.concatenate([signup, np.minimum(signup[owner] + np.floor(t * 7.0).astype(np.int64), as_of)])
    order = np.lexsort((day, row))
    row, day = row[order], day[order]
    gg = g["gamma_gamma"]
    amount = proc.gamma_gamma_spend(rng, row, n, gg["p"], gg["q"], gg["gamma"])
    course = rng.integers(0, len(spec.courses) - 2, size=row.size)
    pupil = cust["_age"].to_numpy()[row] < 14  # pupils take the children's courses
    course[pupil] = len(spec.courses) - 2 + rng.integers(0, 2, pupil.sum())
    # Refunds: at most one order per customer, only for customers with two orders or more,
    # so no customer ever has every order refunded.
    per_customer = np.bincount(row, minlength=n)
    candidate = (rng.random(row.size) < 0.04) & (per_customer[row] >= 2)
    first_candidate = np.unique(row[candidate], return_index=True)[1]
    chosen = np.flatnonzero(candidate)[first_candidate]
    refund = np.zeros(row.size)
    full = rng.random(chosen.size) < 0.6
    refund[chosen] = np.where(full, np.round(amount[chosen], 2),
                              np.round(amount[chosen] * rng.uniform(0.2, 0.8, chosen.size), 2))
    orders = _orders(row, day, course, spec, amount, refund)
    # Activity: lessons watched and logins in the 30 days after each purchase.
    rows, days = [], []
    for rate in (1.5, 1.0):
        k = rng.poisson(rate, size=row.size)
        ev = proc.group_index(k)
        d = day[ev] + rng.integers(0, 30, size=ev.size)
        keep = d <= as_of
        rows.append(row[ev][keep])
        days.append(d[keep])
    activity = aggregate_events(rows, days, ["attendance", "login"])
    # Feedback after some purchases.
    asked = rng.random(row.size) < 0.12
    fday = day[asked] + rng.integers(3, 21, size=asked.sum())
    keep = fday <= as_of
    frow = row[asked][keep]
    score = rng.choice(np.arange(1, 6), size=frow.size, p=SCORE_WEIGHTS)
    feedback = _feedback(rng, cust, frow, fday[keep], score)
    return Chunk(orders, activity, feedback)


BOOTCAMP_DISCOUNTS = np.array([0.0, 1000.0, 2000.0, 3000.0])
BOOTCAMP_CATEGORY_LEVELS = ("programming", "data", "cloud", "security")
AGE_LEVELS = ("18-24", "25-34", "35-44", "45+")


def age_band(age: np.ndarray) -> np.ndarray:
    """Age band at signup as in the analysis table (adults; pupils handled by ``minor``)."""
    return np.select([age < 14, age < 18, age < 25, age < 35, age < 45],
                     ["<14", "14-17", "18-24", "25-34", "35-44"], "45+")


def bootcamp_design(cust: pd.DataFrame, course: np.ndarray, first_value: np.ndarray,
                    satisfaction: np.ndarray, spec: TargetSpec) -> pd.DataFrame:
    """The covariate matrix of the Weibull PH truth, columns named as in the ground truth."""
    x = {}
    channel = cust["channel"].to_numpy(dtype=object)
    for level in ("wechat", "douyin", "referral", "offline", "partner"):
        x[f"channel[{level}]"] = (channel == level).astype(float)
    cats = np.array([c.category for c in spec.courses], dtype=object)[course]
    for level in BOOTCAMP_CATEGORY_LEVELS[1:]:
        x[f"category[{level}]"] = (cats == level).astype(float)
    x["first_order_value"] = first_value / 10000.0
    x["satisfaction"] = satisfaction.astype(float)
    band = age_band(cust["_age"].to_numpy())
    for level in AGE_LEVELS[1:]:
        x[f"age_band[{level}]"] = (band == level).astype(float)
    x["minor"] = (cust["_age"].to_numpy() < 14).astype(float)
    return pd.DataFrame(x)


def simulate_bootcamp(rng: np.random.Generator, spec: TargetSpec, cust: pd.DataFrame) -> Chunk:
    """One big-ticket course each, instalments, refunds, Weibull-PH lifetime with covariates,
    and follow-on purchases while alive (:func:`bootcamp_follow_ons`)."""
    g = spec.generator
    surv = g["survival"]
    n = len(cust)
    as_of = day_number(spec.as_of)
    signup = cust["_signup"].to_numpy()
    age = cust["_age"].to_numpy()
    pupil = age < 14
    course = rng.choice(8, size=n, p=np.array([18, 14, 15, 9, 12, 10, 12, 10]) / 100.0)
    course[pupil] = 8
    price = np.array([c.price for c in spec.courses])[course]
    price = price - rng.choice(BOOTCAMP_DISCOUNTS, size=n, p=[0.4, 0.3, 0.2, 0.1])
    instalments = np.where(rng.random(n) < 0.4, rng.choice([3, 6, 12], size=n, p=[0.4, 0.4, 0.2]), 1)
    instalments[pupil] = 1
    first_value = np.round(price / instalments, 2)
    satisfaction = rng.choice(np.arange(1, 6), size=n, p=SCORE_WEIGHTS)
    design = bootcamp_design(cust, course, first_value, satisfaction, spec)
    beta = np.array([surv["log_hazard_ratios"][c] for c in design.columns])
    life = proc.weibull_ph_lifetimes(rng, design.to_numpy() @ beta, surv["shape"], surv["scale_days"])
    # Orders: instalment j is paid on day 30 j while the student is alive (and before as_of).
    row = proc.group_index(instalments)
    j = proc.rank_within_group(row)
    day = signup[row] + 30 * j
    keep = (30 * j <= life[row]) | (j == 0)
    keep &= day <= as_of
    row, j, day = row[keep], j[keep], day[keep]
    amount = np.where(j == instalments[row] - 1,
                      price[row] - first_value[row] * (instalments[row] - 1), first_value[row])
    plan = np.where(instalments[row] > 1, "instalment", "full")
    refund = np.zeros(row.size)
    full_plan = instalments[row] == 1
    early = full_plan & (life[row] <= 14) & (rng.random(row.size) < 0.7)
    refund[early] = amount[early]
    partial = full_plan & (life[row] > 14) & (life[row] <= 56) & (rng.random(row.size) < 0.5)
    refund[partial] = np.round(amount[partial] * (1 - life[row][partial] / 84.0) / 100.0) * 100.0
    orders = _orders(row, day, course[row], spec, amount, refund, plan)
    # Activity while alive: lessons during the course, logins for as long as she lives.
    window = np.minimum(life, as_of - signup + 1.0)
    rows, days = [], []
    for rate, length in ((g["attendance_per_week"] / 7.0, np.minimum(window, g["course_days"])),
                         (g["logins_per_week"] / 7.0, window)):
        r, d = proc.poisson_event_days(rng, signup, length, rate)
        rows.append(r)
        days.append(d)
    # One course survey per student in her first week (while alive): the satisfaction score.
    fday = signup + np.floor(rng.random(n) * np.minimum(life, 7.0)).astype(np.int64)
    feedback = _feedback(rng, cust, np.arange(n), np.minimum(fday, as_of), satisfaction)
    # Follow-on products bought while alive (drawn last: the draws above stay as they were).
    follow = bootcamp_follow_ons(rng, g, signup, life, pupil, as_of)
    orders = pd.concat([orders, follow.orders], ignore_index=True)
    orders = orders.sort_values(["_row", "day"], kind="stable").reset_index(drop=True)
    rows[0] = np.concatenate([rows[0], follow.attendance_rows])
    days[0] = np.concatenate([days[0], follow.attendance_days])
    activity = aggregate_events(rows, days, ["attendance", "login"])
    latent = pd.DataFrame({"_row": np.arange(n), "life_days": life,
                           "follow_on_weeks": follow.window_weeks,
                           "follow_on_arrivals": follow.arrivals})
    return Chunk(orders, activity, feedback, latent)


@dataclass
class FollowOns:
    """Follow-on purchases of a chunk of bootcamp students (see :func:`bootcamp_follow_ons`)."""

    orders: pd.DataFrame  # _row, day, course, category, amount, refund, plan
    attendance_rows: np.ndarray
    attendance_days: np.ndarray
    window_weeks: np.ndarray  # per student: length of the follow-on purchase window
    arrivals: np.ndarray  # per student: follow-on purchases (enrolments, not payments)


def _product_table(products: tuple[FollowOn, ...]) -> dict[str, np.ndarray]:
    return {
        "course": np.array([p.course.name for p in products], dtype=object),
        "category": np.array([p.course.category for p in products], dtype=object),
        "price": np.array([p.course.price for p in products]),
        "days": np.array([p.course_days for p in products], dtype=float),
        "instalments": np.array([p.instalments for p in products]),
    }


def bootcamp_follow_ons(
    rng: np.random.Generator, g: Mapping[str, Any], signup: np.ndarray, life: np.ndarray,
    pupil: np.ndarray, as_of: int,
) -> FollowOns:
    """Follow-on purchases of bootcamp students: NBD arrivals while alive, products, payments.

    Each student buys follow-on products at the arrivals of a Poisson process of rate
    ``lambda ~ Gamma(r, rate=alpha)`` per week, running from the day after signup while she
    is alive and up to ``as_of``: a window of ``min(life, as_of - signup) - 1`` days, an
    arrival at ``t`` weeks is dated ``signup + 1 + floor(7 t)``, so every follow-on order is
    strictly after signup, on or before her latent death day and before ``as_of``.

    Adults pick a product of :data:`BOOTCAMP_FOLLOW_ONS` and pupils one of
    :data:`BOOTCAMP_PUPIL_FOLLOW_ONS` by weight (with replacement). The first purchase of an
    instalment-eligible product is paid in 3 or 6 monthly instalments with probability
    ``instalment_share``; instalment ``j`` is paid on day ``30 j`` of the plan while alive and
    by ``as_of``. A full-price follow-on is fully refunded with probability
    ``full_refund_share`` when the student dies within ``full_refund_within_days`` of buying
    it. Lessons of a product with ``course_days`` are attended like the main course's, while
    alive and by ``as_of``.

    Parameters
    ----------
    rng : numpy.random.Generator
    g : mapping
        The bootcamp's ``generator`` settings (``follow_on``, ``attendance_per_week``).
    signup, life : ndarray
        Signup day numbers and latent lifetimes (days) of the students.
    pupil : ndarray of bool
        Students under 14 at signup.
    as_of : int
        Day number of the data's as-of date.

    Returns
    -------
    FollowOns
        Orders (internal columns, ``_row`` = student position), lesson days, and per student
        the purchase window (weeks) and the number of follow-on purchases.
    """
    fo = g["follow_on"]
    n = len(signup)
    window_days = np.maximum(np.minimum(life, (as_of - signup).astype(float)) - 1.0, 0.0)
    window_weeks = window_days / 7.0
    owner, t = proc.poisson_gamma_arrivals(rng, window_weeks, fo["r"], fo["alpha"])
    arrivals = np.bincount(owner, minlength=n)
    offset = 1 + np.floor(7.0 * t).astype(np.int64)
    # Products: pupils from their own pool; the table stacks the adult then the pupil pool.
    pools = (BOOTCAMP_FOLLOW_ONS, BOOTCAMP_PUPIL_FOLLOW_ONS)
    table = _product_table(pools[0] + pools[1])
    adult_w, young_w = (np.array([p.weight for p in pool]) for pool in pools)
    adult_pick = rng.choice(len(adult_w), size=owner.size, p=adult_w / adult_w.sum())
    young_pick = len(adult_w) + rng.choice(len(young_w), size=owner.size, p=young_w / young_w.sum())
    pick = np.where(pupil[owner], young_pick, adult_pick)
    attr = {k: v[pick] for k, v in table.items()}
    # Instalments: only on a student's first purchase of an eligible product, so the
    # instalments of one enrolment are the only rows sharing (customer, course, "instalment").
    key = pd.DataFrame({"o": owner, "c": attr["course"]})
    first_of_product = ~key.duplicated().to_numpy()
    k = np.where(attr["instalments"].astype(bool) & first_of_product
                 & (rng.random(owner.size) < fo["instalment_share"]),
                 rng.choice(np.array(fo["instalment_counts"]), size=owner.size), 1)
    remaining = life[owner] - offset  # > 0: days alive after buying
    pay_owner = proc.group_index(k)
    j = proc.rank_within_group(pay_owner)
    start = signup[owner] + offset
    pay_day = start[pay_owner] + 30 * j
    keep = ((j == 0) | (30 * j <= remaining[pay_owner])) & (pay_day <= as_of)
    pay_owner, j, pay_day = pay_owner[keep], j[keep], pay_day[keep]
    price = attr["price"][pay_owner]
    parts = k[pay_owner]
    first_value = np.round(price / parts, 2)
    amount = np.where(j == parts - 1, price - first_value * (parts - 1), first_value)
    refund = np.zeros(pay_owner.size)
    early = (parts == 1) & (remaining[pay_owner] <= fo["full_refund_within_days"])
    early &= rng.random(pay_owner.size) < fo["full_refund_share"]
    refund[early] = amount[early]
    orders = pd.DataFrame({
        "_row": owner[pay_owner], "day": pay_day, "course": attr["course"][pay_owner],
        "category": attr["category"][pay_owner], "amount": np.round(amount, 2),
        "refund": np.round(refund, 2), "plan": np.where(parts > 1, "instalment", "full"),
    })
    # Lessons of the follow-on courses, while alive and by as_of.
    length = np.minimum(np.minimum(attr["days"], remaining.astype(float)),
                        (as_of - start + 1).astype(float))
    a_owner, a_day = proc.poisson_event_days(rng, start, length, g["attendance_per_week"] / 7.0)
    return FollowOns(orders, owner[a_owner], a_day, window_weeks, arrivals)


def add_years(days: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Same calendar day ``years`` later; 29 February becomes 28 February in common years only
    (so ``years = 0`` always returns the day itself)."""
    d = pd.DatetimeIndex(np.asarray(days).astype("datetime64[D]"))
    y = d.year.to_numpy() + years
    m = d.month.to_numpy()
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    dd = np.where((m == 2) & (d.day.to_numpy() == 29) & ~leap, 28, d.day.to_numpy())
    out = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": dd}))
    return out.to_numpy().astype("datetime64[D]").astype(np.int64)


def simulate_cert(rng: np.random.Generator, spec: TargetSpec, cust: pd.DataFrame) -> Chunk:
    """Annual memberships renewed by a shifted-beta-geometric process, plus exam courses."""
    g = spec.generator
    n = len(cust)
    as_of = day_number(spec.as_of)
    signup = cust["_signup"].to_numpy()
    paid = proc.sbg_periods(rng, n, g["sbg"]["alpha"], g["sbg"]["beta"])
    cap = np.minimum(paid, 12)  # nobody can have more than 8 anniversaries before as_of
    row = proc.group_index(cap)
    k = proc.rank_within_group(row)
    start = add_years(signup[row], k)
    end = add_years(signup[row], k + 1)
    keep = start <= as_of
    row, start, end = row[keep], start[keep], end[keep]
    fee = g["sbg"]["membership_fee"]
    orders = [(row, start, np.zeros(row.size, dtype=np.int64), np.full(row.size, fee), np.zeros(row.size))]
    exam = rng.random(row.size) < g["exam_course_per_year"]
    eday = start[exam] + rng.integers(0, 365, exam.sum())
    ok = eday <= as_of
    erow, eday = row[exam][ok], eday[ok]
    ecourse = rng.integers(1, len(spec.courses), erow.size)
    eprice = np.array([c.price for c in spec.courses])[ecourse]
    eprice = eprice - rng.choice([0.0, 200.0, 500.0], size=erow.size, p=[0.6, 0.25, 0.15])
    erefund = np.where(rng.random(erow.size) < 0.06,
                       np.where(rng.random(erow.size) < 0.5, eprice, np.round(eprice * 0.5, -1)), 0.0)
    orders.append((erow, eday, ecourse, eprice, erefund))
    o = [np.concatenate(parts) for parts in zip(*orders)]
    orders_frame = _orders(o[0], o[1], o[2], spec, o[3], o[4])
    # Activity while a member: logins and lessons through each paid year.
    length = (np.minimum(end, as_of + 1) - start).astype(float)
    rows, days = [], []
    for rate in (0.4 / 30.0, 0.2 / 30.0):
        r, d = proc.poisson_event_days(rng, start, length, rate)
        rows.append(row[r])
        days.append(d)
    activity = aggregate_events(rows, days, ["login", "attendance"])
    asked = rng.random(row.size) < 0.3
    fday = start[asked] + np.floor(rng.random(asked.sum()) * length[asked]).astype(np.int64)
    score = rng.choice(np.arange(1, 6), size=asked.sum(), p=SCORE_WEIGHTS)
    feedback = _feedback(rng, cust, row[asked], fday, score)
    return Chunk(orders_frame, activity, feedback)


SIMULATORS = {"online_school": simulate_online, "bootcamp": simulate_bootcamp,
              "cert_school": simulate_cert}
