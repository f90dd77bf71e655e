"""Consent cohorts."""

from __future__ import annotations

import pandas as pd
import pytest

from valuation.errors import InputError
from valuation.privacy.cohorts import cohort_counts, cohort_mask, minors_without_guardian_consent


@pytest.fixture
def customers() -> pd.DataFrame:
    b = lambda *v: pd.array(v, dtype="boolean")  # noqa: E731
    return pd.DataFrame({
        "customer_token": list("abcdefg"),
        #                        a     b      c     d     e      f     g
        "consent_transfer": b(True, True, None, False, True, True, True),
        "minor": b(False, True, False, False, True, None, False),
        "guardian_consent": b(None, None, None, None, True, None, None),
        "contactable": b(True, True, True, True, False, True, False),
    })


def test_cohort_masks(customers):
    assert cohort_mask(customers, "all").all()
    assert cohort_mask(customers, "transferable").tolist() == [
        True, False, False, False, True, True, True]
    assert cohort_mask(customers, "transferable_contactable").tolist() == [
        True, False, False, False, False, True, False]
    assert minors_without_guardian_consent(customers).tolist() == [
        False, True, False, False, False, False, False]


def test_cohort_counts(customers):
    assert cohort_counts(customers) == {
        "all": 7, "transferable": 4, "transferable_contactable": 2,
        "minor_without_guardian_consent": 1, "missing_consent": 1}


def test_unknown_cohort_or_missing_column_is_a_clear_error(customers):
    with pytest.raises(InputError, match="unknown cohort"):
        cohort_mask(customers, "everyone")
    with pytest.raises(InputError, match="contactable"):
        cohort_mask(customers.drop(columns="contactable"), "transferable_contactable")
