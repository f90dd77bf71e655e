"""The batch on the client: validate targets, hand them to workers, publish what comes back.

Steps of :func:`run_batch`:

1. read and validate every params YAML here (:class:`~valuation.batch.spec.TargetSpec`: the
   params as data, every path absolute); an invalid one, or a second YAML with the same target
   id, fails on the client and is not sent;
2. run the targets in local processes (:mod:`valuation.batch.local`) or on a Dask cluster
   (:mod:`valuation.batch.cluster`); each worker checks the exports and the key where it runs
   and returns the published files with its outcome;
3. as each target comes back, write its files into this machine's ``outputs/<target>/``
   (:mod:`valuation.batch.receive`: staged, scanned again, renamed into place);
4. build the portfolio from those files (:func:`valuation.batch.portfolio.write_portfolio`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from valuation.batch.outcome import (
    BatchReport,
    TargetOutcome,
    client_host,
    error_text,
    failure_record,
)
from valuation.batch.portfolio import write_portfolio
from valuation.batch.spec import TargetSpec
from valuation.batch.worker import Runner, brief_runner
from valuation.errors import ReportError, ValuationError


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


def prepare_targets(
    paths: Sequence[Path], *, check_files: bool, out_root: Path | None
) -> tuple[list[TargetSpec], list[dict[str, Any]], dict[str, Path]]:
    """Validate every params YAML on the client.

    Returns
    -------
    specs : list of TargetSpec
        The targets to send.
    refused : list of dict
        Failure records of the targets refused here (invalid params, a duplicate target id).
    destinations : dict
        ``target -> output folder on the client``, also for refused targets when known.
    """
    from valuation.params import load_params

    specs: list[TargetSpec] = []
    refused: list[dict[str, Any]] = []
    destinations: dict[str, Path] = {}
    owners: dict[str, Path] = {}
    host = client_host()
    for path in paths:
        try:
            params = load_params(path, check_files=check_files)
        except ValuationError as exc:
            refused.append(failure_record(str(path), path.stem, error_text(exc),
                                          host=host, worker="client"))
            try:
                params = load_params(path, check_files=False)
            except ValuationError:
                continue
            destinations.setdefault(params.target, _destination(params, out_root))
            continue
        if params.target in owners:
            refused.append(failure_record(
                str(path), params.target,
                f"{path}: target id {params.target!r} is also used by {owners[params.target]}; "
                "each target needs its own id (its outputs/<target> folder)",
                host=host, worker="client"))
            continue
        owners[params.target] = path
        destinations[params.target] = _destination(params, out_root)
        specs.append(TargetSpec.from_params(params))
    return specs, refused, destinations


def _destination(params: Any, out_root: Path | None) -> Path:
    return out_root / params.target if out_root else Path(params.output_dir)


def _receive(record: dict[str, Any], destination: Path | None) -> TargetOutcome:
    """Publish a returned record's files on the client; a refusal fails that target only."""
    from valuation.batch.receive import receive_outputs

    files = record.pop("files", None) or {}
    outcome = TargetOutcome.from_record(record)
    if not outcome.ok:
        return outcome
    if destination is None:
        outcome.ok, outcome.error = False, "no output folder on the client"
        return outcome
    try:
        receive_outputs(files, destination, target=outcome.target)
    except (ValuationError, OSError) as exc:
        outcome.ok = False
        outcome.error = f"outputs refused on the client, earlier outputs kept: {error_text(exc)}"
    else:
        outcome.output_dir = str(destination)
    return outcome


def _portfolio_dir(out_root: Path | None, destinations: dict[str, Path]) -> Path:
    if out_root:
        return out_root
    for target in sorted(destinations):
        return destinations[target].parent
    return Path.cwd() / "outputs"


def run_batch(
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    out_root: str | Path | None = None,
    runner: Runner = brief_runner,
    progress: bool = True,
    lang: str = "en",
) -> BatchReport:
    """Produce every target's brief, then the portfolio, all in this machine's outputs.

    Parameters
    ----------
    paths : sequence of path
        Params YAML files (see :func:`discover_params`).
    workers : int, optional
        Local worker processes at a time (default: the number of cores, at most one per
        target); ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        Run on this Dask cluster instead of local processes. The exports are then checked on
        the workers, where they are read, not here.
    out_root : path, optional
        ``<out_root>/<target>/`` for each brief and ``<out_root>/portfolio.*``; default: each
        target's own output folder, the portfolio beside them.
    runner : callable
        The per-target runner (default :func:`~valuation.batch.worker.brief_runner`);
        ``runner(params, out_dir)`` writes the published files into ``out_dir``. Module-level,
        so worker processes can import it.
    progress : bool
        Show a progress bar with live done / failed counts.
    lang : {"en", "zh"}
        Language of the portfolio page and CSV headers (each brief keeps its own language).

    Returns
    -------
    BatchReport
    """
    started = time.perf_counter()
    paths = [Path(p).resolve() for p in paths]
    root = Path(out_root).resolve() if out_root else None
    specs, refused, destinations = prepare_targets(paths, check_files=scheduler is None,
                                                   out_root=root)
    outcomes: list[TargetOutcome] = []
    with tqdm(total=len(paths), desc="briefs", unit="target", disable=not progress,
              dynamic_ncols=True) as bar:

        def on_result(record: dict[str, Any]) -> None:
            outcomes.append(_receive(record, destinations.get(record["target"])))
            done = sum(o.ok for o in outcomes)
            bar.set_postfix(done=done, failed=len(outcomes) - done, refresh=False)
            bar.update(1)

        for record in refused:
            on_result(record)
        if specs and scheduler is not None:
            from valuation.batch.cluster import run_dask

            run_dask(specs, scheduler, runner=runner, on_result=on_result)
        elif specs:
            from valuation.batch.local import run_local

            run_local(specs, workers=workers, runner=runner, on_result=on_result)
    report = BatchReport(outcomes=sorted(outcomes, key=lambda o: (o.target, o.params_path)))
    report.portfolio_html, report.portfolio_csv = write_portfolio(
        report.outcomes, _portfolio_dir(root, destinations), lang=lang)
    report.seconds = time.perf_counter() - started
    return report
