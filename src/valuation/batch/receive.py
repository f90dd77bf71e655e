"""Client side: write the files a worker returned into the client's own ``outputs/<target>``.

The files are checked against the same allow-list the worker used (never trust the wire),
written into a private staging folder beside the target's output folder, scanned again with
the export scanner, and only then swapped into place. A refused or failed target leaves the
client's earlier outputs as they were.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from valuation.batch.worker import is_published
from valuation.errors import ReportError
from valuation.report.runner import publish, staging_folder


def receive_outputs(files: dict[str, bytes], output_dir: str | Path, *, target: str) -> list[Path]:
    """Publish a target's returned files into ``output_dir`` atomically, after a scan.

    Parameters
    ----------
    files : dict
        ``relative posix path -> bytes`` as returned by
        :func:`valuation.batch.worker.run_target`.
    output_dir : path
        The target's folder on the client (replaced as a whole).
    target : str
        For messages.

    Returns
    -------
    list of Path
        The published files.

    Raises
    ------
    ReportError
        A file outside the published set, or no ``results.json``: nothing is written.
    LeakError
        The scanner found personal data: nothing is written.
    """
    from valuation.privacy.scanner import leak_error, scan_file

    refused = sorted(name for name in files if not is_published(name))
    if refused:
        raise ReportError(f"{target}: the worker returned files outside the published set "
                          f"({', '.join(refused[:5])}); none was kept")
    if "results.json" not in files:
        raise ReportError(f"{target}: the worker returned no results.json; nothing was kept")
    output_dir = Path(output_dir)
    written: list[Path] = []
    with staging_folder(output_dir) as staging:
        findings = []
        for name, data in sorted(files.items()):
            path = staging.joinpath(*PurePosixPath(name).parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            findings += scan_file(path, display=str(output_dir / name))
            written.append(output_dir / name)
        if findings:
            raise leak_error(findings)
        publish(staging, output_dir)
    return written
