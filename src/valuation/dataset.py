"""Writing the analysis dataset: staged, scanned, logged, then moved into place.

:func:`write_dataset` is the last step of the privacy gate. In order:

1. refuse an unsafe ``paths.work_dir`` (:func:`valuation.pathsafety.check_paths`), create
   the work folder with the workbench's marker or accept it when it is this target's and
   this key's (:func:`valuation.markers.claim_work_folder`), and remove staging folders left
   by earlier interrupted runs;
2. write each table to ``<work_dir>/.staging-*/<table>.parquet`` (mode 0600) and scan it
   for personal data before the next table is built;
3. append the processing-log entry (with the key's fingerprint and every file's SHA-256);
4. write ``dataset.json`` (target, key fingerprint, the log entry's ``seq`` and ``hash``,
   the files' SHA-256) beside the tables, and only then move the staging folder to
   ``<work_dir>/analysis``, replacing the earlier dataset.

A finding of the scanner, a refused or failed log entry, or any other error removes the
staging folder: nothing unlogged is ever left where a brief would read it. Readers check
the record with :func:`valuation.analysis.check_dataset`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from valuation.fileio import sha256_file
from valuation.markers import claim_work_folder, clean_staging, new_staging, replace_folder
from valuation.params import DealParams
from valuation.pathsafety import check_paths
from valuation.privacy.keys import key_fingerprint
from valuation.privacy.log import append_entry, log_path
from valuation.privacy.scanner import leak_error, scan_file

DATASET_RECORD = "dataset.json"
"""The record of a dataset's origin, beside its tables in ``<work_dir>/analysis/``."""

EntryBuilder = Callable[[dict[str, Path], dict[str, str]], dict[str, Any]]


def write_dataset(tables: Iterable[tuple[str, pd.DataFrame]], params: DealParams, key: bytes,
                  entry_for: EntryBuilder) -> tuple[dict[str, Path], dict[str, Any]]:
    """Stage, scan, log and publish the analysis dataset of a target (module docstring).

    Parameters
    ----------
    tables : iterable of (table, DataFrame)
        Consumed one pair at a time (a generator holds one table in memory).
    params : DealParams
    key : bytes
        The deal key (only its fingerprint is recorded).
    entry_for : callable
        ``entry_for(paths, sha256s)`` returns the log entry of the run (without the key
        fingerprint, which is added here).

    Returns
    -------
    paths : dict
        Table -> final Parquet path.
    entry : dict
        The processing-log entry as written.

    Raises
    ------
    UnsafePathError, KeyMismatchError
        The work folder is unsafe, not ours, or was made with another key.
    LeakError
        A file holds a personal identifier.
    LogWriteError, LogIntegrityError
        The log entry could not be appended.
    """
    check_paths(params, ("work_dir",))
    fingerprint = key_fingerprint(key)
    work_dir = params.work_dir
    claim_work_folder(work_dir, params.target, key, fingerprint)
    clean_staging(work_dir)
    final = params.analysis_dir
    staging = new_staging(work_dir)
    try:
        findings = []
        paths: dict[str, Path] = {}
        for table, frame in tables:
            paths[table] = final / f"{table}.parquet"
            temp = staging / f"{table}.parquet"
            frame.to_parquet(temp, index=False)
            del frame
            os.chmod(temp, 0o600)
            findings += scan_file(temp, file_type=".parquet", display=str(paths[table]))
        if findings:
            raise leak_error(findings)
        digests = {table: sha256_file(staging / path.name) for table, path in paths.items()}
        entry = {**entry_for(paths, digests), "key_fingerprint": fingerprint}
        written = append_entry(log_path(params), entry)
        record = {"target": params.target, "key_fingerprint": fingerprint,
                  "log": {"seq": written["seq"], "hash": written["hash"]},
                  "sha256": digests}
        (staging / DATASET_RECORD).write_text(json.dumps(record, indent=2) + "\n",
                                              encoding="utf-8")
        replace_folder(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return paths, written


def write_tables(tables: Mapping[str, pd.DataFrame], params: DealParams, key: bytes, *,
                 action: str) -> dict[str, Path]:
    """Write ready analysis tables as a logged dataset (tests, tools that build tables).

    The same staging, scan, log entry and move as the gate; ``action`` says in the log
    where the tables came from.

    Returns
    -------
    dict
        Table -> final Parquet path.
    """
    privacy = params.privacy

    def entry_for(paths: dict[str, Path], digests: dict[str, str]) -> dict[str, Any]:
        return {"operator": privacy.operator, "purpose": privacy.purpose,
                "legal_basis": privacy.legal_basis, "assessment_ref": privacy.assessment_ref,
                "target": params.target, "action": action,
                "row_counts": {t: int(len(f)) for t, f in tables.items()},
                "outputs": [{"path": str(paths[t]), "sha256": digests[t]} for t in paths]}

    paths, _ = write_dataset(tables.items(), params, key, entry_for)
    return paths
