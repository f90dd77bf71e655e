"""Export an executed brief: HTML without code (nbconvert), PDF via headless Chromium.

The HTML is nbconvert's ``lab`` template with ``exclude_input`` and both prompt kinds
excluded, so the reader sees narrative, tables and figures only; figures are embedded, so the
file stands alone. The PDF is Chromium's own print-to-PDF of that HTML: where no Chromium is
installed, :func:`export_pdf` returns a notice and no file, and the brief goes on without it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from valuation.errors import ReportError
from valuation.fileio import write_bytes_atomic, write_text_atomic

CHROMIUM_CANDIDATES: tuple[str, ...] = ("/usr/bin/chromium", "chromium", "chromium-browser")

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for a quiet headless Chromium on a machine with a closed network."""

REMOVE_CELL_TAG = "remove-cell"
"""Cells tagged so (set-up code, parameters) are left out of the HTML entirely."""


@dataclass(frozen=True)
class PdfOutcome:
    """What :func:`export_pdf` did: the PDF written, or why not."""

    path: Path | None
    notice: str | None = None


def html_exporter() -> HTMLExporter:
    """The configured nbconvert exporter: no code, no prompts, tagged cells removed."""
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    remover = TagRemovePreprocessor(remove_cell_tags={REMOVE_CELL_TAG}, enabled=True)
    exporter.register_preprocessor(remover, enabled=True)
    return exporter


def export_html(notebook_path: str | Path, html_path: str | Path, *, title: str | None = None) -> Path:
    """Write the executed notebook as a standalone HTML page without any code.

    Parameters
    ----------
    notebook_path : path
        The executed notebook.
    html_path : path
        Where to write the HTML (atomically).
    title : str, optional
        The page title; default: the notebook's ``metadata.title`` or its file name.

    Returns
    -------
    Path
    """
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        raise ReportError(f"{notebook_path}: executed notebook not found; cannot export HTML")
    nb = nbformat.read(notebook_path, as_version=4)
    if title:
        nb.metadata["title"] = title
    body, _resources = html_exporter().from_notebook_node(nb)
    return write_text_atomic(html_path, body)


def find_chromium() -> str | None:
    """The Chromium executable to print PDFs with, or ``None`` when none is installed."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate) if "/" not in candidate else (
            candidate if Path(candidate).is_file() else None
        )
        if found:
            return found
    return None


def chromium_command(chromium: str, html_path: Path, pdf_path: Path, profile_dir: Path) -> list[str]:
    """The command line that prints ``html_path`` to ``pdf_path`` with a fresh profile."""
    return [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile_dir}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf_path}",
        html_path.resolve().as_uri(),
    ]


def export_pdf(
    html_path: str | Path,
    pdf_path: str | Path,
    *,
    chromium: str | None = None,
    timeout: float = 120.0,
) -> PdfOutcome:
    """Print the HTML brief to PDF with headless Chromium, when Chromium is installed.

    Never raises for a missing or failing Chromium: the brief is complete without its PDF,
    and the returned notice says why there is none.

    Parameters
    ----------
    html_path, pdf_path : path
    chromium : str, optional
        The executable; found with :func:`find_chromium` when not given.
    timeout : float
        Seconds to wait for Chromium.

    Returns
    -------
    PdfOutcome
    """
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    chromium = chromium or find_chromium()
    if chromium is None:
        return PdfOutcome(None, "PDF skipped: Chromium is not installed "
                                "(Debian/Ubuntu: apt-get install chromium).")
    with tempfile.TemporaryDirectory(prefix="valuation-chromium-") as scratch:
        scratch_dir = Path(scratch)
        out = scratch_dir / "brief.pdf"
        command = chromium_command(chromium, html_path, out, scratch_dir / "profile")
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return PdfOutcome(None, f"PDF skipped: Chromium did not finish ({type(exc).__name__}).")
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return PdfOutcome(None, f"PDF skipped: Chromium failed (exit {done.returncode}) {tail[0]}")
        write_bytes_atomic(pdf_path, out.read_bytes())
    return PdfOutcome(pdf_path, None)
