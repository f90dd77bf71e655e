"""No free text by accident: every text column of the analysis zone has a policy.

Each string column of :data:`valuation.tables.ANALYSIS_COLUMNS` is one of:

``token``
    a keyed pseudonym (customer, person, mobile token);
``derived``
    a closed vocabulary the gate computes itself (city tier, province, sex, bands);
``closed``
    a closed vocabulary of the export (:data:`CLOSED_VOCABULARIES`): known values are kept,
    anything else becomes ``other``;
``categorical``
    a label typed by the seller (city, channel, course, category): identifiers are
    redacted with the detector, known customers' names replaced, then every value held by
    fewer than ``privacy.min_cell_size`` distinct customers becomes ``other``
    (:data:`OTHER`), so a referrer's name or phone in a channel value never reaches a
    table or a figure;
``key``
    a record key (order number): kept, except a value in which the detector finds an
    identifier, which is replaced by its keyed pseudonym (uniqueness is kept);
``free_text``
    redacted text (feedback): identifiers and every known customer's name replaced.

:func:`check_policies` fails when a new string column has no policy (a test calls it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.privacy.detect import detect_many
from valuation.privacy.names import NameMatcher
from valuation.privacy.redact import PLACEHOLDERS, redact_identifiers
from valuation.tables import ANALYSIS_COLUMNS

OTHER = "other"
CLOSED_VOCABULARIES: dict[tuple[str, str], frozenset[str]] = {
    ("activity", "event_type"): frozenset({"attendance", "login"}),
    ("orders", "payment_plan"): frozenset({"full", "instalment"}),
}
POLICIES: dict[tuple[str, str], str] = {
    ("customers", "customer_token"): "token",
    ("customers", "person_token"): "token",
    ("customers", "mobile_token"): "token",
    ("customers", "city"): "categorical",
    ("customers", "city_tier"): "derived",
    ("customers", "province"): "derived",
    ("customers", "sex"): "derived",
    ("customers", "birth_year_band"): "derived",
    ("customers", "age_band"): "derived",
    ("customers", "channel"): "categorical",
    ("orders", "order_id"): "key",
    ("orders", "customer_token"): "token",
    ("orders", "course"): "categorical",
    ("orders", "category"): "categorical",
    ("orders", "payment_plan"): "closed",
    ("activity", "customer_token"): "token",
    ("activity", "event_type"): "closed",
    ("feedback", "customer_token"): "token",
    ("feedback", "text_redacted"): "free_text",
}
"""Policy of every string column of the analysis tables."""


def check_policies() -> list[tuple[str, str]]:
    """String columns of the analysis contract without a policy (should be empty)."""
    return [(table, column) for table, columns in ANALYSIS_COLUMNS.items()
            for column, dtype in columns.items()
            if dtype == "string" and (table, column) not in POLICIES]


def clean_labels(values: pd.Series, names: NameMatcher | None = None) -> pd.Series:
    """Redact identifiers and known names inside label values (each distinct value once).

    Parameters
    ----------
    values : pd.Series
        Labels (string; NA allowed).
    names : NameMatcher, optional
        Every customer's name.

    Returns
    -------
    pd.Series
        ``string`` dtype, same index; values without a finding are unchanged.
    """
    text = values.astype("string")
    uniques = text.dropna().unique()
    mapping = {}
    for value in uniques:
        cleaned = redact_identifiers(value)
        if names:
            cleaned = names.replace(cleaned, PLACEHOLDERS["name"])
        if cleaned != value:
            mapping[value] = cleaned
    if not mapping:
        return text
    return text.replace(mapping).astype("string")


def group_rare(values: pd.Series, customers: pd.Series, k: int,
               other: str = OTHER) -> pd.Series:
    """Values held by fewer than ``k`` distinct customers become ``other``.

    Parameters
    ----------
    values : pd.Series
        Labels (NA stays NA).
    customers : pd.Series
        The customer of each row (id or token), aligned with ``values``.
    k : int
        ``privacy.min_cell_size``.

    Returns
    -------
    pd.Series
        ``string`` dtype, same index.

    Examples
    --------
    >>> v = pd.Series(["wechat"] * 5 + ["张三介绍"])
    >>> group_rare(v, pd.Series(range(6)), 5).tolist()[-2:]
    ['wechat', 'other']
    """
    text = values if pd.api.types.is_string_dtype(values.dtype) else values.astype("string")
    codes, uniques = pd.factorize(text)  # Arrow-backed text: dictionary-encoded in Arrow
    if len(uniques) == 0:
        return text
    who, _ = pd.factorize(customers)
    keep = (codes >= 0) & (who >= 0)
    pairs = pd.unique(codes[keep].astype(np.int64) * (int(who.max()) + 2) + who[keep])  # hashed
    per_value = np.bincount(pairs // (int(who.max()) + 2), minlength=len(uniques))
    rare = np.flatnonzero(per_value < k)
    if len(rare) == 0:
        return text
    return text.mask(np.isin(codes, rare), other)


def close_vocabulary(values: pd.Series, allowed: frozenset[str], other: str = OTHER) -> pd.Series:
    """Known values kept, any other non-missing value becomes ``other``."""
    text = values.astype("string")
    return text.mask(text.notna() & ~text.isin(allowed), other)


def pseudonymise_keys(values: pd.Series, tokenize) -> pd.Series:
    """Record keys in which the detector finds an identifier become ``tokenize(value)``.

    Parameters
    ----------
    values : pd.Series
        Keys (order numbers).
    tokenize : callable
        Series of text -> Series of pseudonyms (the keyed HMAC of the gate).
    """
    text = values.astype("string")
    uniques = text.dropna().unique()
    hits = sorted({i for i, _ in detect_many(list(uniques))})
    if not hits:
        return text
    flagged = pd.Series([uniques[i] for i in hits], dtype="string")
    mapping = dict(zip(flagged, "k" + tokenize(flagged).astype(str)))
    return text.replace(mapping).astype("string")


def apply_policy(frame: pd.DataFrame, table: str, customers: pd.Series, *, k: int,
                 names: NameMatcher | None, tokenize) -> None:
    """Apply every column's policy to an analysis ``frame`` in place (see module docstring).

    Parameters
    ----------
    frame : pd.DataFrame or dict of Series
        One analysis table (columns of ``ANALYSIS_COLUMNS[table]``).
    table : str
        Its name.
    customers : pd.Series
        The customer of each row, for counting distinct customers per value.
    k : int
        ``privacy.min_cell_size``.
    names : NameMatcher, optional
        Every customer's name.
    tokenize : callable
        For record keys (:func:`pseudonymise_keys`).
    """
    for column in ANALYSIS_COLUMNS[table]:
        policy = POLICIES.get((table, column))
        if column not in frame or policy in (None, "token", "derived", "free_text"):
            continue
        dtype = frame[column].dtype
        if policy == "closed":
            result = close_vocabulary(frame[column], CLOSED_VOCABULARIES[(table, column)])
        elif policy == "categorical":
            result = group_rare(clean_labels(frame[column], names), customers, k)
        else:  # key
            result = pseudonymise_keys(frame[column], tokenize)
        frame[column] = result.astype(dtype)
