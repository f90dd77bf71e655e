"""Batches on a Dask cluster: targets as tasks, records (with the files) back to the client.

Failures as Dask users expect them:

* a target's own error (bad data, a failing cell, a missing export or key on that worker) is
  caught inside the task (:func:`valuation.batch.worker.run_target`) and comes back as a
  failed record: it is **not** retried, and Dask's ``retries=`` is not used (it would rerun a
  task that raised, which is exactly what must not be retried);
* a **lost worker** (killed, out of memory, its machine gone) is rescheduled by the scheduler
  on another worker. Each attempt logs a ``start`` event with the scheduler (topic
  ``valuation-batch-<id>``), so the client knows where every attempt ran; a target whose
  workers were lost :data:`MAX_ATTEMPTS` times is not started again (the task checks the
  events first) and fails with the list of lost workers. When the scheduler gives up earlier
  (``distributed.scheduler.allowed-failures: 0``: :class:`distributed.KilledWorker`), the
  client resubmits the target itself, so one retry happens either way;
* a lost scheduler connection fails the targets still out, saying so.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from valuation.batch.outcome import client_host, error_text, failure_record
from valuation.batch.spec import TargetSpec
from valuation.batch.worker import Runner, run_target
from valuation.errors import ReportError

MAX_ATTEMPTS = 2
"""Attempts per target: the first, and one retry after a lost worker."""

TOPIC_PREFIX = "valuation-batch"


def _starts(events: Sequence[tuple[float, Any]], target: str) -> list[dict[str, Any]]:
    """The ``start`` events of ``target``, oldest first."""
    return [msg for _, msg in events
            if isinstance(msg, dict) and msg.get("event") == "start" and msg.get("target") == target]


def _where(start: dict[str, Any]) -> str:
    return f"worker {start.get('worker')} on {start.get('host')}"


def cluster_task(spec: TargetSpec, runner: Runner, topic: str) -> dict[str, Any]:
    """The Dask task of one target: log the attempt, refuse a third, run, return the record."""
    from distributed import get_client, get_worker

    worker = get_worker()
    earlier = _starts(get_client().get_events(topic), spec.target)
    if len(earlier) >= MAX_ATTEMPTS:
        return failure_record(
            spec.params_path, spec.target,
            f"not started again: {len(earlier)} workers were lost while running it "
            f"({'; '.join(_where(s) for s in earlier)}), most likely out of memory; give the "
            "workers more memory or run this target alone",
            host=socket.gethostname(), worker=worker.address,
            lost=[_where(s) for s in earlier])
    attempt = uuid.uuid4().hex
    worker.log_event(topic, {"event": "start", "target": spec.target, "attempt": attempt,
                             "worker": worker.address, "host": socket.gethostname(),
                             "pid": os.getpid()})
    record = run_target(spec, runner, worker=worker.address)
    record["attempt"] = attempt
    return record


def connect(scheduler: Any) -> tuple[Any, bool]:
    """A client for ``scheduler`` (an address or a connected client) and whether we own it."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout="20s"), True
    except (OSError, TimeoutError) as exc:
        raise ReportError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; check the "
                          "address and that `dask scheduler` is running there") from None


def _lost_record(spec: TargetSpec, starts: list[dict[str, Any]], exc: BaseException) -> dict:
    where = "; ".join(_where(s) for s in starts) or "worker unknown"
    return failure_record(
        spec.params_path, spec.target,
        f"worker lost while running it ({where}): killed or out of memory, "
        f"{len(starts) or 'every'} attempt(s) lost (Dask: {type(exc).__name__})",
        host=starts[-1].get("host") if starts else None,
        worker=starts[-1].get("worker") if starts else None,
        lost=[_where(s) for s in starts])


def run_dask(specs: Sequence[TargetSpec], scheduler: Any, *, runner: Runner,
             on_result: Callable[[dict[str, Any]], None]) -> None:
    """Run every target as a task on a Dask cluster.

    Parameters
    ----------
    specs : sequence of TargetSpec
    scheduler : str or distributed.Client
        The address of a running scheduler (``tcp://host:8786``) or a connected client.
    runner : callable
        The per-target runner; module-level, importable on the workers.
    on_result : callable
        Called on the client with each target's record (``lost`` filled from the attempts).
    """
    from distributed import KilledWorker, as_completed

    client, own = connect(scheduler)
    topic = f"{TOPIC_PREFIX}-{uuid.uuid4().hex[:12]}"

    def submit(spec: TargetSpec) -> Any:
        # retries=0: a task that raised is an error of its own, never retried (see above)
        return client.submit(cluster_task, spec, runner, topic, pure=False, retries=0,
                             key=f"valuation-brief-{spec.target}-{uuid.uuid4().hex[:8]}")

    try:
        futures = {submit(spec): spec for spec in specs}
        pending = as_completed(list(futures))
        for future in pending:
            spec = futures.pop(future)
            try:
                record = future.result()
            except KilledWorker as exc:
                starts = _starts(client.get_events(topic), spec.target)
                if len(starts) < MAX_ATTEMPTS:  # the scheduler gave up before our one retry
                    retry = submit(spec)
                    futures[retry] = spec
                    pending.add(retry)
                    continue
                record = _lost_record(spec, starts, exc)
            except Exception as exc:  # noqa: BLE001 -- the task never ran or the link broke
                record = failure_record(
                    spec.params_path, spec.target,
                    f"the cluster could not run it ({error_text(exc)}); not retried: check that "
                    "every worker has the same valuation version and reaches the scheduler",
                    host=client_host(), worker="client")
            else:
                starts = _starts(client.get_events(topic), spec.target)
                record["lost"] = [_where(s) for s in starts
                                  if s.get("attempt") != record.get("attempt")]
            finally:
                future.release()
            on_result(record)
    finally:
        if own:
            client.close()
