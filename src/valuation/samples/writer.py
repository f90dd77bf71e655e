"""Writing sample targets to disk: one folder per target, atomically, chunk by chunk."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from valuation.errors import SampleError
from valuation.fileio import atomic_path, write_text_atomic
from valuation.samples import export
from valuation.samples.assemble import TargetBuild, seed_sequence, target_spec
from valuation.samples.specs import TARGETS

DEFAULT_SEED = 7
FORMATS = ("native", "csv", "parquet")
TABLE_ORDER = ("customers", "orders", "activity", "feedback")
XLSX_MAX_ROWS = 1_048_575
ENCODING = {"en": "utf-8", "zh_bootcamp": "gb18030", "zh_cert": "utf-8-sig"}


def _csv_target(build: TargetBuild, folder: Path, style: str, rng: np.random.Generator) -> dict:
    files = {t: f"{t}.csv" for t in TABLE_ORDER}
    encoding = ENCODING[style]
    with contextlib.ExitStack() as stack:
        handles = {}
        for table in TABLE_ORDER:
            tmp = stack.enter_context(atomic_path(folder / files[table]))
            handles[table] = stack.enter_context(open(tmp, "w", encoding=encoding, newline=""))
        export.format_csv("customers", build.customers, style, rng).to_csv(
            handles["customers"], index=False, lineterminator="\n")
        for k, chunk in enumerate(build.chunks()):
            for table, frame in chunk.items():
                export.format_csv(table, frame, style, rng).to_csv(
                    handles[table], index=False, header=(k == 0), lineterminator="\n")
        for handle in handles.values():
            handle.close()
    return {"format": "csv", "encoding": encoding, "files": files}


def _parquet_target(build: TargetBuild, folder: Path, style: str) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {t: f"{t}.parquet" for t in TABLE_ORDER}
    with contextlib.ExitStack() as stack:
        tmp = {t: stack.enter_context(atomic_path(folder / files[t])) for t in TABLE_ORDER}
        writers: dict = {}

        def put(table: str, frame) -> None:
            arrow = pa.Table.from_pandas(export.parquet_frame(table, frame, style), preserve_index=False)
            if table not in writers:
                writers[table] = stack.enter_context(pq.ParquetWriter(tmp[table], arrow.schema))
            writers[table].write_table(arrow)

        put("customers", build.customers)
        for chunk in build.chunks():
            for table, frame in chunk.items():
                put(table, frame)
        for writer in writers.values():
            writer.close()
    return {"format": "parquet", "files": files}


def _xlsx_target(build: TargetBuild, folder: Path, rng: np.random.Generator) -> dict:
    chunks = list(build.chunks())
    if len(chunks) > 1 or any(len(f) > XLSX_MAX_ROWS for c in chunks for f in c.values()):
        raise SampleError(f"{build.spec.name}: too many rows for one Excel sheet "
                          f"({XLSX_MAX_ROWS:,} at most); use --format csv or --format parquet")
    tables = {"customers": build.customers, **chunks[0]}
    name = f"{build.spec.name}.xlsx"
    with atomic_path(folder / name) as tmp:
        export.write_xlsx(tmp, tables, rng)
    return {"format": "xlsx", "workbook": name, "sheets": dict(export.SHEETS)}


def write_target(
    name: str,
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    *,
    customers: int | None = None,
    defects: bool = True,
    fmt: str = "native",
    purchase_rate: float = 1.0,
) -> Path:
    """Write one sample target to ``out_dir/<name>/`` with its ``ground_truth.json``.

    Parameters
    ----------
    name : str
        A target of :data:`valuation.samples.TARGETS`.
    out_dir : str or Path
        The parent folder (created if needed).
    seed : int
        Same seed, same bytes.
    customers : int, optional
        Natural customers (default: the committed sample's size).
    defects : bool
        Plant the review-check defects (``False``: a clean target).
    fmt : {"native", "csv", "parquet"}
        ``native`` is the target's own export (CSV UTF-8, CSV GB18030, or one XLSX).
    purchase_rate : float
        Multiplies every customer's purchase rate (online_school only).

    Returns
    -------
    Path
        The target's folder.
    """
    spec = target_spec(name)
    if fmt not in FORMATS:
        raise SampleError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    build = TargetBuild(name, seed, customers, defects, purchase_rate)
    folder = Path(out_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    style = export.STYLE_OF_TARGET[name]
    rng = np.random.default_rng(seed_sequence(seed, name, 9))
    if fmt == "parquet":
        files = _parquet_target(build, folder, style)
    elif fmt == "native" and spec.export == "xlsx":
        files = _xlsx_target(build, folder, rng)
    else:
        files = _csv_target(build, folder, style, rng)
    truth = {**build.ground_truth, "export": files}
    write_text_atomic(folder / "ground_truth.json",
                      json.dumps(truth, ensure_ascii=False, indent=2) + "\n")
    return folder


def write_samples(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    targets: list[str] | tuple[str, ...] | None = None,
    *,
    customers: int | None = None,
    defects: bool = True,
    fmt: str = "native",
    purchase_rate: float = 1.0,
) -> list[Path]:
    """Write sample targets (default: all three) under ``out_dir``; return their folders.

    See :func:`write_target` for the parameters.
    """
    names = list(targets) if targets else list(TARGETS)
    for name in names:
        target_spec(name)
    return [write_target(n, out_dir, seed, customers=customers, defects=defects, fmt=fmt,
                         purchase_rate=purchase_rate)
            for n in names]
