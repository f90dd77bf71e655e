"""Wall time and peak memory of one benchmark stage.

Two measurements, and which one is which matters:

* :func:`measure_block` (inside the stage's own process): wall time of the timed block with
  ``time.perf_counter`` and the peak **resident set size (RSS) of this process plus all its
  descendants** (e.g. the Jupyter kernel of a brief), sampled by a psutil thread every
  ``interval`` seconds while the block runs. The RSS held when the block starts (the stage's
  inputs, already loaded) is reported as well, so the peak includes the inputs the stage
  needs but not the transient memory of preparing them. Sampling can miss a spike shorter
  than the interval.
* :func:`run_child` (around a whole stage process): wall time of the child and its
  **kernel-accounted maximum RSS** from ``os.wait4`` (``ru_maxrss``; on Linux the largest
  single process of the child and its reaped descendants, never a sum). Exact, no sampling,
  but it covers the whole process (imports and preparation included).

``tracemalloc`` is not used: it sees Python allocations only, not Arrow buffers or the
kernel process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

MIB = 2**20


@dataclass
class Measurement:
    """Result of :func:`measure_block` (filled in when the block exits).

    Attributes
    ----------
    seconds : float
        Wall time of the block.
    peak_rss_mib : float
        Peak RSS of this process and its descendants during the block (sampled), MiB.
    start_rss_mib : float
        RSS of this process tree when the block started (inputs already loaded), MiB.
    """

    seconds: float = float("nan")
    peak_rss_mib: float = float("nan")
    start_rss_mib: float = float("nan")


def tree_rss(process: psutil.Process) -> int:
    """RSS in bytes of ``process`` plus every live descendant (vanished ones count 0)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


@contextlib.contextmanager
def measure_block(interval: float = 0.02) -> Iterator[Measurement]:
    """Measure the wall time and sampled peak RSS (process tree) of a ``with`` block.

    Parameters
    ----------
    interval : float
        Seconds between two RSS samples.

    Yields
    ------
    Measurement
        Its fields are set when the block exits (also when it raises).

    Examples
    --------
    >>> with measure_block() as m:  # doctest: +SKIP
    ...     fit()
    >>> m.seconds, m.peak_rss_mib  # doctest: +SKIP
    """
    process = psutil.Process()
    result = Measurement()
    start_rss = tree_rss(process)
    peak = [start_rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            peak[0] = max(peak[0], tree_rss(process))

    thread = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        stop.set()
        thread.join()
        peak[0] = max(peak[0], tree_rss(process))
        result.peak_rss_mib = peak[0] / MIB
        result.start_rss_mib = start_rss / MIB


@dataclass
class ChildRun:
    """Result of :func:`run_child`.

    Attributes
    ----------
    returncode : int
        Exit code (negative: killed by that signal; -9 after a timeout).
    seconds : float
        Wall time from start to exit.
    max_rss_mib : float
        ``ru_maxrss`` of the child from ``os.wait4`` (largest single process of its tree), MiB.
    stdout, stderr : str
        What the child printed.
    timed_out : bool
    over_memory : bool
        Killed by the memory guard (its process tree's RSS went over ``memory_limit_mib``).
    """

    returncode: int
    seconds: float
    max_rss_mib: float
    stdout: str
    stderr: str
    timed_out: bool = False
    over_memory: bool = False


def run_child(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
              cwd: str | Path | None = None, timeout: float | None = None,
              memory_limit_mib: float | None = None, interval: float = 0.1) -> ChildRun:
    """Run a command in a fresh process; return its wall time and kernel-accounted max RSS.

    Parameters
    ----------
    argv : sequence of str
        The command.
    env : mapping, optional
        Its environment (default: this process's).
    cwd : path, optional
        Its working folder.
    timeout : float, optional
        Seconds after which its process group is killed (``timed_out`` is then True).
    memory_limit_mib : float, optional
        A guard for a shared machine: when the RSS of the child's process tree (sampled every
        ``interval`` s) exceeds it, the process group is killed (``over_memory`` is then True).

    Returns
    -------
    ChildRun
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=dict(env) if env else None,
                                cwd=cwd, start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        over_memory = threading.Event()
        done = threading.Event()

        def guard() -> None:
            try:
                child = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not done.wait(interval):
                if tree_rss(child) > memory_limit_mib * MIB:
                    over_memory.set()
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return

        watcher = threading.Thread(target=guard, daemon=True) if memory_limit_mib else None
        if watcher:
            watcher.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            done.set()
            if timer:
                timer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(returncode=proc.returncode, seconds=seconds,
                        max_rss_mib=usage.ru_maxrss * 1024 / MIB,
                        stdout=out.read(), stderr=err.read(), timed_out=timed_out.is_set(),
                        over_memory=over_memory.is_set())
