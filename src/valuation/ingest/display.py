"""Cell values as they may appear in a message: masked wherever they could be personal."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from valuation.privacy.masking import (
    mask_email,
    mask_id_number,
    mask_mobile,
    mask_name,
    mask_value,
)

_MASKERS = {
    "name": mask_name,
    "mobile": mask_mobile,
    "id_number": mask_id_number,
    "email": mask_email,
}
_NAME_LIKE = re.compile(r"[\u3400-\u9fff·]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+)+")


def display_value(column: str, value: object) -> str | None:
    """A cell value safe to print in an error message.

    Personal columns use their own mask (``张**``, ``138****5678``); any other column goes
    through :func:`~valuation.privacy.masking.mask_value`, and a value shaped like a person's
    name (2-4 Chinese characters, or capitalised words) is masked like a name, because a
    shifted column can put a name where an amount was expected.

    Examples
    --------
    >>> display_value("amount", "abc")
    'abc'
    >>> display_value("amount", "张三")
    '张*'
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        text = pd.Timestamp(value).isoformat(sep=" ")
    else:
        text = str(value)
    if column in _MASKERS:
        return _MASKERS[column](text)
    if _NAME_LIKE.fullmatch(text.strip()):
        return mask_name(text.strip())
    return mask_value(text)
