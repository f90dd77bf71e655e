"""Reading the token-only analysis dataset: the only data notebooks and models see.

The privacy gate (``valuation ingest``) writes ``<work_dir>/analysis/<table>.parquet``;
:func:`load_analysis` reads it back (:class:`AnalysisFiles` one table at a time) with the dtypes of :data:`valuation.tables.ANALYSIS_COLUMNS`
and :func:`analysis_is_stale` tells whether it must be rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from valuation.errors import InputError
from valuation.params import DealParams
from valuation.tables import ANALYSIS_COLUMNS, TABLES

TEXT = pd.StringDtype("pyarrow")
"""Text columns stay in Arrow buffers: no Python object per cell (10^7 rows at 10^6
customers would otherwise cost gigabytes)."""
_ARROW_TEXT = {pa.string(): TEXT, pa.large_string(): TEXT}.get


def pandas_dtypes(table: str) -> dict[str, object]:
    """The pandas dtypes of an analysis table: ``ANALYSIS_COLUMNS`` with text as
    pyarrow-backed ``string``."""
    return {column: TEXT if dtype == "string" else dtype
            for column, dtype in ANALYSIS_COLUMNS[table].items()}


def analysis_dir_of(params_or_dir: DealParams | str | Path) -> Path:
    """The analysis folder of a target (``params.analysis_dir``) or the folder given."""
    if isinstance(params_or_dir, DealParams):
        return params_or_dir.analysis_dir
    return Path(params_or_dir)


def _ingest_hint(params_or_dir: DealParams | str | Path) -> str:
    if isinstance(params_or_dir, DealParams) and params_or_dir.source is not None:
        return f"run `valuation ingest {params_or_dir.source}` first"
    return "run `valuation ingest <yaml>` for the target first"


def use_memory_returning_pool() -> str:
    """Make Arrow allocate from jemalloc in this process, which returns freed memory to the
    operating system within about a second.

    pyarrow's default pool on Linux (mimalloc) keeps freed buffers for reuse: a brief at
    10^6 customers that drops the analysis tables for the cleaned ones then holds about
    1.5 GiB more than it uses (peak 7.3 instead of 6.7 GiB). Call it first thing in a
    process that handles a large target (the brief notebook does); it changes the pool of
    the whole process, nothing else. Without jemalloc in this pyarrow build the pool stays.

    Returns
    -------
    str
        The backend now in use (``jemalloc``, or the unchanged default).
    """
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc (e.g. Windows wheels)
        pass
    return pa.default_memory_pool().backend_name


def load_analysis(params_or_dir: DealParams | str | Path) -> dict[str, pd.DataFrame]:
    """Read the analysis dataset of a target.

    Parameters
    ----------
    params_or_dir : DealParams or path
        The target's params, or the folder holding ``<table>.parquet`` files.

    Returns
    -------
    dict
        Table name -> DataFrame with exactly the columns of ``ANALYSIS_COLUMNS[table]`` and
        the dtypes of :func:`pandas_dtypes` (text pyarrow-backed).

    Raises
    ------
    InputError
        When the dataset is missing or was written with other columns (an older version):
        the message says to run ``valuation ingest <yaml>``.
    """
    return dict(AnalysisFiles(params_or_dir))


class AnalysisFiles(Mapping[str, pd.DataFrame]):
    """The analysis dataset on disk as a read-only mapping that reads a table on each lookup.

    Nothing is cached: ``files["activity"]`` reads ``activity.parquet`` every time. Hand it
    to a function that looks each table up once (``valuation.quality.clean_tables``) and only
    the table in hand is in memory, not the whole dataset.

    Parameters
    ----------
    params_or_dir : DealParams or path
        The target's params, or the folder holding ``<table>.parquet`` files.

    Raises
    ------
    InputError
        When a table file is missing (on creation) or unreadable or of another version (on
        lookup); the message says to run ``valuation ingest <yaml>``.
    """

    def __init__(self, params_or_dir: DealParams | str | Path) -> None:
        self.folder = analysis_dir_of(params_or_dir)
        self._hint = _ingest_hint(params_or_dir)
        missing = [t for t in TABLES if not (self.folder / f"{t}.parquet").is_file()]
        if missing:
            raise InputError(
                f"{self.folder}: no analysis dataset (missing "
                f"{', '.join(f'{t}.parquet' for t in missing)}); {self._hint}"
            )

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in TABLES:
            raise KeyError(table)
        path = self.folder / f"{table}.parquet"
        try:
            frame = pq.read_table(path).to_pandas(types_mapper=_ARROW_TEXT)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError(f"{path}: cannot be read ({type(exc).__name__}); {self._hint}") from None
        expected = ANALYSIS_COLUMNS[table]
        if list(frame.columns) != list(expected):
            raise InputError(
                f"{path}: columns {list(frame.columns)} differ from the expected "
                f"{list(expected)} (written by another version); {self._hint}"
            )
        return frame.astype(pandas_dtypes(table), copy=False)

    def __contains__(self, table: object) -> bool:
        return table in TABLES

    def __iter__(self) -> Iterator[str]:
        return iter(TABLES)

    def __len__(self) -> int:
        return len(TABLES)


def _input_files(params: DealParams) -> list[Path]:
    files = list(params.data.files.values())
    if params.data.workbook is not None:
        files.append(params.data.workbook)
    if params.source is not None:
        files.append(params.source)
    return [Path(f) for f in files]


def analysis_is_stale(params: DealParams) -> bool:
    """True when the analysis dataset is missing or older than any input file or the params.

    Parameters
    ----------
    params : DealParams
        The target.
    """
    folder = params.analysis_dir
    outputs = [folder / f"{t}.parquet" for t in TABLES]
    if not all(p.is_file() for p in outputs):
        return True
    oldest_output = min(p.stat().st_mtime for p in outputs)
    inputs = [p for p in _input_files(params) if p.exists()]
    return any(p.stat().st_mtime > oldest_output for p in inputs)


def check_dataset(params: DealParams, key: bytes) -> dict:
    """Refuse an analysis dataset that is not logged, not intact, or of another deal key.

    The dataset's ``dataset.json`` (written by :func:`valuation.dataset.write_dataset`) must
    name an entry of the target's processing log (same ``seq`` and ``hash``, the chain
    intact up to it), made with the key supplied now (same fingerprint), whose recorded
    SHA-256 match every table file.

    Parameters
    ----------
    params : DealParams
        The target.
    key : bytes
        The deal key supplied to this command.

    Returns
    -------
    dict
        The dataset record.

    Raises
    ------
    DatasetNotLoggedError
        No record, no matching log entry, or files changed since they were logged.
    KeyMismatchError
        The dataset was made with another key.
    LogIntegrityError
        The processing log is broken.
    """
    import json

    from valuation.dataset import DATASET_RECORD
    from valuation.errors import DatasetNotLoggedError
    from valuation.fileio import sha256_file
    from valuation.privacy.keys import check_fingerprint
    from valuation.privacy.log import log_path, require_intact

    folder = params.analysis_dir
    AnalysisFiles(params)  # a missing dataset: "run valuation ingest"
    hint = _ingest_hint(params)
    record_file = folder / DATASET_RECORD
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        seq, recorded_hash = int(record["log"]["seq"]), str(record["log"]["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        raise DatasetNotLoggedError(
            f"{folder}: the analysis dataset has no readable record of its processing-log "
            f"entry ({DATASET_RECORD}); it was not written by `valuation ingest` of this "
            f"version, so it is not used. {hint[0].upper()}{hint[1:]}.") from None
    check_fingerprint(record.get("key_fingerprint"), key, where=f"the analysis dataset {folder}")
    log_file = log_path(params)
    if not log_file.is_file():
        raise DatasetNotLoggedError(f"{folder}: the processing log {log_file} is missing, so "
                                    f"the dataset's origin cannot be shown; {hint}")
    require_intact(log_file, allow_torn_tail=True)
    lines = log_file.read_text(encoding="utf-8").split("\n")
    entry = json.loads(lines[seq - 1]) if 0 < seq <= len(lines) and lines[seq - 1] else {}
    if entry.get("hash") != recorded_hash:
        raise DatasetNotLoggedError(
            f"{folder}: the analysis dataset names processing-log entry {seq}, which is not "
            f"in {log_file}; it is not used. {hint[0].upper()}{hint[1:]}.")
    check_fingerprint(entry.get("key_fingerprint"), key, where=f"log entry {seq} of {log_file}")
    logged = {Path(o["path"]).name: o.get("sha256") for o in entry.get("outputs", [])}
    for table in TABLES:
        name = f"{table}.parquet"
        if logged.get(name) != sha256_file(folder / name):
            raise DatasetNotLoggedError(
                f"{folder / name}: the file differs from the one recorded in log entry {seq} "
                f"(changed after ingest); it is not used. {hint[0].upper()}{hint[1:]}.")
    return record
