"""Reading a params YAML safely: size, UTF-8, syntax, no aliases, bounded nesting.

A params file is a page of settings. Aliases are refused (a "billion laughs" YAML bomb
expands a few lines into gigabytes) and nesting is bounded (thousands of ``[`` overflow the
parser's recursion), both from the event stream, before anything is built. Every problem is a
:class:`~valuation.errors.ParamsError` naming the file and, where known, line and column.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from valuation.errors import ParamsError

MAX_YAML_BYTES = 1 << 20
"""A params file is a page of settings: larger files are refused before parsing."""
MAX_YAML_DEPTH = 12
"""Deepest nesting of mappings and lists allowed (params need four levels)."""


def _check_yaml_shape(text: str, path: Path) -> None:
    """Refuse aliases (YAML bombs) and deep nesting, from the event stream (no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise ParamsError(
                f"{path}: line {mark.line + 1}, column {mark.column + 1}: YAML anchors and "
                "aliases (&name / *name) are not allowed in a params file; write the values "
                "out")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise ParamsError(
                    f"{path}: line {mark.line + 1}, column {mark.column + 1}: nested more "
                    f"than {MAX_YAML_DEPTH} levels deep; a params file needs at most four "
                    "(see params/README.md)")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def read_yaml(path: Path) -> object:
    """Parse a params YAML safely: size, encoding, syntax, aliases and depth checked.

    Raises
    ------
    ParamsError
        Naming the file (and line, column) and what to do.
    """
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ParamsError(f"{path}: {size:,} bytes; a params file is at most "
                              f"{MAX_YAML_BYTES:,} bytes (is this the right file?)")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ParamsError(f"{path}: not UTF-8 text; save the YAML as UTF-8") from None
    except OSError as exc:
        raise ParamsError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        _check_yaml_shape(text, path)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}: not valid YAML{at}; fix the syntax and retry") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ParamsError(f"{path}: nested too deeply") from None
