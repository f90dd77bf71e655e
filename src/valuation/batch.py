"""Briefs for many targets: local worker processes or a Dask cluster, and a portfolio view.

Each target runs :func:`brief_job` in isolation: whatever goes wrong with one target (bad
data, a model that does not converge, a failing cell) is caught and recorded as a
:class:`TargetOutcome`, and the others go on. A progress bar shows a live done / failed count.
At the end :func:`write_portfolio` (:mod:`valuation.report.portfolio`) compares the targets side by side (``portfolio.html`` and
``portfolio.csv``) from each brief's ``results.json``.

Examples
--------
>>> report = run_batch(discover_params(["params/"]), workers=2)  # doctest: +SKIP
>>> report.ok, report.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from valuation.errors import ReportError, ValuationError
from valuation.privacy.masking import mask_value

@dataclass
class TargetOutcome:
    """The result of one target in a batch.

    Attributes
    ----------
    params_path : str
    target : str
        The target id (the YAML's stem when the params could not be read).
    ok : bool
    seconds : float
    output_dir : str or None
        Where its brief was published.
    error : str or None
        The error, masked, one paragraph.
    partial_notebook : str or None
        Where the partially executed notebook was kept, when a cell failed.
    """

    params_path: str
    target: str
    ok: bool
    seconds: float
    output_dir: str | None = None
    error: str | None = None
    partial_notebook: str | None = None


@dataclass
class BatchReport:
    """All outcomes of a batch, and where the portfolio went."""

    outcomes: list[TargetOutcome]
    portfolio_html: Path | None = None
    portfolio_csv: Path | None = None
    seconds: float = 0.0
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every target produced its brief."""
        return all(o.ok for o in self.outcomes)

    @property
    def failed(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def summary(self) -> str:
        """A few lines for the terminal: counts, each failure, the portfolio."""
        done = sum(o.ok for o in self.outcomes)
        lines = [f"batch: {done} done, {len(self.failed)} failed of {len(self.outcomes)} "
                 f"target(s) in {self.seconds:.1f} s"]
        for outcome in self.failed:
            lines.append(f"  FAILED {outcome.target}: {outcome.error}")
            if outcome.partial_notebook:
                lines.append(f"         partial notebook: {outcome.partial_notebook}")
        if self.portfolio_html:
            lines.append(f"portfolio: {self.portfolio_html} and {self.portfolio_csv}")
        lines.extend(f"note: {n}" for n in self.notices)
        return "\n".join(lines)


def discover_params(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of params YAML files.

    Raises
    ------
    ReportError
        When a path does not exist or nothing is found.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        elif path.is_file():
            found.append(path)
        else:
            raise ReportError(f"{path}: no such params file or folder")
    unique = sorted({p.resolve() for p in found})
    if not unique:
        raise ReportError("no params YAML found in the paths given (expected *.yaml)")
    return unique


def _quiet(_line: str) -> None:
    """Workers print nothing: the progress bar and the summary speak for them."""


def brief_job(params_path: str, out_root: str | None = None) -> dict[str, Any]:
    """Produce one target's brief; never raises, returns a :class:`TargetOutcome` as a dict.

    Module-level, so worker processes and Dask workers can import it.
    """
    from valuation.errors import BriefExecutionError
    from valuation.params import load_params
    from valuation.report.runner import run_brief

    started = time.perf_counter()
    target = Path(params_path).stem
    try:
        params = load_params(params_path)
        target = params.target
        out_dir = Path(out_root) / target if out_root else None
        run = run_brief(params, out_dir=out_dir, log=_quiet)
        outcome = TargetOutcome(str(params_path), target, True, time.perf_counter() - started,
                                output_dir=str(run.output_dir))
    except BriefExecutionError as exc:
        outcome = TargetOutcome(str(params_path), target, False, time.perf_counter() - started,
                                error=_error_text(exc),
                                partial_notebook=str(exc.partial_notebook or "") or None)
    except Exception as exc:  # noqa: BLE001 -- isolate every failure of one target
        outcome = TargetOutcome(str(params_path), target, False, time.perf_counter() - started,
                                error=_error_text(exc))
    return asdict(outcome)


def _error_text(exc: BaseException) -> str:
    """One masked paragraph; a bug (not a ValuationError) is named by its type."""
    message = str(exc).strip()
    if not isinstance(exc, ValuationError):
        message = f"{type(exc).__name__}: {message}"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return mask_value(" | ".join(lines[:6]), max_len=600)


Job = Callable[[str, "str | None"], dict[str, Any]]


def _progress(total: int, enabled: bool) -> tqdm:
    return tqdm(total=total, desc="briefs", unit="target", disable=not enabled, dynamic_ncols=True)


def _collect(outcomes: list[TargetOutcome], record: dict[str, Any], bar: tqdm) -> None:
    outcome = TargetOutcome(**record)
    outcomes.append(outcome)
    done = sum(o.ok for o in outcomes)
    bar.set_postfix(done=done, failed=len(outcomes) - done, refresh=False)
    bar.update(1)


def run_local(paths: Sequence[Path], *, workers: int | None = None, out_root: str | None = None,
              job: Job = brief_job, progress: bool = True) -> list[TargetOutcome]:
    """Run ``job`` for every target in a local process pool (``spawn`` start method)."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths)))
    outcomes: list[TargetOutcome] = []
    context = multiprocessing.get_context("spawn")
    with _progress(len(paths), progress) as bar, concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context
    ) as pool:
        futures = {pool.submit(job, str(p), out_root): p for p in paths}
        for future in concurrent.futures.as_completed(futures):
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 -- a worker died (e.g. out of memory)
                path = futures[future]
                record = asdict(TargetOutcome(str(path), path.stem, False, 0.0,
                                              error=_error_text(exc)))
            _collect(outcomes, record, bar)
    return outcomes


def run_dask(paths: Sequence[Path], scheduler: Any, *, out_root: str | None = None,
             job: Job = brief_job, progress: bool = True) -> list[TargetOutcome]:
    """Run ``job`` for every target on a Dask cluster.

    Parameters
    ----------
    scheduler : str or distributed.Client
        The address of a running scheduler (``tcp://host:8786``) or a connected client.
    """
    from distributed import Client, as_completed

    own_client = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler) if own_client else scheduler
    except OSError as exc:
        raise ReportError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; "
                          "check the address and that the scheduler is running") from None
    outcomes: list[TargetOutcome] = []
    try:
        futures = client.map(job, [str(p) for p in paths], out_root=out_root, pure=False)
        by_key = {f.key: p for f, p in zip(futures, paths)}
        with _progress(len(paths), progress) as bar:
            for future in as_completed(futures):
                try:
                    record = future.result()
                except Exception as exc:  # noqa: BLE001 -- a worker was lost
                    path = by_key[future.key]
                    record = asdict(TargetOutcome(str(path), path.stem, False, 0.0,
                                                  error=_error_text(exc)))
                _collect(outcomes, record, bar)
    finally:
        if own_client:
            client.close()
    return outcomes


def portfolio_entries(outcomes: Sequence[TargetOutcome]) -> list[dict[str, Any]]:
    """Each target's results.json (with where its brief is, and its run time), or its
    failure record: the input of :mod:`valuation.report.portfolio`."""
    from valuation.report.results import read_results

    entries: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"target": outcome.target, "seconds": round(outcome.seconds, 1)}
        if outcome.ok and outcome.output_dir:
            entry.update(read_results(Path(outcome.output_dir) / "results.json"))
            entry.update(status="ok", brief_path=str(Path(outcome.output_dir) / "brief.html"))
        else:
            entry.update(status="failed", error=outcome.error)
        entries.append(entry)
    return entries


def portfolio_table(outcomes: Sequence[TargetOutcome], out_dir: str | Path = ".") -> pd.DataFrame:
    """One row per target (see :func:`valuation.report.portfolio.portfolio_frame`)."""
    from valuation.report.portfolio import portfolio_frame

    return portfolio_frame(portfolio_entries(outcomes), out_dir)


def write_portfolio(outcomes: Sequence[TargetOutcome], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``portfolio.html`` and ``portfolio.csv`` to ``out_dir``
    (:func:`valuation.report.portfolio.write_portfolio`: escaped, scanned, atomic)."""
    from valuation.report import portfolio

    return portfolio.write_portfolio(portfolio_entries(outcomes), out_dir)


def _portfolio_dir(outcomes: Sequence[TargetOutcome], out_root: str | None,
                   paths: Sequence[Path]) -> Path:
    if out_root:
        return Path(out_root)
    for outcome in outcomes:
        if outcome.output_dir:
            return Path(outcome.output_dir).parent
    # nothing succeeded: next to where the first target's outputs would go
    from valuation.params import load_params

    for path in paths:
        try:
            return load_params(path, check_files=False).output_dir.parent
        except ValuationError:
            continue
    return Path.cwd() / "outputs"


def run_batch(
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    out_root: str | Path | None = None,
    job: Job = brief_job,
    progress: bool = True,
) -> BatchReport:
    """Produce every target's brief, then the portfolio.

    Parameters
    ----------
    paths : sequence of path
        Params YAML files (see :func:`discover_params`).
    workers : int, optional
        Local worker processes (default: the number of cores, at most one per target).
    scheduler : str or distributed.Client, optional
        Run on this Dask cluster instead of local processes.
    out_root : path, optional
        ``<out_root>/<target>/`` for each brief and ``<out_root>/portfolio.*``.
    job : callable
        The per-target job (default :func:`brief_job`); takes ``(params_path, out_root)`` and
        returns a :class:`TargetOutcome` as a dict.
    progress : bool
        Show the progress bar.

    Returns
    -------
    BatchReport
    """
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    root = str(Path(out_root).resolve()) if out_root else None
    if scheduler is not None:
        outcomes = run_dask(paths, scheduler, out_root=root, job=job, progress=progress)
    else:
        outcomes = run_local(paths, workers=workers, out_root=root, job=job, progress=progress)
    report = BatchReport(outcomes=sorted(outcomes, key=lambda o: o.target))
    report.portfolio_html, report.portfolio_csv = write_portfolio(
        report.outcomes, _portfolio_dir(report.outcomes, root, paths)
    )
    report.seconds = time.perf_counter() - started
    return report
