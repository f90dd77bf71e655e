"""Run the negotiation brief: prepare the analysis dataset, execute the notebook, publish.

One call, :func:`run_brief`, does the whole job of ``valuation brief``:

1. make sure the token-only analysis dataset exists and is fresh (ingest + privacy gate in
   this process: the notebook kernel never sees raw data, only the dataset's folder);
2. execute ``notebooks/brief.ipynb`` with papermill into a private staging folder (the
   notebook writes its figures and ``results.json`` there);
3. export offline HTML without code and, when ``report.formats`` asks for it, an A4 PDF
   (WeasyPrint);
4. scan every staged file with the export scanner;
5. swap the staging folder into ``outputs/<target>/``. A run that fails at any step leaves
   the earlier outputs as they were; a notebook that fails mid-way is kept, for diagnosis, in
   the target's work folder (token-only zone), never among the outputs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import datetime as dt
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

import valuation
from valuation.errors import BriefExecutionError, LeakError, ReportError
from valuation.params import DealParams, load_params
from valuation.report.export import export_html, export_pdf, print_header
from valuation.report.kernel import ipc_kernel_manager_class
from valuation.report.results import add_run_info
from valuation.report.text import text as narrative

KERNEL_NAME = "python3"
"""The kernel the Makefile installs in the virtualenv (``ipykernel install --sys-prefix``)."""

BRIEF_NOTEBOOK = "brief.ipynb"
NOTEBOOK_TIMEOUT_S = 600
"""Per-cell execution timeout; a brief takes well under two minutes on a sample."""


@dataclass
class BriefRun:
    """What one brief run produced and how long each step took.

    Attributes
    ----------
    target : str
    output_dir : Path
        Where the published files are.
    files : list of Path
        The published files.
    timings : dict
        Seconds per step: ``prepare``, ``kernel_start``, ``compute``, ``export``, ``scan``,
        ``total``.
    notices : list of str
        Things the reader should know (no PDF, no CJK font, ...).
    """

    target: str
    output_dir: Path
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def timing_line(self) -> str:
        """One human line: ``kernel start 2.1 s · compute 30.4 s · export 1.8 s``."""
        parts = [f"{name.replace('_', ' ')} {self.timings[name]:.1f} s"
                 for name in ("prepare", "kernel_start", "compute", "export", "scan", "total")
                 if name in self.timings]
        return " · ".join(parts)


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder, the source of truth of the brief notebook.

    Raises
    ------
    ReportError
        When the package is installed without the repository (no ``notebooks/`` beside
        ``src/``).
    """
    folder = Path(valuation.__file__).resolve().parents[2] / "notebooks"
    if not (folder / BRIEF_NOTEBOOK).is_file():
        raise ReportError(
            f"the brief notebook was not found at {folder / BRIEF_NOTEBOOK}; install the "
            "workbench from its repository (pip install -e .) so notebooks/ is available"
        )
    return folder


def brief_notebook() -> Path:
    """Path of ``notebooks/brief.ipynb``."""
    return notebooks_dir() / BRIEF_NOTEBOOK


# ---------------------------------------------------------------------------------------
# 1. the analysis dataset (secure zone -> analysis zone), in this process
# ---------------------------------------------------------------------------------------
def _ingest_and_gate(params: DealParams) -> None:
    """Ingest + privacy gate (run in a short-lived child process, see ensure_analysis)."""
    from valuation.ingest import read_exports
    from valuation.privacy.gate import run_gate
    from valuation.privacy.keys import load_key

    run_gate(read_exports(params), params, load_key(params))


def ensure_analysis(params: DealParams, *, force: bool = False,
                    log: Callable[[str], None] = print) -> Path:
    """Run ingest and the privacy gate when the analysis dataset is missing or stale.

    They run in a child process: the raw tables (the secure zone) and the memory they took
    are gone before the brief's kernel starts, which matters at 10^6 customers (the Arrow
    memory pool keeps freed buffers for reuse within a process).

    Parameters
    ----------
    params : DealParams
    force : bool
        Rebuild even if the dataset is fresh.
    log : callable
        Where progress lines go.

    Returns
    -------
    Path
        The analysis dataset's folder.
    """
    from valuation.analysis import analysis_is_stale
    from valuation.privacy.keys import load_key

    if force or analysis_is_stale(params):
        log(f"[{params.target}] analysis dataset missing or stale: running ingest + privacy gate")
        load_key(params)  # a missing key fails here, and a demo key is announced, in this process
        if multiprocessing.current_process().daemon:  # e.g. a Dask worker: no children allowed
            _ingest_and_gate(params)
        else:
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(max_workers=1,
                                                        mp_context=context) as pool:
                pool.submit(_ingest_and_gate, params).result()
    from valuation.analysis import check_dataset

    check_dataset(params, load_key(params, notify=None))  # logged, intact, this deal's key
    return params.analysis_dir


# ---------------------------------------------------------------------------------------
# 2. papermill
# ---------------------------------------------------------------------------------------
def _parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def notebook_timings(nb: nbformat.NotebookNode) -> dict[str, float]:
    """Kernel start and compute seconds from papermill's metadata of an executed notebook.

    Kernel start = from papermill's start to the first cell's start; compute = from the
    first cell's start to the last cell's end.
    """
    meta = nb.metadata.get("papermill", {})
    start = _parse_time(meta.get("start_time"))
    cell_times = [c.metadata.get("papermill", {}) for c in nb.cells]
    starts = [_parse_time(m.get("start_time")) for m in cell_times if m.get("start_time")]
    ends = [_parse_time(m.get("end_time")) for m in cell_times if m.get("end_time")]
    if start is None or not starts or not ends:
        return {}
    return {
        "kernel_start": max(0.0, (min(starts) - start).total_seconds()),
        "compute": max(0.0, (max(ends) - min(starts)).total_seconds()),
    }


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    kernel_name: str = KERNEL_NAME,
    timeout: int = NOTEBOOK_TIMEOUT_S,
) -> dict[str, float]:
    """Execute ``notebook`` with papermill into ``output``; return its timings.

    The kernel runs with ``cwd`` as working folder and IPython's history off (no shared
    SQLite file between parallel runs); this process's own working folder is never changed,
    so several briefs can run in threads of one process (a Dask worker).

    Raises
    ------
    ReportError
        When a cell fails; the partially executed notebook stays at ``output``.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        # a fresh context: jupyter_core keeps "the event loop of this thread" in a context
        # variable, and a context copied from another thread (a Dask worker thread gets its
        # caller's) hands nbclient a loop that is already running elsewhere
        contextvars.Context().run(
            papermill.execute_notebook,
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=kernel_name,
            # the kernel's working folder, set through nbclient's resources: papermill's own
            # ``cwd`` calls os.chdir, which is process-wide and races between threads (Dask)
            resources={"metadata": {"path": str(cwd)}},
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
            extra_arguments=["--HistoryManager.enabled=False"],
            kernel_manager_class=ipc_kernel_manager_class(),
        )
    except PapermillExecutionError as exc:
        raise ReportError(
            f"{notebook.name}: cell {exc.exec_count} failed with {exc.ename}: "
            f"{_first_line(exc.evalue)}"
        ) from None
    return notebook_timings(nbformat.read(output, as_version=4))


def _first_line(text: str) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


# ---------------------------------------------------------------------------------------
# 4-5. scan and publish
# ---------------------------------------------------------------------------------------
def scan_outputs(paths: list[Path]) -> None:
    """Scan every file with the export scanner; raises LeakError on personal data."""
    from valuation.privacy.scanner import assert_clean

    assert_clean(paths)


@contextlib.contextmanager
def staging_folder(output_dir: Path) -> Iterator[Path]:
    """A private folder beside ``output_dir`` (same file system, so a rename is atomic)."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.staging-", dir=output_dir.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, output_dir: Path) -> None:
    """Swap ``staging`` into ``output_dir``; the earlier outputs survive a failed swap."""
    backup = None
    if output_dir.exists():
        backup = output_dir.with_name(f".{output_dir.name}.previous-{os.getpid()}-{time.time_ns()}")
        os.replace(output_dir, backup)
    try:
        os.replace(staging, output_dir)
    except OSError:
        if backup is not None:
            os.replace(backup, output_dir)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def keep_failed_notebook(partial: Path, params: DealParams) -> Path | None:
    """Keep a partially executed notebook in the work folder, if the scanner passes it."""
    if not partial.is_file():
        return None
    kept = params.work_dir / "failed" / f"brief-{dt.datetime.now():%Y%m%d-%H%M%S}.ipynb"
    kept.parent.mkdir(parents=True, exist_ok=True)
    try:
        scan_outputs([partial])
    except LeakError:  # never keep a notebook that shows personal data
        return None
    shutil.copyfile(partial, kept)
    return kept


# ---------------------------------------------------------------------------------------
# the whole job
# ---------------------------------------------------------------------------------------
def run_brief(
    params: DealParams | str | Path,
    *,
    out_dir: str | Path | None = None,
    lang: str | None = None,
    notebook: str | Path | None = None,
    prepare: bool = True,
    log: Callable[[str], None] = print,
) -> BriefRun:
    """Produce the negotiation brief of one target.

    Parameters
    ----------
    params : DealParams or path
        The target (a path is validated with :func:`valuation.params.load_params`).
    out_dir : path, optional
        Output folder; default ``params.output_dir`` (``outputs/<target>/``).
    lang : {"zh", "en"}, optional
        Overrides ``report.lang``.
    notebook : path, optional
        Another brief notebook (tests); default ``notebooks/brief.ipynb``.
    prepare : bool
        Run ingest + gate when the analysis dataset is missing or stale.
    log : callable
        Where progress lines go.

    Returns
    -------
    BriefRun

    Raises
    ------
    BriefExecutionError
        A cell failed (the partial notebook is kept in ``<work_dir>/failed/``).
    ReportError
        The notebook did not write results.json.
    LeakError
        The scanner found personal data; nothing was published.
    """
    if not isinstance(params, DealParams):
        params = load_params(params)
    started = time.perf_counter()
    output_dir = Path(out_dir).resolve() if out_dir else params.output_dir
    from valuation.pathsafety import check_paths

    check_paths(params, ("work_dir", "output_dir"), output_dir=output_dir)
    notebook = Path(notebook) if notebook else brief_notebook()
    lang = lang or params.report.lang
    run = BriefRun(target=params.target, output_dir=output_dir)

    tick = time.perf_counter()
    analysis_dir = ensure_analysis(params, log=log) if prepare else params.analysis_dir
    run.timings["prepare"] = time.perf_counter() - tick

    with staging_folder(output_dir) as staging:
        executed = staging / BRIEF_NOTEBOOK
        parameters = {
            "params_path": str(params.source) if params.source else "",
            "analysis_dir": str(analysis_dir),
            "output_dir": str(staging),
            "lang": lang,
        }
        log(f"[{params.target}] executing {notebook.name} ({lang})")
        try:
            run.timings.update(execute_notebook(notebook, executed, parameters, cwd=staging))
        except ReportError as exc:
            kept = keep_failed_notebook(executed, params)
            where = f"; partial notebook kept at {kept}" if kept else ""
            raise BriefExecutionError(
                f"[{params.target}] brief failed: {exc}{where}", partial_notebook=kept
            ) from None

        tick = time.perf_counter()
        formats = set(params.report.formats)
        html = export_html(executed, staging / "brief.html",
                           title=narrative(lang, "title", name=params.name), lang=lang,
                           header=print_header(params.name, params.as_of, lang))
        if "pdf" in formats:
            outcome = export_pdf(html, staging / "brief.pdf", lang=lang)
            if outcome.notice:
                run.notices.append(outcome.notice)
        if "html" not in formats and "pdf" in formats:
            html.unlink()
        if "ipynb" not in formats:
            executed.unlink()
        run.timings["export"] = time.perf_counter() - tick

        results_path = staging / "results.json"
        if not results_path.is_file():
            raise ReportError(f"[{params.target}] the notebook did not write results.json")
        run.timings["total"] = time.perf_counter() - started
        add_run_info(results_path, {"timings_s": run.timings, "notices": run.notices})

        tick = time.perf_counter()
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        scan_outputs(files)
        run.timings["scan"] = time.perf_counter() - tick

        publish(staging, output_dir)
        run.files = [output_dir / p.relative_to(staging) for p in files]
    run.timings["total"] = time.perf_counter() - started
    for notice in run.notices:
        log(f"[{params.target}] note: {notice}")
    log(f"[{params.target}] brief written to {output_dir} ({run.timing_line()})")
    return run
