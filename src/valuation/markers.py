"""The workbench's own marks on the folders it creates: nothing unmarked is ever deleted.

When the workbench creates a target's work folder or handover package it writes a marker
file, ``.valuation-folder.json``, holding the folder's kind (``work`` or ``handover``), the
target id and the deal key's fingerprint (:func:`valuation.privacy.keys.key_fingerprint`,
never the key). A folder is deleted or replaced only when its marker names the same kind,
target and key (:func:`require_marker`). Staging folders (``.staging-*``, ``.previous-*``
inside a work folder) carry ``.valuation-staging`` and are cleaned by the next run
(:func:`clean_staging`).

A work folder written by an earlier version (no marker) is adopted on the next ingest when it
holds nothing but the workbench's own layout (``analysis/``, ``failed/``); any other
existing, non-empty, unmarked folder is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from valuation.errors import UnsafePathError
from valuation.privacy.keys import check_fingerprint

MARKER = ".valuation-folder.json"
STAGING_MARKER = ".valuation-staging"
STAGING_PREFIXES: tuple[str, ...] = (".staging-", ".previous-")
LEGACY_WORK_ENTRIES: frozenset[str] = frozenset({"analysis", "failed"})
"""What a work folder of an earlier version (no marker) may hold to be adopted."""


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of ``folder``, or None when there is none (or it is not ours)."""
    path = Path(folder) / MARKER
    if not path.is_file() or path.is_symlink():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return marker if isinstance(marker, dict) and marker.get("workbench") == "valuation" else None


def write_marker(folder: Path, kind: str, target: str, fingerprint: str) -> Path:
    """Write the marker of a folder the workbench has just created."""
    path = Path(folder) / MARKER
    path.write_text(json.dumps({
        "workbench": "valuation", "kind": kind, "target": target,
        "key_fingerprint": fingerprint,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }, indent=2) + "\n", encoding="utf-8")
    return path


def require_marker(folder: Path, kind: str, target: str, key: bytes, *, action: str) -> dict:
    """The marker of ``folder`` if it names ``kind``, ``target`` and this key; else refuse.

    Raises
    ------
    UnsafePathError
        The folder has no marker, or one of another kind or target.
    KeyMismatchError
        The marker was written with another deal key.
    """
    marker = read_marker(folder)
    if marker is None or marker.get("kind") != kind or marker.get("target") != target:
        found = ("no workbench marker" if marker is None else
                 f"the marker of {marker.get('kind')} folder of target {marker.get('target')!r}")
        raise UnsafePathError(
            f"{folder}: refusing to {action}: the folder carries {found}, so the workbench "
            f"did not create it as the {kind} folder of target {target!r}. Nothing was "
            "deleted. Check paths in the params file; remove the folder yourself only if you "
            "are sure it holds nothing else."
        )
    check_fingerprint(marker.get("key_fingerprint"), key, where=f"{folder} ({kind} folder)")
    return marker


def claim_work_folder(folder: Path, target: str, key: bytes, fingerprint: str) -> None:
    """Create the work folder with its marker, or accept it when it is already ours.

    Raises
    ------
    UnsafePathError
        The folder exists, is not empty, and is not a work folder of this target.
    KeyMismatchError
        It is, but was made with another deal key.
    """
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UnsafePathError(f"{folder}: paths.work_dir must be a plain folder (not a file "
                              "or a symbolic link); choose another path")
    if folder.is_dir():
        if read_marker(folder) is not None:
            require_marker(folder, "work", target, key, action="use it as the work folder")
            return
        names = {entry.name for entry in folder.iterdir()
                 if not entry.name.startswith(STAGING_PREFIXES)}
        if names - LEGACY_WORK_ENTRIES:
            raise UnsafePathError(
                f"{folder}: paths.work_dir exists, is not empty and was not created by the "
                f"workbench for target {target!r} (no marker); nothing was written. Choose a "
                "new, empty folder.")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_marker(folder, "work", target, fingerprint)


def new_staging(work_dir: Path) -> Path:
    """A fresh marked staging folder inside the work folder."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIXES[0], dir=work_dir))
    (staging / STAGING_MARKER).write_text("staging folder of the valuation workbench\n")
    return staging


def mark_staging(folder: Path) -> None:
    """Mark a folder about to be set aside (renamed ``.previous-*``) as ours to clean."""
    (Path(folder) / STAGING_MARKER).write_text("set aside by the valuation workbench\n")


def clean_staging(work_dir: Path) -> list[Path]:
    """Remove leftover staging folders of earlier interrupted runs; return what was removed.

    Only direct children named ``.staging-*`` or ``.previous-*`` that hold the staging
    marker (and are not symbolic links) are removed.
    """
    removed: list[Path] = []
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return removed
    for entry in work_dir.iterdir():
        if (entry.name.startswith(STAGING_PREFIXES) and entry.is_dir()
                and not entry.is_symlink() and (entry / STAGING_MARKER).is_file()):
            shutil.rmtree(entry)
            removed.append(entry)
    return removed


def replace_folder(staging: Path, final: Path) -> None:
    """Move a finished staging folder to ``final``, replacing the earlier one (ours)."""
    previous = None
    if final.exists():
        previous = final.with_name(f"{STAGING_PREFIXES[1]}{final.name}-{os.getpid()}")
        mark_staging(final)
        final.rename(previous)
    (staging / STAGING_MARKER).unlink(missing_ok=True)
    staging.rename(final)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
