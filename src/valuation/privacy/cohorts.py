"""Consent cohorts: which customers a buyer may receive, and may contact.

* ``all``: every customer record;
* ``transferable``: consented to the transfer (``consent_transfer`` is True; missing consent
  counts as no consent) and not a minor (under 14 at signup) without guardian consent;
* ``transferable_contactable``: transferable and contactable (a valid non-dummy mobile or a
  valid e-mail).

Minors without guardian consent are flagged (:func:`minors_without_guardian_consent`) and
counted. A customer whose age is unknown (no valid ID number) is not treated as a minor.
"""

from __future__ import annotations

import pandas as pd

from valuation.errors import InputError
from valuation.tables import COHORTS


def _flag(customers: pd.DataFrame, column: str) -> pd.Series:
    if column not in customers:
        raise InputError(
            f"customers table: column {column!r} missing; expected the analysis table of "
            "valuation.tables.ANALYSIS_COLUMNS (re-run `valuation ingest <yaml>`)"
        )
    return customers[column].astype("boolean").fillna(False).astype(bool)


def minors_without_guardian_consent(customers: pd.DataFrame) -> pd.Series:
    """True for customers under 14 at signup whose guardian consent is not True."""
    return _flag(customers, "minor") & ~_flag(customers, "guardian_consent")


def cohort_mask(customers: pd.DataFrame, cohort: str) -> pd.Series:
    """Which customers belong to ``cohort`` (one of :data:`valuation.tables.COHORTS`).

    Parameters
    ----------
    customers : pd.DataFrame
        The analysis customers table.
    cohort : str
        ``"all"``, ``"transferable"`` or ``"transferable_contactable"``.

    Returns
    -------
    pd.Series of bool
        Indexed like ``customers``.
    """
    if cohort not in COHORTS:
        raise InputError(f"unknown cohort {cohort!r}; expected one of: {', '.join(COHORTS)}")
    if cohort == "all":
        return pd.Series(True, index=customers.index)
    transferable = _flag(customers, "consent_transfer") & ~minors_without_guardian_consent(
        customers
    )
    if cohort == "transferable":
        return transferable
    return transferable & _flag(customers, "contactable")


def cohort_counts(customers: pd.DataFrame) -> dict[str, int]:
    """Customer records per cohort, plus the flagged groups.

    Returns
    -------
    dict
        ``all``, ``transferable``, ``transferable_contactable``,
        ``minor_without_guardian_consent`` and ``missing_consent`` (consent_transfer NA).
    """
    counts = {cohort: int(cohort_mask(customers, cohort).sum()) for cohort in COHORTS}
    counts["minor_without_guardian_consent"] = int(
        minors_without_guardian_consent(customers).sum()
    )
    counts["missing_consent"] = int(customers["consent_transfer"].isna().sum())
    return counts
