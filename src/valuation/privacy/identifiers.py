"""PRC resident ID numbers, mainland mobile numbers and e-mail addresses.

Every check has a scalar form (one value, for messages and tests) and a vectorised
``*_series`` form (a whole column, for the privacy gate). Scalar forms call the vectorised
ones, so both always agree.

Rules
-----
These check whole column values (the ``mobile`` column holds a mobile); finding identifiers
*inside* text is :mod:`~valuation.privacy.detect`'s job. Both normalise alike (NFKC,
invisible characters removed, dashes and minus signs unified).

* **ID number** (GB 11643-1999): 17 digits + check character (ISO 7064 MOD 11-2, ``X`` = 10).
  Normalisation: NFKC (full-width digits), spaces and dashes removed, ``x`` upper-cased; a
  15-digit legacy number is upgraded to 18 by inserting ``19`` before the 2-digit birth year
  and appending its check character. A number is *valid* when its check character is right
  and its birth date is a real calendar date, not after the reference date and at most
  ``max_age`` years before it.
* **Mobile**: NFKC, spaces, dashes, dots and brackets removed, a leading ``+86``/``0086``
  (or a bare ``86`` before 11 digits) stripped; valid = ``1[3-9]`` + 9 digits.
* **Dummy mobile**: a well-formed number nobody owns, typed to pass a form: the known
  placeholders (:data:`KNOWN_DUMMY_MOBILES`), a number of one repeated digit, and a 3-digit
  prefix followed by 8 identical digits (13800000000, 13888888888, 13900000000).
* **E-mail**: NFKC, trimmed, lower-cased; valid = ``local@domain.tld`` with an ASCII local
  part, dot-separated domain labels and a 2+ letter top-level domain.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from valuation.privacy.normalize import DASH_PATTERN, INVISIBLE_PATTERN

ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

ID18_PATTERN = r"^\d{17}[\dX]$"
ID15_PATTERN = r"^\d{15}$"
MOBILE_PATTERN = r"^1[3-9]\d{9}$"
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$"
)

KNOWN_DUMMY_MOBILES: frozenset[str] = frozenset(
    {"13800000000", "13888888888", "13800138000", "12345678901", "12345678910",
     "13012345678", "13123456789", "10987654321"}
)
"""Placeholder numbers seen in real forms (13800138000 is China Mobile's service line)."""

_DUMMY_SHAPE = r"^(?:(\d)\1{10}|1\d\d(\d)\2{7})$"
_ID_SEPARATORS = r"[\s\-‐–—]"
_MOBILE_SEPARATORS = r"[\s\-‐–—.()（）]"
_MOBILE_PREFIX = r"^(?:\+86|0086|86(?=1\d{10}$))"


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits.

    Parameters
    ----------
    first17 : str
        The first 17 digits of an 18-digit resident ID number.

    Returns
    -------
    str
        One of ``0123456789X``.

    Examples
    --------
    >>> id_check_digit("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("expected exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _as_string(values: pd.Series) -> pd.Series:
    """A ``string`` Series normalised as the detector does (NFKC, invisible characters
    removed, every dash and minus sign ``-``) and stripped; empty text becomes NA."""
    text = values.astype("string").str.normalize("NFKC")
    text = text.str.replace(INVISIBLE_PATTERN, "", regex=True)
    text = text.str.replace(DASH_PATTERN, "-", regex=True).str.strip()
    return text.mask(text == "")


def _check_chars(first17: pd.Series) -> pd.Series:
    """Vectorised MOD 11-2 check characters of a Series of 17-digit strings (no NA)."""
    if first17.empty:
        return pd.Series([], dtype="string", index=first17.index)
    raw = np.frombuffer("".join(first17.tolist()).encode("ascii"), dtype=np.uint8)
    digits = raw.reshape(-1, 17).astype(np.int64) - 48
    remainder = digits @ np.asarray(ID_WEIGHTS, dtype=np.int64) % 11
    chars = np.asarray(list(ID_CHECK_CHARS))[remainder]
    return pd.Series(chars, index=first17.index, dtype="string")


def _scalar(series_fn, value, **kwargs):
    result = series_fn(pd.Series([value], dtype="object"), **kwargs).iloc[0]
    return None if pd.isna(result) else result


# ---------------------------------------------------------------------------------------
# ID numbers
# ---------------------------------------------------------------------------------------
def normalize_id_number_series(values: pd.Series) -> pd.Series:
    """Normalise ID numbers; 15-digit legacy numbers are upgraded to 18 characters.

    Parameters
    ----------
    values : pd.Series
        ID numbers as exported (any dtype; NA allowed).

    Returns
    -------
    pd.Series
        ``string`` dtype: the cleaned text (18 characters when well-formed; other text is
        returned cleaned so it can be reported as malformed); NA when empty.
    """
    text = _as_string(values).str.replace(_ID_SEPARATORS, "", regex=True).str.upper()
    legacy = text.str.fullmatch(ID15_PATTERN).fillna(False).astype(bool)
    if legacy.any():
        first17 = text[legacy].str[:6] + "19" + text[legacy].str[6:]
        text = text.copy()
        text[legacy] = first17 + _check_chars(first17)
    return text


def normalize_id_number(value: object) -> str | None:
    """Normalise one ID number (see :func:`normalize_id_number_series`).

    Examples
    --------
    >>> normalize_id_number(" 110105 19491231 002x ")
    '11010519491231002X'
    >>> normalize_id_number("110105491231002")  # 15-digit legacy number
    '11010519491231002X'
    """
    return _scalar(normalize_id_number_series, value)


def check_id_number_series(
    values: pd.Series,
    *,
    on: dt.date | pd.Series | None = None,
    max_age: int = 120,
) -> pd.DataFrame:
    """Every ID-number check at once, for a column of ID numbers.

    Parameters
    ----------
    values : pd.Series
        ID numbers as exported.
    on : date or Series of dates, optional
        Reference date(s): the birth date must not be after it and at most ``max_age``
        years before it (default: today). A Series must share ``values``' index; NA
        entries fall back to today.
    max_age : int
        Oldest plausible age in full years at the reference date.

    Returns
    -------
    pd.DataFrame
        Indexed like ``values``, columns ``normalized`` (string), ``present``,
        ``well_formed`` (18 characters after normalisation), ``checksum_ok``,
        ``birthdate_ok``, ``valid`` (bool) and ``birth_date`` (datetime64, NaT unless the
        date is real). Only the secure zone may hold ``birth_date``.
    """
    normalized = normalize_id_number_series(values)
    present = normalized.notna().to_numpy()
    well_formed = normalized.str.fullmatch(ID18_PATTERN).fillna(False).astype(bool)
    checksum_ok = pd.Series(False, index=values.index)
    if well_formed.any():
        formed = normalized[well_formed]
        checksum_ok[well_formed] = (_check_chars(formed.str[:17]) == formed.str[17]).to_numpy()
    birth = pd.to_datetime(normalized.where(well_formed).str[6:14], format="%Y%m%d",
                           errors="coerce")
    today = pd.Timestamp(dt.date.today())
    if on is None:
        reference = pd.Series(today, index=values.index)
    elif isinstance(on, pd.Series):
        reference = pd.to_datetime(on).reindex(values.index).fillna(today)
    else:
        reference = pd.Series(pd.Timestamp(on), index=values.index)
    age = full_years(birth, reference)
    birthdate_ok = (birth.notna() & (birth <= reference) & (age <= max_age)).fillna(False)
    return pd.DataFrame(
        {
            "normalized": normalized,
            "present": present,
            "well_formed": well_formed.to_numpy(),
            "checksum_ok": checksum_ok.to_numpy(dtype=bool),
            "birthdate_ok": birthdate_ok.to_numpy(dtype=bool),
            "valid": (checksum_ok & birthdate_ok).to_numpy(dtype=bool),
            "birth_date": birth,
        },
        index=values.index,
    )


def full_years(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Age in completed years at ``on`` (Int64; NA where either date is missing)."""
    years = on.dt.year - birth.dt.year
    before_birthday = (on.dt.month < birth.dt.month) | (
        (on.dt.month == birth.dt.month) & (on.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")


def validate_id_number_series(
    values: pd.Series, *, on: dt.date | pd.Series | None = None, max_age: int = 120
) -> pd.Series:
    """True where the ID number is valid: check character right and a plausible birth date.

    See :func:`check_id_number_series` for the parameters.
    """
    return check_id_number_series(values, on=on, max_age=max_age)["valid"]


def validate_id_number(value: object, *, on: dt.date | None = None, max_age: int = 120) -> bool:
    """Whether one ID number is valid (18 characters after normalisation, MOD 11-2 check
    character right, a real birth date not after ``on`` (default today), age <= ``max_age``).

    Examples
    --------
    >>> validate_id_number("11010519491231002X")
    True
    >>> validate_id_number("110105194912310021")  # wrong check digit
    False
    """
    return bool(validate_id_number_series(pd.Series([value], dtype="object"), on=on,
                                          max_age=max_age).iloc[0])


# ---------------------------------------------------------------------------------------
# Mobile numbers
# ---------------------------------------------------------------------------------------
def normalize_mobile_series(values: pd.Series) -> pd.Series:
    """Normalise mainland mobile numbers: NFKC, separators and the +86/0086 prefix removed.

    Returns
    -------
    pd.Series
        ``string`` dtype; NA when empty. Invalid text is returned cleaned, not dropped.
    """
    text = _as_string(values).str.replace(_MOBILE_SEPARATORS, "", regex=True)
    text = text.str.replace(_MOBILE_PREFIX, "", regex=True)
    return text.mask(text == "")


def normalize_mobile(value: object) -> str | None:
    """Normalise one mobile number.

    Examples
    --------
    >>> normalize_mobile("+86 138-1234-5678")
    '13812345678'
    >>> normalize_mobile("１３８ １２３４ ５６７８")
    '13812345678'
    """
    return _scalar(normalize_mobile_series, value)


def validate_mobile_series(values: pd.Series) -> pd.Series:
    """True where the normalised number is a mainland mobile: ``1[3-9]`` + 9 digits."""
    normalized = normalize_mobile_series(values)
    return normalized.str.fullmatch(MOBILE_PATTERN).fillna(False).astype(bool)


def validate_mobile(value: object) -> bool:
    """Whether one number is a mainland mobile after normalisation."""
    return bool(validate_mobile_series(pd.Series([value], dtype="object")).iloc[0])


def is_dummy_mobile_series(values: pd.Series) -> pd.Series:
    """True where the normalised number is a known placeholder or a repeated-digit number."""
    normalized = normalize_mobile_series(values)
    known = normalized.isin(KNOWN_DUMMY_MOBILES).fillna(False).astype(bool)
    shaped = normalized.str.fullmatch(_DUMMY_SHAPE).fillna(False).astype(bool)
    return known | shaped


def is_dummy_mobile(value: object) -> bool:
    """Whether one number is a dummy (13800000000, 13888888888, 11111111111, 12345678901...).

    Examples
    --------
    >>> is_dummy_mobile("138 0000 0000"), is_dummy_mobile("13812345678")
    (True, False)
    """
    return bool(is_dummy_mobile_series(pd.Series([value], dtype="object")).iloc[0])


# ---------------------------------------------------------------------------------------
# E-mail addresses
# ---------------------------------------------------------------------------------------
def normalize_email_series(values: pd.Series) -> pd.Series:
    """Normalise e-mail addresses: NFKC (full-width ＠), trimmed, lower case; NA when empty."""
    return _as_string(values).str.lower()


def normalize_email(value: object) -> str | None:
    """Normalise one e-mail address.

    Examples
    --------
    >>> normalize_email(" Zhang.Wei＠Example.COM ")
    'zhang.wei@example.com'
    """
    return _scalar(normalize_email_series, value)


def validate_email_series(values: pd.Series) -> pd.Series:
    """True where the normalised address is a plausible ``local@domain.tld``."""
    normalized = normalize_email_series(values)
    return normalized.str.fullmatch(EMAIL_PATTERN).fillna(False).astype(bool)


def validate_email(value: object) -> bool:
    """Whether one e-mail address is plausible after normalisation."""
    return bool(validate_email_series(pd.Series([value], dtype="object")).iloc[0])
