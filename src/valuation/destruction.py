"""Destruction of a target's work data after the deal, recorded in the processing log.

Only a work folder that carries the workbench's marker for this target and this deal key is
deleted (:mod:`valuation.markers`); an unsafe ``paths.work_dir`` is refused first
(:mod:`valuation.pathsafety`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from valuation.fileio import sha256_file
from valuation.params import DealParams
from valuation.privacy.log import append_entry, log_path


def destroy_target(params: DealParams, *, include_key: bool = False,
                   operator: str | None = None, key: bytes | None = None) -> dict[str, Any]:
    """Delete a target's work folder (and, when asked, its key file), and record it.

    Only a folder that carries the workbench's marker for this target and this deal key is
    deleted (:func:`valuation.markers.require_marker`); an unsafe ``paths.work_dir`` (the
    repository, inputs, params, logs, ...) is refused before anything is looked at.

    The record appended to the processing log says what was destroyed (each file's path and
    SHA-256 taken just before deletion), when, how and by whom. Tokens can no longer be
    linked to anyone once the key is gone. A key given by an environment variable cannot be
    deleted by the workbench; the record says so.

    Parameters
    ----------
    key : bytes, optional
        The deal key (default: :func:`valuation.privacy.keys.load_key`).

    Returns
    -------
    dict
        The log entry as written.

    Raises
    ------
    UnsafePathError
        The work folder is unsafe or not marked as this target's.
    KeyMismatchError
        It was made with another deal key.
    """
    from valuation.markers import require_marker
    from valuation.pathsafety import check_paths
    from valuation.privacy.keys import demo_key_path, key_fingerprint, load_key

    check_paths(params, ("work_dir",))
    key = key if key is not None else load_key(params)
    destroyed: list[dict[str, str]] = []
    work = params.work_dir
    if work.exists() or work.is_symlink():
        require_marker(work, "work", params.target, key, action="delete it")
        for file in sorted(p for p in work.rglob("*") if p.is_file()):
            destroyed.append({"path": str(file), "sha256": sha256_file(file)})
        shutil.rmtree(work)
    key_note = "deal key kept"
    if include_key:
        key_file = params.privacy.key_file or (demo_key_path(params) if params.privacy.demo_key
                                               else None)
        if key_file is not None and Path(key_file).exists():
            destroyed.append({"path": str(key_file), "sha256": sha256_file(key_file)})
            Path(key_file).unlink()
            key_note = "deal key file deleted: tokens can no longer be linked to anyone"
        else:
            key_note = (f"no key file to delete; a key in the environment variable "
                        f"{params.privacy.key_env} must be destroyed by its holder")
    return append_entry(log_path(params), {
        "operator": operator or params.privacy.operator,
        "purpose": params.privacy.purpose,
        "legal_basis": params.privacy.legal_basis,
        "assessment_ref": params.privacy.assessment_ref,
        "target": params.target,
        "action": "destroy",
        "how": "files unlinked and folders removed (no overwrite); " + key_note,
        "destroyed_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "destroyed": destroyed,
        "files": len(destroyed),
        "key_fingerprint": key_fingerprint(key),
    })
