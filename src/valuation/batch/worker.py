"""What runs on a worker for one target: check inputs and key there, run, return the files.

:func:`run_target` never raises: whatever goes wrong with one target (params, a missing
export or key on this host, a model that does not converge, a failing cell) becomes a failed
record, and the batch goes on. It works in a private scratch folder (deleted afterwards; one
left by a killed process is deleted by the next target on that machine) and
returns the target's **published** files as bytes: the worker's disk is never assumed to be
the client's. Only the names in :data:`PUBLISHED_FILES` and figures under ``figures/`` ever
leave the worker (:func:`collect_published`); the analysis dataset, the work folder and
anything else a runner leaves behind stay where they are.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from valuation.batch.outcome import TargetOutcome, error_text
from valuation.batch.spec import TargetSpec, materialize
from valuation.errors import (
    BriefExecutionError,
    InputError,
    KeyMissingError,
    PrivacyError,
    ReportError,
)
from valuation.params import DealParams

PUBLISHED_FILES: frozenset[str] = frozenset({"brief.html", "brief.pdf", "brief.ipynb",
                                             "results.json"})
"""Files at the top of a target's output folder that a worker returns."""

FIGURE_SUFFIXES: frozenset[str] = frozenset({".png", ".svg"})
"""Figures (aggregates only, scanned) returned from ``figures/``."""

Runner = Callable[[DealParams, Path], "list[str] | None"]
"""Produces one target's published files in the folder given; returns notices (or None)."""


def _quiet(_line: str) -> None:
    """Workers print nothing: the progress bar and the summary speak for them."""


def brief_runner(params: DealParams, out_dir: Path) -> list[str]:
    """The default runner: the negotiation brief (:func:`valuation.report.runner.run_brief`)."""
    from valuation.report.runner import run_brief

    return list(run_brief(params, out_dir=out_dir, log=_quiet).notices)


def is_published(relative: str) -> bool:
    """True for a file a worker may return: a published brief file or a figure.

    Examples
    --------
    >>> [is_published(p) for p in ("brief.html", "figures/tornado.png", "analysis/orders.parquet")]
    [True, True, False]
    """
    path = PurePosixPath(relative)
    if path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        return False
    if any(part.startswith(".") for part in path.parts):
        return False
    if len(path.parts) == 1:
        return path.name in PUBLISHED_FILES
    return (len(path.parts) == 2 and path.parts[0] == "figures"
            and path.suffix.lower() in FIGURE_SUFFIXES)


def collect_published(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    """Read the published files under ``folder``.

    Returns
    -------
    files : dict
        ``relative/posix/path -> bytes`` of every allowed file (symbolic links never).
    withheld : list of str
        Relative paths of everything else found there (not returned).
    """
    files: dict[str, bytes] = {}
    withheld: list[str] = []
    if not folder.is_dir():
        return files, withheld
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink() or not path.is_file() or not is_published(relative):
            withheld.append(relative)
            continue
        files[relative] = path.read_bytes()
    return files, withheld


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read here, or None when it can."""
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        return "not found"
    except IsADirectoryError:
        return "is a folder, not a file"
    except PermissionError:
        return "not readable (permission denied)"
    except OSError as exc:
        return f"not readable ({exc.strerror or type(exc).__name__})"
    return None


def check_inputs(params: DealParams, host: str) -> None:
    """Raise :class:`InputError` naming ``host`` and each export that cannot be read there."""
    named = {f"data.files.{table}": path for table, path in params.data.files.items()}
    if params.data.workbook is not None:
        named["data.workbook"] = params.data.workbook
    problems = [f"  - {where}: {path}: {why}" for where, path in named.items()
                if (why := _unreadable(Path(path))) is not None]
    if problems:
        raise InputError(
            f"host {host}: cannot read the exports of target {params.target!r} there:\n"
            + "\n".join(problems) + "\nEvery worker reads the exports at the absolute path the "
            "client resolved: mount them at that path on each worker (a shared mount) or copy "
            "them there, then run the batch again."
        )


def check_key(params: DealParams, host: str) -> None:
    """Raise :class:`KeyMissingError` naming ``host`` and where the key should be there.

    The key is loaded (so a malformed key fails here too) but never shown: messages name the
    environment variable or the key file only.
    """
    from valuation.privacy.keys import load_key

    settings = params.privacy
    where = f"host {host}: no usable deal key for target {params.target!r} there"
    advice = (f"Set {settings.key_env} in each worker's environment (e.g. "
              f"`{settings.key_env}=... dask worker tcp://scheduler:8786`) or put the key file "
              "at the path named in privacy.key_file on each worker, mode 0600.")
    if not os.environ.get(settings.key_env):
        if settings.key_file is not None:
            why = _unreadable(Path(settings.key_file).expanduser())
            if why is not None:
                raise KeyMissingError(
                    f"{where}: environment variable {settings.key_env} is not set and the key "
                    f"file {settings.key_file} (privacy.key_file) is {why}. {advice}")
        elif not settings.demo_key:
            raise KeyMissingError(
                f"{where}: environment variable {settings.key_env} is not set on this worker "
                f"and the params name no privacy.key_file. {advice}")
    try:
        load_key(params, notify=None)
    except PrivacyError as exc:
        raise KeyMissingError(f"{where}: {exc}") from None
    except OSError as exc:
        raise KeyMissingError(f"{where}: the key could not be read "
                              f"({exc.strerror or type(exc).__name__}). {advice}") from None


def scratch_root() -> Path:
    """This user's folder of per-target scratch folders on this machine (mode 0700)."""
    root = Path(tempfile.gettempdir()) / f"valuation-batch-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if root.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ReportError(f"{root}: the batch scratch folder must be a folder of this user with "
                          "mode 0700; remove it or fix its owner and mode")
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_scratch(root: Path) -> list[Path]:
    """Delete scratch folders left by processes that died (SIGKILL, out of memory).

    A scratch folder is named ``<pid>-<target>-<random>``; it is removed only when no
    process with that id is alive. Returns the folders removed.
    """
    removed = []
    for folder in root.iterdir():
        pid, _, _rest = folder.name.partition("-")
        if folder.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def run_target(spec: TargetSpec, runner: Runner = brief_runner, *,
               worker: str | None = None) -> dict[str, Any]:
    """Run one target on this worker; never raises.

    Parameters
    ----------
    spec : TargetSpec
        The validated params, as data.
    runner : callable
        ``runner(params, out_dir)`` writes the published files into ``out_dir``
        (default :func:`brief_runner`).
    worker : str, optional
        How to name this worker in the summary (default ``local process <pid>``).

    Returns
    -------
    dict
        A :class:`~valuation.batch.outcome.TargetOutcome` record plus ``files``: the published
        files as ``relative path -> bytes`` (empty when the target failed).
    """
    host = socket.gethostname()
    outcome = TargetOutcome(spec.params_path, spec.target, False, host=host,
                            worker=worker or f"local process {os.getpid()}")
    files: dict[str, bytes] = {}
    started = time.perf_counter()
    scratch: Path | None = None
    yaml_name = Path(spec.params_path).name or f"{spec.target}.yaml"
    try:
        root = scratch_root()
        sweep_stale_scratch(root)
        scratch = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{spec.target}-", dir=root))
        params = materialize(spec, scratch)
        check_inputs(params, host)
        check_key(params, host)
        out_dir = scratch / "outputs" / spec.target  # the params folder's outputs/ (path safety)
        outcome.notices = list(runner(params, out_dir) or [])
        files, withheld = collect_published(out_dir)
        if "results.json" not in files:
            raise ReportError(f"host {host}: the brief of {spec.target!r} has no results.json")
        if withheld:
            outcome.notices.append(f"not returned from the worker (not a published file): "
                                   f"{', '.join(withheld[:5])}"
                                   + (f" and {len(withheld) - 5} more" if len(withheld) > 5 else ""))
        outcome.ok = True
    except Exception as exc:  # noqa: BLE001 -- isolate every failure of one target
        files = {}
        # the worker's private copy of the YAML is named by the client's path in messages
        own = {str(scratch / yaml_name): spec.params_path} if scratch is not None else {}
        outcome.error = error_text(exc, own, keep=(host, outcome.worker or ""))
        if isinstance(exc, BriefExecutionError) and exc.partial_notebook:
            outcome.partial_notebook = f"{host}:{exc.partial_notebook}"
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    outcome.seconds = time.perf_counter() - started
    return {**outcome.to_record(), "files": files}
