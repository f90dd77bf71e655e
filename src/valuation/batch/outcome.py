"""What a batch reports: one :class:`TargetOutcome` per target and the :class:`BatchReport`.

A worker sends its result back as a plain dict (a *record*: the fields of
:class:`TargetOutcome` plus ``files``, the published files as bytes); the client turns it into
a :class:`TargetOutcome` once it has written those files into its own ``outputs/``.
"""

from __future__ import annotations

import signal
import socket
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from valuation.errors import ValuationError
from valuation.privacy.masking import mask_value


@dataclass
class TargetOutcome:
    """The result of one target in a batch.

    Attributes
    ----------
    params_path : str
        The params YAML on the client.
    target : str
        The target id (the YAML's stem when the params could not be read).
    ok : bool
    seconds : float
        Time spent on the worker (0 when it never started).
    output_dir : str or None
        Where its brief was published on the client.
    error : str or None
        Why it failed, masked, one paragraph.
    partial_notebook : str or None
        ``host:path`` of the partially executed notebook, kept in the target's work folder on
        the worker that ran it, when a cell failed.
    host : str or None
        Host name of the machine that ran it (the client's, when it failed before leaving it).
    worker : str or None
        The worker that ran it: a Dask worker address or ``local process <pid>``.
    lost : list of str
        Earlier attempts whose worker was lost while running the target (``worker on host``);
        non-empty means the target was retried.
    notices : list of str
        Things the reader should know (no PDF, no CJK font, files withheld, ...).
    """

    params_path: str
    target: str
    ok: bool
    seconds: float = 0.0
    output_dir: str | None = None
    error: str | None = None
    partial_notebook: str | None = None
    host: str | None = None
    worker: str | None = None
    lost: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def retried(self) -> bool:
        """True when an earlier attempt was lost with its worker and the target ran again."""
        return bool(self.lost)

    @property
    def where(self) -> str:
        """``host (worker)`` of the run that counted, or ``-`` when it never ran."""
        if not self.host:
            return "-"
        return f"{self.host} ({self.worker})" if self.worker else self.host

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TargetOutcome:
        """Build from a worker's record; keys this class does not know (``files``) are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})

    def to_record(self) -> dict[str, Any]:
        """A plain dict (picklable by any worker, no class needed on the other side)."""
        return asdict(self)


def failure_record(params_path: str, target: str, error: str, *, host: str | None = None,
                   worker: str | None = None, seconds: float = 0.0,
                   lost: list[str] | None = None) -> dict[str, Any]:
    """The record of a target that failed without its worker returning one."""
    return TargetOutcome(params_path, target, False, seconds, error=error,
                         host=host, worker=worker, lost=list(lost or [])).to_record()


def error_text(exc: BaseException, substitutions: dict[str, str] | None = None,
               keep: tuple[str, ...] = ()) -> str:
    """One masked paragraph; a bug (not a ValuationError) is named by its type.

    ``substitutions`` replace text before masking (a worker's private copy of the params
    YAML by the client's path, which the user knows); ``keep`` are strings shown as they are
    (the host name and worker address: ``ip-10-0-0-12`` is not a phone number).
    """
    message = str(exc).strip()
    for old, new in (substitutions or {}).items():
        message = message.replace(old, new)
    if not isinstance(exc, ValuationError):
        message = f"{type(exc).__name__}: {message}"
    kept = {f"\x00{i}\x00": text for i, text in enumerate(t for t in keep if t)}
    for placeholder, text in kept.items():
        message = message.replace(text, placeholder)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = mask_value(" | ".join(lines[:8]), max_len=800)
    for placeholder, original in kept.items():
        text = text.replace(placeholder, original)
    return text


def exit_reason(exitcode: int | None, pid: int | None) -> str:
    """Why a local worker process ended without a result, from its exit code.

    Examples
    --------
    >>> exit_reason(-9, 1234).split(";")[0]
    'worker killed (signal 9, SIGKILL) in local process 1234'
    """
    who = f"local process {pid}" if pid else "a local process"
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        hint = ""
        if -exitcode == signal.SIGKILL:
            hint = ("; the out-of-memory killer sends this: run fewer --workers at a time or "
                    "give the machine more memory")
        return f"worker killed (signal {-exitcode}, {name}) in {who}{hint}"
    if exitcode:
        return f"worker exited with code {exitcode} in {who} without a result"
    return f"worker in {who} ended without a result"


def client_host() -> str:
    """This machine's host name (where the client runs)."""
    return socket.gethostname()


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

    @property
    def retried(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if o.retried]

    def summary(self) -> str:
        """Lines for the terminal: counts; per target where it ran, any retry, why it failed."""
        done = sum(o.ok for o in self.outcomes)
        lines = [f"batch: {done} done, {len(self.failed)} failed of {len(self.outcomes)} "
                 f"target(s) in {self.seconds:.1f} s"
                 + (f"; {len(self.retried)} retried after a lost worker" if self.retried else "")]
        width = max((len(o.target) for o in self.outcomes), default=0)
        for o in self.outcomes:
            status = "ok" if o.ok else "FAILED"
            line = f"  {status:<6} {o.target:<{width}}  on {o.where}, {o.seconds:.1f} s"
            if o.retried:
                line += f"; retried after losing {', '.join(o.lost)}"
            if not o.ok:
                line += f": {o.error}"
            lines.append(line)
            if o.partial_notebook:
                lines.append(f"         partial notebook: {o.partial_notebook}")
            lines.extend(f"         note: {n}" for n in o.notices)
        if self.portfolio_html:
            lines.append(f"portfolio: {self.portfolio_html} and {self.portfolio_csv}")
        lines.extend(f"note: {n}" for n in self.notices)
        return "\n".join(lines)
