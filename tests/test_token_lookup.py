"""Token membership and positions on Arrow-backed text agree with pandas' own answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuation.token_lookup import token_positions, tokens_in


def _tokens(n: int, seed: int, dtype: str) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = np.array([f"{v:032x}" for v in rng.integers(0, 500, size=n)], dtype=object)
    values[rng.random(n) < 0.05] = None
    return pd.Series(values, dtype=dtype)


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "string[python]", "object"])
def test_tokens_in_matches_pandas_isin(dtype):
    tokens = _tokens(5_000, seed=1, dtype=dtype)
    allowed = [f"{v:032x}" for v in range(0, 500, 3)]
    expected = tokens.isin(allowed).to_numpy(bool)
    for value_set in (allowed, set(allowed), pd.Index(allowed),
                      pd.Series(allowed, dtype="string[pyarrow]")):
        got = tokens_in(tokens, value_set)
        assert got.dtype == bool and np.array_equal(got, expected)
    assert tokens[tokens.isna()].size > 0 and not tokens_in(tokens, allowed)[tokens.isna()].any()
    assert not tokens_in(tokens, []).any()


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "object"])
def test_token_positions_match_get_indexer(dtype):
    tokens = _tokens(5_000, seed=2, dtype=dtype)
    index = pd.Index(sorted({f"{v:032x}" for v in range(0, 500, 2)}), dtype="string[pyarrow]")
    got = token_positions(tokens, index)
    assert got.dtype == np.int64
    assert np.array_equal(got, index.get_indexer(tokens.astype(object)))
    assert (got[tokens.isna().to_numpy()] == -1).all()
    hit = got >= 0
    assert (index.to_numpy()[got[hit]] == tokens[hit].to_numpy()).all()
