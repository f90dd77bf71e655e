"""Redaction of free text (feedback): identifiers and the writer's own name become placeholders.

Identifiers are those of the one detector (:mod:`~valuation.privacy.detect`), in every
spelling it knows; redaction is deliberately wider than the scanner: every detection is
replaced, certain or not (an ID number with a wrong check character, a dummy mobile). The
customer's own name is replaced where it is known: the full name (case-insensitive) and,
for Chinese names of three or more characters, the given name alone (张伟明 -> also 伟明).
Names of *other customers* are replaced by the gate (:mod:`~valuation.privacy.names`);
names of people who are not customers (a teacher, a friend) cannot be known and stay: that
limit is stated in ``docs/privacy.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from valuation.privacy.detect import detect, replace_detections

PLACEHOLDERS: dict[str, str] = {
    "mobile": "[手机号]",
    "id_number": "[身份证号]",
    "email": "[邮箱]",
    "qq": "[QQ号]",
    "wechat": "[微信号]",
    "name": "[姓名]",
}

_CJK = re.compile(r"^[\u3400-\u9fff\u00b7·]+$")


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
    """Replace every identifier the detector finds in ``text`` by its placeholder.

    Examples
    --------
    >>> redact_identifiers("加我微信 138-1234-5678，邮箱 a.b@qq.com")
    '加我微信 [手机号]，邮箱 [邮箱]'
    >>> redact_identifiers("wx１３８\u200b1234－5678 / zhang[at]163 dot com")
    'wx[手机号] / [邮箱]'
    """
    found = detect(text)
    if not found:
        return text
    return replace_detections(text, found, lambda d: PLACEHOLDERS[d.kind])


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
    result = redact_identifiers(str(text))
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
