"""Checks of params values that pydantic's field types do not express (issue 13, item 9).

Each raises ``ValueError`` (reported by :mod:`valuation.params` under the YAML key) or
:class:`~valuation.errors.ParamsError`: text encodings that Python knows and that are text
encodings, ``sensitivity.*`` ranges inside the domain of the parameter they vary and written
low first, and no control character (a NUL byte, a pasted escape code) in any key or text.
Non-finite numbers are refused by every params model (``allow_inf_nan=False``).
"""

from __future__ import annotations

import codecs
import unicodedata
from typing import Any

from valuation.errors import ParamsError


def check_encoding(name: str) -> None:
    """``auto`` or the name of a text encoding Python knows (``utf-8``, ``gb18030``, ...).

    Raises
    ------
    ValueError
        For an unknown name, or a codec that is not a text encoding (``rot13``, ``base64``).
    """
    if name.strip().lower() in ("auto", ""):
        return
    try:
        info = codecs.lookup(name)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"unknown text encoding {name!r}; use auto, utf-8, utf-8-sig, "
                         "gb18030 or gbk")


SENSITIVITY_BOUNDS: dict[str, tuple[float, float, bool, bool]] = {
    # name: (lowest, highest, lowest allowed, highest allowed) as for the parameter itself
    "annual_discount_rate": (0.0, 1.0, False, False),
    "gross_margin": (0.0, 1.0, False, True),
    "one_off_loss": (0.0, 1.0, True, False),
    "horizon_years": (0.0, 50.0, False, True),
    "inactivity_days": (7, 3650, True, True),
    "hazard_multiplier": (0.0, 10.0, False, True),
}
"""The domain of each ``sensitivity.*`` range: the same as the parameter it varies."""


def check_sensitivity_ranges(sensitivity: Any) -> None:
    """Each ``sensitivity.*`` pair must be ``[low, high]`` with low <= high, both in the
    domain of the parameter it varies (:data:`SENSITIVITY_BOUNDS`).

    Raises
    ------
    ValueError
        Naming the key, the pair and the allowed interval (pydantic reports the location).
    """
    problems = []
    for name, (lowest, highest, low_ok, high_ok) in SENSITIVITY_BOUNDS.items():
        pair = getattr(sensitivity, name)
        if pair is None:
            continue
        low, high = pair
        left, right = "[" if low_ok else "(", "]" if high_ok else ")"
        inside = all((v >= lowest if low_ok else v > lowest) and
                     (v <= highest if high_ok else v < highest) for v in pair)
        if not inside:
            problems.append(f"sensitivity.{name} = [{low:g}, {high:g}]: both values must lie "
                            f"in {left}{lowest:g}, {highest:g}{right}")
        elif low > high:
            problems.append(f"sensitivity.{name} = [{low:g}, {high:g}]: write it as "
                            "[low, high] (low first)")
    if problems:
        raise ValueError("; ".join(problems))


def refuse_control_characters(value: object, where: str, location: str = "") -> None:
    """No NUL or other control character (tab and newline aside) in any key or text value."""
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(key, where, location)
            refuse_control_characters(item, where, f"{location}.{key}" if location else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_control_characters(item, where, f"{location}[{index}]")
    elif isinstance(value, str):
        bad = [c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n\r"]
        if bad:
            raise ParamsError(
                f"{where}: invalid params\n  - {location or '(a key)'}: contains a control "
                f"character (U+{ord(bad[0]):04X}); remove it (a NUL byte or a pasted control "
                "code cannot be part of a name or path)")
