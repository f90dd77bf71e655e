"""Normalisation of text before identifier detection, with a map back to the original.

Real exports spell a phone number ``１３８–１２３４–５６７８`` (full-width digits and an en
dash), ``138\u200b1234\u200b5678`` (zero-width spaces), ``138−1234−5678`` (the minus sign) or
``一三八一二三四五六七八`` (Chinese numerals). Detection runs on a normalised copy in which
each of these reads ``138-1234-5678`` or ``13812345678``; every match is then mapped back
to the *original* characters, so redaction replaces exactly what was written (invisible
characters inside the match included).

Rules, applied to each character:

* invisible characters are removed: every format character (Unicode category ``Cf``:
  U+200B-U+200F zero-width and direction marks, U+2060-U+2064, U+FEFF, U+00AD soft hyphen,
  U+202A-U+202E, U+2066-U+2069, ...) and the blank fillers U+034F, U+115F, U+1160, U+3164,
  U+FFA0, U+2800;
* NFKC compatibility folding (full-width digits, letters and ``＠``, circled digits,
  ideographic space);
* every dash, hyphen and minus sign (U+2010-U+2015, U+2212, U+2043, U+FE58, U+FE63, U+FF0D,
  U+02D7, U+2E3A, U+2E3B, U+30FC) becomes ``-``;
* Chinese numerals (〇零一二三四五六七八九, financial 壹贰叁肆伍陆柒捌玖, and 幺 as read in
  phone numbers) become digits, but only inside a run of seven or more of them (spaces or
  dashes allowed between), so ordinary words such as 一起 or 三个 are left alone.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

_FILLERS = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"
                    "\u02d7\u2e3a\u2e3b\u30fc\u2796\ufe31\ufe32")
CJK_DIGITS: dict[str, str] = {
    "〇": "0", "零": "0", "○": "0", "一": "1", "壹": "1", "幺": "1", "二": "2", "贰": "2",
    "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6",
    "七": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}
"""Chinese numerals read as digits inside a long run (see the module docstring)."""

_CJK_CLASS = "[" + "".join(CJK_DIGITS) + "]"
_CJK_RUN = re.compile(_CJK_CLASS + r"(?:[\s\-\u2010-\u2015\u2212]{0,2}" + _CJK_CLASS + "){6,}")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _format_chars_set() -> set[str]:
    bmp = (chr(c) for c in range(0x80, 0x10000))
    chars = {c for c in bmp if unicodedata.category(c) == "Cf"}
    chars |= {chr(c) for c in (0x110BD, 0x110CD, *range(0x13430, 0x13440),
                               *range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B),
                               *range(0xE0001, 0xE0002), *range(0xE0020, 0xE0080))}
    return chars | _FILLERS


def _ranges(chars: set[str]) -> str:
    """A regex character-class body of ``chars``, consecutive code points as ranges."""
    codes = sorted(ord(c) for c in chars)
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [None]):
        if code != previous + 1:
            ranges.append(re.escape(chr(start)) if start == previous
                          else f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
            start = code
    return "".join(ranges)


_SPECIAL = re.compile("[" + _ranges(_format_chars_set() | _DASHES) + "]")
DASH_PATTERN = "[" + "".join(sorted(_DASHES)) + "]"
"""A regex class of every dash and minus sign (for vectorised column clean-up)."""
INVISIBLE_PATTERN = "[" + _ranges(
    {c for c in _format_chars_set() if c not in _DASHES}) + "]"
"""A regex class of the invisible characters removed before detection."""
"""Characters that change under normalisation although the text is NFKC-stable."""


def is_invisible(char: str) -> bool:
    """Whether ``char`` is an invisible character removed before detection."""
    return char in _FILLERS or unicodedata.category(char) == "Cf"


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    if is_invisible(char):
        return ""
    if char in _DASHES:
        return "-"
    folded = unicodedata.normalize("NFKC", char)
    return "".join("-" if c in _DASHES else c for c in folded if not is_invisible(c))


@dataclass(frozen=True)
class Normalized:
    """A normalised text and the way back to the original.

    Attributes
    ----------
    text : str
        The normalised text.
    starts : list of int
        Start of each piece in ``text`` (sorted).
    pieces : list of tuple
        ``(orig_start, orig_end, identity)`` per piece: identity pieces map character by
        character; the others come from one original character each.
    """

    text: str
    starts: list[int]
    pieces: list[tuple[int, int, bool]]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span ``[start, end)`` (``end > start``)."""
        return self._orig(start, first=True), self._orig(end - 1, first=False)

    def _orig(self, index: int, *, first: bool) -> int:
        if not self.pieces:  # identity text
            return index if first else index + 1
        k = bisect.bisect_right(self.starts, index) - 1
        orig_start, orig_end, identity = self.pieces[k]
        if identity:
            position = orig_start + (index - self.starts[k])
            return position if first else position + 1
        return orig_start if first else orig_end


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for detection (see the module docstring).

    Examples
    --------
    >>> n = normalize("tel：１３８\u200b1234−5678")
    >>> n.text
    'tel:1381234-5678'
    >>> n.span(4, 16)
    (4, 17)
    """
    if text.isascii():
        return Normalized(text, [], [])
    cjk_runs = [m.span() for m in _CJK_RUN.finditer(text)]
    if (not cjk_runs and unicodedata.is_normalized("NFKC", text)
            and not _SPECIAL.search(text)):
        return Normalized(text, [], [])
    in_run = _run_membership(cjk_runs)
    out: list[str] = []
    starts: list[int] = []
    pieces: list[tuple[int, int, bool]] = []
    length = 0
    last = 0

    def identity(a: int, b: int) -> None:
        nonlocal length
        if b > a:
            out.append(text[a:b])
            starts.append(length)
            pieces.append((a, b, True))
            length += b - a

    for match in _NON_ASCII.finditer(text):
        identity(last, match.start())
        last = match.end()
        run = match.group(0)
        if (unicodedata.is_normalized("NFKC", run) and not _SPECIAL.search(run)
                and not any(a < match.end() and match.start() < b for a, b in cjk_runs)):
            identity(match.start(), match.end())
            continue
        for i in range(match.start(), match.end()):
            char = text[i]
            folded = CJK_DIGITS[char] if char in CJK_DIGITS and in_run(i) else _fold(char)
            if folded == char:
                identity(i, i + 1)
            elif folded:
                out.append(folded)
                starts.append(length)
                pieces.append((i, i + 1, False))
                length += len(folded)
    identity(last, len(text))
    return Normalized("".join(out), starts, pieces)


def _run_membership(runs: list[tuple[int, int]]):
    ends = [b for _, b in runs]

    def inside(index: int) -> bool:
        k = bisect.bisect_right(ends, index)
        return k < len(runs) and runs[k][0] <= index < runs[k][1]

    return inside


def normalize_text(text: str) -> str:
    """The normalised text only (no map back)."""
    return normalize(text).text
