"""Scanning text for identifiers: the findings and their locations.

The scanner reports what the one detector (:mod:`~valuation.privacy.detect`) finds in every
spelling, keeping the *certain* detections: a dummy mobile (13800000000) or an ID-number
shape whose check character is wrong identifies nobody for sure and is not reported
(redaction replaces them all the same). Every value is masked in the report.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from valuation.privacy.detect import detect, detect_many
from valuation.privacy.masking import mask_identifier

MAX_SHOWN = 20


@dataclass(frozen=True)
class Finding:
    """One personal identifier found in a file.

    Attributes
    ----------
    file : str
        The file (as given to the scanner).
    location : str
        Where in it: ``line 12``, ``cell 3 output 1 (text/html) line 4``,
        ``row 7, column 'text'``, ``$.customers[2].note``, ``PNG text chunk 'Title'``...
    kind : str
        ``mobile``, ``id_number``, ``email``, ``qq`` or ``wechat``.
    value : str
        The value, masked (``138****5678``).
    """

    file: str
    location: str
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.kind} {self.value}"


def find_identifiers(text: str) -> list[tuple[int, str, str]]:
    """Every certain identifier in ``text`` as ``(offset, kind, canonical value)``."""
    return [(d.start, d.kind, d.value) for d in detect(text) if d.certain]


def scan_text(text: str, *, file: str = "<text>", where: str = "") -> list[Finding]:
    """Find identifiers in a text; locations are ``line N`` (after the ``where`` prefix).

    Parameters
    ----------
    text : str
        The text to scan.
    file : str
        Name to report the findings under.
    where : str
        Prefix of every location (e.g. ``"cell 3 source, "``).

    Returns
    -------
    list of Finding

    Examples
    --------
    >>> [str(f) for f in scan_text("ok\\ncall １３８–1234–5678")]
    ['<text>: line 2: mobile 138****5678']
    """
    if not text:
        return []
    hits = find_identifiers(text)
    if not hits:
        return []
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    return [
        Finding(file, f"{where}line {bisect.bisect_right(newlines, offset) + 1}", kind,
                mask_identifier(kind, value))
        for offset, kind, value in hits
    ]


def scan_value(value: str, file: str, location: str) -> list[Finding]:
    """Findings in one short value, all reported at ``location``."""
    if not value:
        return []
    return [Finding(file, location, kind, mask_identifier(kind, found))
            for _, kind, found in find_identifiers(value)]


def scan_strings(values: list[str], file: str,
                 locations: list[str] | Callable[[int], str]) -> list[Finding]:
    """Scan many short strings in few passes (:func:`~valuation.privacy.detect.detect_many`).

    ``locations`` gives the location of value ``i``: a list, or a function called only for
    values with a finding (cheap for columns of a million cells).
    """
    if not values:
        return []
    where = locations.__getitem__ if isinstance(locations, list) else locations
    return [Finding(file, where(i), d.kind, mask_identifier(d.kind, d.value))
            for i, d in detect_many(values) if d.certain]
