"""Small-cell suppression."""

from __future__ import annotations

import pandas as pd
import pytest

from valuation.errors import InputError
from valuation.privacy.suppress import suppress_small_cells


def table(counts):
    return pd.DataFrame({"city": [f"c{i}" for i in range(len(counts))],
                         "customers": counts,
                         "revenue": [100.0 * c for c in counts]})


def test_small_rows_are_blanked_labels_kept_and_flagged():
    result = suppress_small_cells(table([2, 50, 7, 30]), "customers", 5)
    assert result["suppressed"].tolist() == [True, False, True, False]
    assert result["city"].tolist() == ["c0", "c1", "c2", "c3"]
    assert result.loc[0, ["customers", "revenue"]].isna().all()
    assert result.loc[1, "customers"] == 50 and result.loc[1, "revenue"] == 5000.0
    assert result["suppression_note"][0] == "fewer than 5 customers"
    assert "total" in result["suppression_note"][2]
    assert "fewer than 5" in result.attrs["note"]


def test_single_small_cell_gets_a_complementary_cell_so_the_total_cannot_reveal_it():
    result = suppress_small_cells(table([1, 40, 9, 12]), "customers", 5)
    assert result["suppressed"].tolist() == [True, False, True, False]  # smallest other: 9
    visible = result.loc[~result["suppressed"], "customers"].sum()
    assert 62 - visible == 10  # the blanked group sum is >= k, not the single small cell


def test_two_small_cells_summing_below_k_get_a_third():
    result = suppress_small_cells(table([1, 2, 40, 20]), "customers", 5)
    assert result["suppressed"].tolist() == [True, True, False, True]


def test_nothing_small_nothing_blanked_and_zero_rows_stay():
    result = suppress_small_cells(table([0, 5, 6]), "customers", 5)
    assert not result["suppressed"].any()
    assert result["customers"].tolist() == [0, 5, 6] and result.attrs["note"] == ""
    result = suppress_small_cells(table([3, 6]), "customers", 5, total_derivable=False)
    assert result["suppressed"].tolist() == [True, False]


def test_input_is_not_modified_and_bad_arguments_are_errors():
    original = table([1, 40])
    copy = original.copy()
    suppress_small_cells(original, "customers", 5)
    pd.testing.assert_frame_equal(original, copy)
    with pytest.raises(InputError):
        suppress_small_cells(original, "nope", 5)
    with pytest.raises(InputError):
        suppress_small_cells(original, "customers", 0)
