"""Local batches: one fresh process per target, at most ``workers`` at a time.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: when one of its worker processes is
killed (SIGKILL, the out-of-memory killer) the whole pool is marked broken and every pending
target fails with it. Why not a Dask ``LocalCluster``: it would restart the dead worker and
run the target again on the same machine, where the memory that killed it is still short, and
it costs a scheduler and nannies for what is a plain "run N at a time". Here each target gets
its own ``spawn``-ed process, which writes its record to a file in a private folder and exits;
the parent waits on the process sentinels. A process that dies fails its own target only,
with the reason taken from its exit code ("worker killed (signal 9, SIGKILL)"); the others go
on. A fresh process per target also returns all its memory to the system when it ends. It is
not retried: on one machine the same memory limit would most likely kill it again.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from valuation.batch.outcome import client_host, exit_reason, failure_record
from valuation.batch.spec import TargetSpec
from valuation.batch.worker import Runner, run_target


def _child(spec: TargetSpec, runner: Runner, result_path: str) -> None:
    """Entry point of a target's process: run it and leave the record in ``result_path``."""
    record = run_target(spec, runner, worker=f"local process {os.getpid()}")
    tmp = f"{result_path}.tmp"
    with open(tmp, "wb") as handle:
        pickle.dump(record, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, result_path)


def _stop(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Terminate the processes still running (an interrupted batch)."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def run_local(specs: Sequence[TargetSpec], *, workers: int | None, runner: Runner,
              on_result: Callable[[dict[str, Any]], None]) -> None:
    """Run every target in its own local process, ``workers`` at a time.

    Parameters
    ----------
    specs : sequence of TargetSpec
    workers : int, optional
        Processes at a time (default: the number of cores, at most one per target).
    runner : callable
        The per-target runner (module-level: it is pickled into the process).
    on_result : callable
        Called in this process with each target's record as soon as its process ends.
    """
    workers = max(1, min(workers or os.cpu_count() or 1, len(specs)))
    context = multiprocessing.get_context("spawn")
    pending = list(enumerate(specs))
    running: dict[Any, tuple[Any, TargetSpec, Path, float]] = {}
    with tempfile.TemporaryDirectory(prefix="valuation-batch-results-") as scratch:
        try:
            while pending or running:
                while pending and len(running) < workers:
                    index, spec = pending.pop(0)
                    result = Path(scratch) / f"{index}.pickle"
                    process = context.Process(target=_child, args=(spec, runner, str(result)),
                                              name=f"valuation-batch-{spec.target}")
                    process.start()
                    running[process.sentinel] = (process, spec, result, time.perf_counter())
                for sentinel in multiprocessing.connection.wait(list(running)):
                    process, spec, result, started = running.pop(sentinel)
                    process.join()
                    on_result(_record(process, spec, result, time.perf_counter() - started))
        finally:
            _stop([entry[0] for entry in running.values()])


def _record(process: Any, spec: TargetSpec, result: Path, seconds: float) -> dict[str, Any]:
    """The target's record from its file, or a failure named after the exit code."""
    if process.exitcode == 0 and result.is_file():
        with open(result, "rb") as handle:
            record = pickle.load(handle)
        result.unlink()
        return record
    return failure_record(spec.params_path, spec.target,
                          exit_reason(process.exitcode, process.pid) + "; the other targets "
                          "went on", host=client_host(), worker=f"local process {process.pid}",
                          seconds=seconds)
