"""Masking for display: 138****5678, 110***********1234. Display only, never as keys."""

from __future__ import annotations

import re

from valuation.privacy.detect import detect, replace_detections

_DIGITS = re.compile(r"\d")


def mask_mobile(value: str) -> str:
    """Mask a mobile number, keeping the first 3 and last 4 digits: ``138****5678``."""
    digits = re.sub(r"\D", "", str(value))
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(value: str) -> str:
    """Mask a resident ID number, keeping the first 3 and last 4 characters."""
    text = str(value).strip()
    if len(text) < 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_email(value: str) -> str:
    """Mask an e-mail address: ``z***@example.com``."""
    text = str(value).strip()
    local, sep, domain = text.partition("@")
    if not sep:
        return mask_value(text)
    return (local[:1] + "***") + "@" + domain


def mask_name(value: str) -> str:
    """Mask a person's name, keeping the family name (first character): ``张**``."""
    text = str(value).strip()
    return text[:1] + "*" * max(len(text) - 1, 1) if text else text


_SEPARATED_DIGITS = re.compile(r"\+?\d(?:[\s\-.()]{0,2}\d){5,}[Xx]?")
"""A run of 6 or more digits, possibly split by spaces, dashes, dots or brackets
(``+86 138 1234 5678``, ``110105-1949...``)."""


_DATE_SHAPED = re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}")


def _mask_digit_run(match: re.Match) -> str:
    run = match.group(0)
    if _DATE_SHAPED.fullmatch(run):
        return run  # a date such as 2024-01-05 is not personal and helps the user
    digits = re.sub(r"[^\dXx]", "", run)
    return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mask_value(value: object, max_len: int = 40) -> str:
    """Mask any value that could be personal, for error messages.

    Long runs of digits (6 or more, also when split by spaces or dashes) keep only their
    first 3 and last 2 digits, e-mail addresses keep their first character and domain, any
    other identifier the detector finds (zero-width characters, ``[at]``, Chinese numerals)
    is masked by kind, and the result is cut to ``max_len``.
    Short non-numeric text (a typo in a date, "abc" in an amount) is shown as is, so the
    user can see what is wrong.
    """
    text = str(value)
    text = re.sub(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", lambda m: mask_email(m.group(0)), text)
    text = _SEPARATED_DIGITS.sub(_mask_digit_run, text)
    text = mask_text(text)  # the spellings the digit runs miss (zero-width, [at], labels)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def mask_handle(value: str) -> str:
    """Mask a QQ number or WeChat ID, keeping its first two characters: ``ab******``."""
    text = str(value).strip()
    return text[:2] + "*" * max(len(text) - 2, 1)


MASKERS = {"mobile": mask_mobile, "id_number": mask_id_number, "email": mask_email,
           "name": mask_name, "qq": mask_handle, "wechat": mask_handle}
"""Masking function by kind of identifier (the kinds the scanner reports)."""


def mask_identifier(kind: str, value: object) -> str:
    """Mask a value of a known kind (``mobile``, ``id_number``, ``email``, ``name``);
    other kinds fall back to :func:`mask_value`.

    Examples
    --------
    >>> mask_identifier("mobile", "+86 138-1234-5678")
    '138****5678'
    """
    if kind == "mobile":
        digits = re.sub(r"\D", "", str(value))
        digits = re.sub(r"^(?:0086|86)(?=1\d{10}$)", "", digits)
        return mask_mobile(digits)
    masker = MASKERS.get(kind)
    return masker(str(value)) if masker else mask_value(value)


def mask_text(text: str) -> str:
    """Mask every identifier the detector finds inside free text (for messages).

    Each is replaced by the masked form of its canonical value, so a spelling the reader
    could decode (full-width digits, ``[at]``, zero-width characters) never survives.

    Examples
    --------
    >>> mask_text("call 13812345678 or mail zhang@example.com")
    'call 138****5678 or mail z***@example.com'
    >>> mask_text("wx１３８–1234–5678")
    'wx138****5678'
    """
    text = str(text)
    return replace_detections(text, detect(text), lambda d: mask_identifier(d.kind, d.value))
