"""Fictional people: names, mobiles, resident ID numbers, e-mails and cities, vectorised.

Identifiers are unique by construction (redrawn until they are): no two generated people share
a mobile or the first 17 digits of an ID number, and no natural mobile is a known dummy, so
every ``repeated_phone`` or ``dummy_phone`` in a sample is a planted one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.privacy.identifiers import id_check_digit
from valuation.samples import vocab

DAYS_PER_YEAR = 365.2425


def _choice(rng: np.random.Generator, items, weights, size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(items), size=size, p=w / w.sum())


def _digits(rng: np.random.Generator, size: int, width: int) -> np.ndarray:
    """Random zero-padded digit strings of a fixed width."""
    values = rng.integers(0, 10**width, size=size)
    return np.char.zfill(values.astype(str), width)


def full_years(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Age in completed calendar years on a date (both ``datetime64[D]`` arrays)."""
    b = pd.DatetimeIndex(birth)
    d = pd.DatetimeIndex(on)
    before = (d.month < b.month) | ((d.month == b.month) & (d.day < b.day))
    return np.asarray(d.year - b.year - before.astype(int))


def birth_dates(rng: np.random.Generator, signup: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Birth dates giving exactly ``ages`` completed years at signup, away from birthdays.

    The fractional part of the age is kept in [0.06, 0.94] so that any reasonable age
    arithmetic (calendar years or days / 365.25) agrees on the age and the age band.
    """
    frac = rng.uniform(0.06, 0.94, size=len(ages))
    days = np.round((ages + frac) * DAYS_PER_YEAR).astype("timedelta64[D]")
    return signup - days


def unique_mobiles(rng: np.random.Generator, size: int) -> np.ndarray:
    """Distinct mainland mobile numbers (11 digits, prefix 13x-19x), none a dummy."""
    prefixes = np.array(vocab.MOBILE_PREFIXES)
    out = np.empty(size, dtype="<U11")
    todo = np.arange(size)
    while todo.size:
        out[todo] = np.char.add(prefixes[rng.integers(0, len(prefixes), todo.size)],
                                _digits(rng, todo.size, 8))
        _, first = np.unique(out, return_index=True)
        dup = np.ones(size, dtype=bool)
        dup[first] = False
        todo = np.flatnonzero(dup)
    return out


def id_numbers(rng: np.random.Generator, birth: np.ndarray, female: np.ndarray) -> np.ndarray:
    """18-digit resident ID numbers (GB 11643-1999) with valid check digits, all distinct.

    Region codes are districts of provincial capitals; the sequence code's last digit is odd
    for men and even for women, as in real numbers.
    """
    size = len(birth)
    regions = np.array(vocab.REGION_CODES)[rng.integers(0, len(vocab.REGION_CODES), size)]
    ymd = pd.DatetimeIndex(birth).strftime("%Y%m%d").to_numpy().astype("<U8")
    stem = np.char.add(regions, ymd)
    first17 = np.empty(size, dtype="<U17")
    todo = np.arange(size)
    while todo.size:
        seq = rng.integers(0, 500, todo.size) * 2 + np.where(female[todo], 0, 1)
        first17[todo] = np.char.add(stem[todo], np.char.zfill(seq.astype(str), 3))
        _, first = np.unique(first17, return_index=True)
        dup = np.ones(size, dtype=bool)
        dup[first] = False
        todo = np.flatnonzero(dup)
    checks = np.array([id_check_digit(s) for s in first17.tolist()])
    return np.char.add(first17, checks)


def names_and_emails(
    rng: np.random.Generator, birth_year: np.ndarray, email_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Chinese names (family + one or two given characters) and matching e-mail addresses.

    E-mails are pinyin-based (``zhangwei1995@163.com``) or numeric QQ addresses; a share
    ``1 - email_share`` of people gave none (empty string).
    """
    size = len(birth_year)
    fam = _choice(rng, vocab.FAMILY_NAMES, [f[2] for f in vocab.FAMILY_NAMES], size)
    fam_chars = np.array([f[0] for f in vocab.FAMILY_NAMES])[fam]
    fam_pinyin = np.array([f[1] for f in vocab.FAMILY_NAMES])[fam]
    given_chars = np.array([g[0] for g in vocab.GIVEN_CHARS])
    given_pinyin = np.array([g[1] for g in vocab.GIVEN_CHARS])
    g1 = rng.integers(0, len(given_chars), size)
    g2 = rng.integers(0, len(given_chars), size)
    two = rng.random(size) < 0.7
    name = np.char.add(np.char.add(fam_chars, given_chars[g1]), np.where(two, given_chars[g2], ""))
    local = np.char.add(np.char.add(fam_pinyin, given_pinyin[g1]),
                        np.where(two, given_pinyin[g2], ""))
    style = rng.random(size)
    suffix = np.where(style < 0.35, birth_year.astype(str),
                      np.where(style < 0.7, rng.integers(1, 1000, size).astype(str), ""))
    local = np.char.add(local, suffix)
    domains = np.array([d[0] for d in vocab.EMAIL_DOMAINS])
    dom = domains[_choice(rng, vocab.EMAIL_DOMAINS, [d[1] for d in vocab.EMAIL_DOMAINS], size)]
    qq = (dom == "qq.com") & (rng.random(size) < 0.5)
    local = np.where(qq, rng.integers(10**6, 10**10 - 1, size).astype(str), local)
    email = np.char.add(np.char.add(local, "@"), dom)
    email = np.where(rng.random(size) < email_share, email, "")
    return name, email


def format_mobiles(rng: np.random.Generator, mobile: np.ndarray, messy_share: float) -> np.ndarray:
    """Mobiles as a clerk typed them: mostly plain, some ``+86 138 1234 5678`` or dashed."""
    m = mobile.astype("<U11")
    spaced = np.char.add(np.char.add(np.char.add("+86 ", np.char.add(_slice(m, 0, 3), " ")),
                                     np.char.add(_slice(m, 3, 7), " ")), _slice(m, 7, 11))
    dashed = np.char.add(np.char.add(_slice(m, 0, 3), "-"),
                         np.char.add(np.char.add(_slice(m, 3, 7), "-"), _slice(m, 7, 11)))
    u = rng.random(len(m))
    return np.where(u < messy_share / 2, spaced, np.where(u < messy_share, dashed, m))


def _slice(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    return np.strings.slice(values, start, stop)


def cities(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cities of residence, tier-1 to small cities, by realistic weights."""
    names = np.array([c[0] for c in vocab.CITIES])
    return names[_choice(rng, vocab.CITIES, [c[2] for c in vocab.CITIES], size)]


def draw_people(
    rng: np.random.Generator,
    signup: np.ndarray,
    ages: np.ndarray,
    *,
    email_share: float = 0.85,
    messy_mobile_share: float = 0.0,
) -> pd.DataFrame:
    """Identity columns of ``len(signup)`` fictional people of the given ages at signup.

    Returns
    -------
    DataFrame
        ``name, mobile, id_number, email, city`` (export form) plus the hidden columns
        ``_mobile`` (normalised), ``_birth`` (datetime64[D]) and ``_age`` (years at signup).
    """
    size = len(signup)
    birth = birth_dates(rng, signup, ages)
    female = rng.random(size) < 0.45
    name, email = names_and_emails(rng, pd.DatetimeIndex(birth).year.to_numpy(), email_share)
    mobile = unique_mobiles(rng, size)
    return pd.DataFrame({
        "name": name,
        "mobile": format_mobiles(rng, mobile, messy_mobile_share),
        "id_number": id_numbers(rng, birth, female),
        "email": email,
        "city": cities(rng, size),
        "_mobile": mobile,
        "_birth": birth,
        "_age": full_years(birth, signup),
    })
