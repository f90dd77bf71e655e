"""Regular expressions that find personal identifiers inside free text.

Shared by the redactor (which replaces every match) and the scanner (which reports matches
that survive extra checks: an ID number's check character, e-mail domains that are not file
names). Full-width digits are matched too. A number counts only when it is not glued to other
letters or digits, so order numbers, amounts, dates and 32-hex tokens do not match.
"""

from __future__ import annotations

import re

_D = "[0-9０-９]"
_NOT_BEFORE = r"(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])(?<![0-9]\.)"
_NOT_AFTER = r"(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_SEP = r"[ \-‐–—]?"

MOBILE_IN_TEXT = re.compile(
    _NOT_BEFORE
    + r"(?:(?:[+＋]|00)?86" + _SEP + r"|[(（][+＋]?86[)）]\s?)?"
    + rf"(1[3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}})"
    + _NOT_AFTER
)
"""A mainland mobile, optionally with +86/0086 and single spaces or dashes (3-4-4)."""

ID18_IN_TEXT = re.compile(_NOT_BEFORE + rf"({_D}{{17}}[0-9０-９XxＸｘ])" + _NOT_AFTER)
"""Any 18-character ID-number shape (the scanner then checks the check character)."""

ID15_IN_TEXT = re.compile(_NOT_BEFORE + rf"({_D}{{15}})" + _NOT_AFTER)
"""A 15-digit legacy ID-number shape."""

EMAIL_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"
    r"([A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})"
    r"(?![A-Za-z0-9\-])"
)
"""An e-mail address (ASCII local part and domain, full-width ＠ accepted)."""
