"""The processing log: one append-only, hash-chained JSON line per run (PIPL Art. 55/56).

Each entry records who processed which data, why and on what legal basis, the SHA-256 of
every input and output, row counts and cohort counts, never a personal value (the entry is
scanned before it is written). Entries are chained: ``seq`` counts from 1, ``prev_hash`` is
the previous entry's ``hash`` (64 zeros for the first) and ``hash`` is the SHA-256 of the
canonical JSON (sorted keys, no spaces, UTF-8) of the entry without ``hash``. Editing,
inserting or deleting a line breaks the chain at that line.

Deleting the *last* lines leaves a shorter chain that is still consistent; to catch that,
each append also writes the head (last ``seq`` and ``hash``) to ``<log>.head``, which
:func:`verify_log` compares with the log. Someone able to rewrite both files can still forge
a history; keep a copy of the head elsewhere (the deal room) for that.

The log lives outside the target's work folder (``<work>/../logs/<target>.jsonl``) so that
destroying the work folder leaves it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuation.errors import LogIntegrityError, LogWriteError
from valuation.fileio import write_text_atomic
from valuation.params import DealParams
from valuation.privacy.scanner import leak_error, scan_text

GENESIS_HASH = "0" * 64


def log_path(params: DealParams) -> Path:
    """The processing log of a target: ``<work_dir>/../logs/<target>.jsonl``."""
    return params.work_dir.parent / "logs" / f"{params.target}.jsonl"


def head_path(path: str | Path) -> Path:
    """The file holding the log's last ``seq`` and ``hash``."""
    path = Path(path)
    return path.with_name(path.name + ".head")


def canonical_json(entry: dict[str, Any]) -> str:
    """The canonical JSON text of an entry (sorted keys, compact, UTF-8 characters kept)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``entry`` without its ``hash`` field."""
    body = {key: value for key, value in entry.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (``2025-06-30T08:15:00Z``)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _repair_torn_tail(path: Path, fd: int, data: bytes) -> bytes:
    """Cut a torn last line (bytes after the last newline) left by an interrupted append.

    An append that was interrupted (process killed, machine lost power) before its newline
    reached the disk leaves a fragment that never completed: the run that wrote it failed.
    It is moved to ``<log>.torn`` (appended, for inspection) and cut from the log, which
    restores the chain. A *complete* last line (ending in a newline) is never touched: if it
    is damaged, that is an edit, and the append refuses.
    """
    cut = data.rfind(b"\n") + 1
    fragment = data[cut:]
    if not fragment:
        return data
    with open(torn_path(path), "ab") as torn:
        torn.write(fragment + b"\n")
        torn.flush()
        os.fsync(torn.fileno())
    os.ftruncate(fd, cut)
    os.fsync(fd)
    return data[:cut]


def torn_path(path: str | Path) -> Path:
    """Where fragments of interrupted appends are kept: ``<log>.torn``."""
    path = Path(path)
    return path.with_name(path.name + ".torn")


def _last_entry(path: Path, data: bytes) -> dict[str, Any] | None:
    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        return None
    try:
        return json.loads(lines[-1].decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LogIntegrityError(
            f"{path}: the last line is not valid JSON; run `valuation log verify "
            f"{path}` and restore the log before appending"
        ) from None


def _write_line(path: Path, fd: int, size: int, line: bytes) -> None:
    """Write ``line`` at ``size`` in one ``os.write``, read it back; undo on any failure.

    A short write (disk full) or an error truncates the file back to ``size``, so the log
    is exactly as before and the chain intact.

    Raises
    ------
    LogWriteError
        Saying why and that nothing was kept.
    """
    try:
        os.lseek(fd, size, os.SEEK_SET)
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
        if os.pread(fd, len(line), size) != line:
            raise OSError(errno.EIO, "the line read back differs from the line written")
    except OSError as exc:
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        except OSError:
            pass
        reason = exc.strerror or str(exc)
        raise LogWriteError(
            f"{path}: the processing-log entry could not be written ({reason}); nothing "
            "of this run was kept and the log is unchanged. Free disk space (or fix the "
            "storage) and run the command again."
        ) from None


def append_entry(path: str | Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append one entry to the log, chained to the last one.

    The line is written with one ``os.write`` under an exclusive lock, read back, and the
    head file updated; if any step fails (disk full, short write), the log is truncated
    back to its previous size: the chain is never left half-written. A torn last line left
    by an earlier crash (no final newline) is moved to ``<log>.torn`` first.

    Parameters
    ----------
    path : str or Path
        The log file (created with its folder when missing).
    entry : dict
        JSON-serialisable fields of the run; ``time`` (UTC) is added when missing. Must not
        contain ``seq``, ``prev_hash`` or ``hash``.

    Returns
    -------
    dict
        The entry as written, with ``seq``, ``prev_hash`` and ``hash``.

    Raises
    ------
    LeakError
        When the entry contains a personal identifier (nothing is written).
    LogIntegrityError
        When the last line of the existing log cannot be read.
    LogWriteError
        When the line or the head file cannot be written (nothing is kept).
    """
    path = Path(path)
    reserved = {"seq", "prev_hash", "hash"} & set(entry)
    if reserved:
        raise ValueError(f"append_entry sets {sorted(reserved)} itself")
    record = {"time": utc_now(), **entry}
    findings = scan_text(canonical_json(record), file=f"{path} (new entry)")
    if findings:
        raise leak_error(findings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LogWriteError(f"{path}: cannot open the processing log ({exc.strerror}); "
                            "check the folder and its permissions") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = _repair_torn_tail(path, fd, _read_all(fd))
        last = _last_entry(path, data)
        record["seq"] = (last["seq"] + 1) if last else 1
        record["prev_hash"] = last["hash"] if last else GENESIS_HASH
        record["hash"] = entry_hash(record)
        _write_line(path, fd, len(data), (canonical_json(record) + "\n").encode("utf-8"))
        try:
            write_text_atomic(head_path(path), json.dumps(
                {"seq": record["seq"], "hash": record["hash"]}) + "\n")
        except OSError as exc:
            os.ftruncate(fd, len(data))
            os.fsync(fd)
            raise LogWriteError(
                f"{head_path(path)}: the log head could not be written ({exc.strerror}); "
                "the entry was withdrawn and the log is unchanged. Free disk space and run "
                "the command again.") from None
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return record


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify_log`.

    Attributes
    ----------
    ok : bool
        The chain is intact (and matches the head file when there is one).
    lines : int
        Number of entries read.
    bad_line : int or None
        1-based line number of the first broken line (``lines + 1`` when lines are
        missing at the end).
    reason : str
        Why it is broken; empty when ok.
    torn_tail : bool
        The only problem is a torn last line left by an interrupted append (the next
        append repairs it).
    """

    ok: bool
    lines: int
    bad_line: int | None = None
    reason: str = ""
    torn_tail: bool = False

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.lines} entries, hash chain intact"
        if self.bad_line is None:
            return f"cannot be verified: {self.reason}"
        return f"broken at line {self.bad_line}: {self.reason}"


def _check_lines(lines: Iterable[str]) -> VerifyResult:
    prev_hash, count = GENESIS_HASH, 0
    for number, line in enumerate(lines, start=1):
        count = number
        if not line.strip():
            return VerifyResult(False, number, number, "empty line inserted")
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return VerifyResult(False, number, number, "not valid JSON (edited)")
        if not isinstance(entry, dict) or "hash" not in entry:
            return VerifyResult(False, number, number, "not a log entry (no hash)")
        if entry.get("seq") != number:
            return VerifyResult(False, number, number,
                                f"sequence number {entry.get('seq')} where {number} was "
                                "expected (a line was deleted or inserted before it)")
        if entry.get("prev_hash") != prev_hash:
            return VerifyResult(False, number, number,
                                "prev_hash does not match the previous line's hash (a line "
                                "before it was edited, deleted or inserted)")
        if entry_hash(entry) != entry["hash"]:
            return VerifyResult(False, number, number, "hash does not match the content "
                                "(the line was edited)")
        prev_hash = entry["hash"]
    return VerifyResult(True, count)


def _is_entry(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def verify_log(path: str | Path) -> VerifyResult:
    """Check the hash chain of a processing log (and its head file when present).

    Parameters
    ----------
    path : str or Path
        The log file.

    Returns
    -------
    VerifyResult
    """
    path = Path(path)
    if not path.is_file():
        return VerifyResult(False, 0, None, "no such log file (check the path; the log is "
                            "<work>/../logs/<target>.jsonl)")
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines and len(lines) >= 1 and not _is_entry(lines[-1]):
        earlier = _check_lines(lines[:-1])
        if earlier.ok:
            return VerifyResult(
                False, earlier.lines, earlier.lines + 1,
                f"torn last line ({len(lines[-1].encode('utf-8'))} bytes without a final "
                "newline) left by an interrupted append; the entries before it are intact. "
                "The next command that appends (e.g. `valuation ingest`) moves it to "
                f"{torn_path(path).name} and continues the chain; nothing to do by hand",
                torn_tail=True)
    result = _check_lines(lines)
    if not result.ok:
        return result
    head_file = head_path(path)
    if head_file.is_file():
        try:
            head = json.loads(head_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return VerifyResult(False, result.lines, None, f"{head_file} is not valid JSON")
        last_hash = json.loads(lines[-1])["hash"] if lines else GENESIS_HASH
        if head.get("seq") != result.lines or head.get("hash") != last_hash:
            return VerifyResult(
                False, result.lines, result.lines + 1,
                f"the log ends at entry {result.lines} but its head file records entry "
                f"{head.get('seq')}: the last line(s) were deleted or replaced",
            )
    return result


def require_intact(path: str | Path, *, allow_torn_tail: bool = False) -> VerifyResult:
    """Verify a log and raise :class:`LogIntegrityError` naming the first broken line.

    With ``allow_torn_tail`` a torn last line (an interrupted append, which the next append
    repairs) is accepted.
    """
    result = verify_log(path)
    if not result.ok and not (allow_torn_tail and result.torn_tail):
        raise LogIntegrityError(f"{path}: processing log {result}")
    return result
