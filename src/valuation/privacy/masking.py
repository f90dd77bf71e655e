"""Masking for display: 138****5678, 110***********1234. Display only, never as keys."""

from __future__ import annotations

import re

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


def mask_value(value: object, max_len: int = 40) -> str:
    """Mask any value that could be personal, for error messages.

    Long runs of digits (6 or more) keep only their first 3 and last 2 digits, e-mail
    addresses keep their first character and domain, and the result is cut to ``max_len``.
    Short non-numeric text (a typo in a date, "abc" in an amount) is shown as is, so the
    user can see what is wrong.
    """
    text = str(value)
    text = re.sub(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", lambda m: mask_email(m.group(0)), text)
    text = re.sub(
        r"\d{6,}[\dXx]?",
        lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 5) + m.group(0)[-2:],
        text,
    )
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text
