"""Redaction of free text (feedback): identifiers and the writer's own name become placeholders.

Redaction is deliberately wider than the scanner: every 18- or 15-character ID-number shape
is replaced whether or not its check character is right, every mobile shape (with +86 and
separators), every e-mail address, and the customer's own name where it is known: the full
name (case-insensitive) and, for Chinese names of three or more characters, the given name
alone (张伟明 -> also 伟明). Names of *other* people (a teacher, a friend) cannot be known
and are not redacted; that limit is stated in the processing log's purpose documentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from valuation.privacy.patterns import EMAIL_IN_TEXT, ID15_IN_TEXT, ID18_IN_TEXT, MOBILE_IN_TEXT

PLACEHOLDERS: dict[str, str] = {
    "mobile": "[手机号]",
    "id_number": "[身份证号]",
    "email": "[邮箱]",
    "name": "[姓名]",
}

_CJK = re.compile(r"^[\u3400-\u9fff\u00b7·]+$")
_HINT = re.compile(r"[0-9０-９@＠]")


def name_variants(name: object) -> list[str]:
    """The forms of a person's name to redact, longest first (empty for names under 2 chars).

    Examples
    --------
    >>> name_variants("张伟明")
    ['张伟明', '伟明']
    >>> name_variants("Zhang Wei")
    ['Zhang Wei']
    """
    if name is None or pd.isna(name):
        return []
    text = str(name).strip()
    if len(text) < 2:
        return []
    variants = [text]
    if _CJK.match(text) and len(text) >= 3:
        variants.append(text[1:])
    return variants


def redact_identifiers(text: str) -> str:
    """Replace e-mails, ID-number shapes and mobile numbers in ``text`` by placeholders.

    Examples
    --------
    >>> redact_identifiers("加我微信 138-1234-5678，邮箱 a.b@qq.com")
    '加我微信 [手机号]，邮箱 [邮箱]'
    """
    text = EMAIL_IN_TEXT.sub(PLACEHOLDERS["email"], text)
    text = ID18_IN_TEXT.sub(PLACEHOLDERS["id_number"], text)
    text = ID15_IN_TEXT.sub(PLACEHOLDERS["id_number"], text)
    return MOBILE_IN_TEXT.sub(PLACEHOLDERS["mobile"], text)


def redact_text(text: object, names: Iterable[object] = ()) -> object:
    """Redact one text: identifiers and the given names of its writer.

    Parameters
    ----------
    text : str or NA
        Free text; NA is returned unchanged.
    names : iterable of str
        Names of the person who wrote it (usually one).

    Returns
    -------
    str or NA
    """
    if text is None or text is pd.NA or (isinstance(text, float) and pd.isna(text)):
        return text
    result = str(text)
    if _HINT.search(result):
        result = redact_identifiers(result)
    for name in names:
        for variant in name_variants(name):
            result = re.sub(re.escape(variant), PLACEHOLDERS["name"], result,
                            flags=re.IGNORECASE)
    return result


def redact_series(texts: pd.Series, names: pd.Series | None = None) -> pd.Series:
    """Redact a column of free text, row by row with the writer's name.

    Parameters
    ----------
    texts : pd.Series
        Free text (NA allowed).
    names : pd.Series, optional
        The writer's name for each row, aligned on ``texts``' index (NA where unknown).

    Returns
    -------
    pd.Series
        ``string`` dtype, same index.
    """
    if names is None:
        names = pd.Series(pd.NA, index=texts.index, dtype="object")
    names = names.reindex(texts.index)
    redacted = [
        redact_text(text, () if name is None or name is pd.NA else (name,))
        for text, name in zip(texts.astype("object"), names.astype("object"))
    ]
    return pd.Series(redacted, index=texts.index, dtype="string", name=texts.name)
