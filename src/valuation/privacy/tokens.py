"""Pseudonyms: keyed HMAC-SHA256 tokens of normalised identifiers.

A token is ``HMAC-SHA256(key, field + "\\x1f" + value)`` truncated to 128 bits (32 hex
characters). The field name is mixed in so that the same text under two fields (a mobile
number used as a customer number, say) gives unrelated tokens, and the per-deal key makes a
token useless without it: a plain SHA-256 of a mobile number is reversed by enumerating the
~10^10 possible numbers in seconds, an HMAC is not without the key.

Callers normalise values first (:mod:`valuation.privacy.identifiers`); this module only
applies NFKC and trims surrounding space so that invisible differences do not split tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa

from valuation.errors import PrivacyError

KEY_BYTES = 32
TOKEN_HEX_CHARS = 32
FIELD_SEPARATOR = "\x1f"


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise PrivacyError(
            f"the deal key must be {KEY_BYTES} bytes; load it with "
            "valuation.privacy.keys.load_key(params)"
        )


def _message(field: str, value: object) -> bytes:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return (field + FIELD_SEPARATOR + text).encode("utf-8")


def token(value: object, field: str, key: bytes) -> str:
    """The token of one value (see :func:`pseudonymize`).

    Examples
    --------
    >>> len(token("13812345678", "mobile", bytes(32)))
    32
    """
    _check_key(key)
    digest = hmac.new(bytes(key), _message(field, value), hashlib.sha256).hexdigest()
    return digest[:TOKEN_HEX_CHARS]


def pseudonymize(values: pd.Series, field: str, key: bytes) -> pd.Series:
    """Replace each value by its keyed token; NA stays NA.

    Parameters
    ----------
    values : pd.Series
        Normalised identifiers (any dtype; converted to text).
    field : str
        The field name mixed into every token (e.g. ``"customer_id"``, ``"person"``,
        ``"mobile"``).
    key : bytes
        The 32-byte deal key.

    Returns
    -------
    pd.Series
        ``string`` dtype (pyarrow-backed), same index, 32 lower-case hex characters per value. Each distinct
        value is hashed once (duplicates are common: repeat customers in orders).
    """
    _check_key(key)
    if not isinstance(field, str) or not field:
        raise PrivacyError("pseudonymize needs a non-empty field name")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    key = bytes(key)
    unique_tokens = [
        hmac.new(key, _message(field, value), hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]
        for value in uniques
    ]
    # one Arrow array of the distinct tokens, taken by code: no Python object per row
    lookup = pa.array([*unique_tokens, None], type=pa.string())
    take = pa.array(np.where(codes < 0, len(unique_tokens), codes))
    return pd.Series(pd.arrays.ArrowStringArray(lookup.take(take)), index=values.index,
                     name=values.name)
