"""Folders that cannot destroy: where the work, output and handover folders may be.

:func:`check_paths` refuses (:class:`~valuation.errors.UnsafePathError`, exit 2) a
``paths.work_dir``, ``paths.output_dir`` or ``paths.handover_dir`` that **is, contains or
sits inside** a folder the workbench must never write into or delete:

* the repository (of the workbench, and any repository holding the params file or an
  input), except the folder's own home: a work folder may sit under ``<repo>/work/``, an
  output folder under ``<repo>/outputs/`` (one level down at least: the shared root itself
  is refused); a handover folder never sits in a repository (it holds personal data);
* the folder of every input file (exports, workbook) and the params folder (a params folder
  that is a project folder may hold ``work/`` and ``outputs/`` as a repository does);
* the logs folder (``<work root>/logs``, and ``<repo>/work/logs``; a work folder right inside
  any folder named ``logs`` is refused too) and, for output and handover folders, the work
  root itself (``work_dir``'s parent, which holds every target's work folder and the logs);
* the folders of the other kinds (work, output, handover must be disjoint);
* the filesystem root, the user's home folder and the key file's folder (be or contain).

Paths are compared after ``~`` expansion, resolving symbolic links and ``..``
(:func:`os.path.realpath`, also for folders that do not exist yet), trailing slashes ignored,
and *case-insensitively*: on a case-insensitive filesystem (macOS, Windows) ``../DATA`` is
``../data``; elsewhere refusing it too costs nothing and keeps one rule everywhere.

Refusal is only the first guard: nothing is ever deleted unless it carries the workbench's
marker for that target and deal (:mod:`valuation.markers`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from valuation.errors import UnsafePathError
from valuation.params import DealParams

KINDS: tuple[str, ...] = ("work_dir", "output_dir", "handover_dir")
"""The configurable folders, by their params key under ``paths``."""

HOMES: dict[str, str] = {"work_dir": "work", "output_dir": "outputs"}
"""The repository folder a kind may sit in (one level down at least)."""


def real(path: str | Path) -> Path:
    """``path`` with ``~`` expanded, symbolic links and ``..`` resolved (need not exist)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _key(path: Path) -> tuple[str, ...]:
    return tuple(part.casefold() for part in path.parts)


def is_within(path: Path, folder: Path) -> bool:
    """True when real ``path`` is ``folder`` or lies inside it (case-insensitive)."""
    inner, outer = _key(path), _key(folder)
    return inner[:len(outer)] == outer


def repo_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git`` or ``pyproject.toml``."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return None


def workbench_repo() -> Path | None:
    """The repository the workbench runs from (None when installed as a package)."""
    here = real(Path(__file__)).parent
    root = repo_root(here)
    return root if root is not None and (root / "src" / "valuation").is_dir() else None


@dataclass(frozen=True)
class _Protected:
    path: Path
    what: str
    inside_ok: str | None = None  # a sub-folder name where the kind may sit (repo homes)


def _input_folders(params: DealParams) -> list[Path]:
    files = [*params.data.files.values()]
    if params.data.workbook is not None:
        files.append(params.data.workbook)
    return [real(Path(f)).parent for f in files]


def folders(params: DealParams, output_dir: Path | None = None) -> dict[str, Path | None]:
    """The real work, output and handover folders of a target (handover may be None)."""
    handover = params.paths.handover_dir
    return {"work_dir": real(params.work_dir),
            "output_dir": real(output_dir if output_dir is not None else params.output_dir),
            "handover_dir": real(handover) if handover is not None else None}


def _protected(params: DealParams, kind: str, places: dict[str, Path | None]) -> list[_Protected]:
    work_root = places["work_dir"].parent
    found: list[_Protected] = []
    repos = {workbench_repo()}
    for folder in _input_folders(params):
        found.append(_Protected(folder, "the folder of an input file"))
        repos.add(repo_root(folder))
    if params.source is not None:
        params_folder = real(params.source).parent
        found.append(_Protected(params_folder, "the params folder", HOMES.get(kind)))
        repos.add(repo_root(params_folder))
    for repo in sorted(r for r in repos if r is not None):
        home = HOMES.get(kind)
        found.append(_Protected(repo, f"the repository {repo}", home))
        found.append(_Protected(repo / "work" / "logs", "the repository's logs folder"))
    found.append(_Protected(work_root / "logs", "the logs folder"))
    if work_root.name.casefold() == "logs":  # a work folder inside some logs folder
        found.append(_Protected(work_root, "a logs folder"))
    if kind != "work_dir":
        found.append(_Protected(work_root, "the work root (every target's work folder "
                                           "and the logs)"))
    for other, place in places.items():
        if other != kind and place is not None:
            found.append(_Protected(place, f"paths.{other}"))
    return found


def _contain_only() -> Iterable[tuple[Path, str]]:
    yield real("/"), "the filesystem root"
    yield real(Path.home()), "your home folder"


def check_folder(kind: str, place: Path, params: DealParams,
                 places: dict[str, Path | None]) -> None:
    """Refuse one folder (see the module docstring); ``place`` is already real."""
    name = f"paths.{kind}"

    def refuse(relation: str, what: str) -> None:
        raise UnsafePathError(
            f"{params.source or 'params'}: {name} ({place}) {relation} {what}. The "
            "workbench writes, replaces and may later delete this folder, so it must be a "
            "folder of its own: choose a new, empty folder outside the repository, the "
            "inputs, the params and logs folders and the other output folders "
            f"(see params/README.md, `paths`)."
        )

    for folder, what in _contain_only():
        if is_within(folder, place):
            refuse("is or contains", what)
    key_file = params.privacy.key_file
    if key_file is not None and is_within(real(key_file).parent, place):
        refuse("is or contains", "the folder of the deal key file")
    for item in _protected(params, kind, places):
        if is_within(item.path, place):
            refuse("is or contains", item.what)
        if is_within(place, item.path):
            if item.inside_ok is not None:
                home = item.path / item.inside_ok
                if is_within(place, home) and _key(place) != _key(home):
                    continue
                refuse("sits inside", f"{item.what} (outside its {item.inside_ok}/ folder)")
            refuse("sits inside", item.what)


def check_paths(params: DealParams, kinds: Iterable[str] = KINDS, *,
                output_dir: Path | str | None = None) -> None:
    """Refuse unsafe work, output and handover folders (see the module docstring).

    Parameters
    ----------
    params : DealParams
        The target; its ``paths`` (or their defaults) are checked.
    kinds : iterable of str
        Which of ``work_dir``, ``output_dir``, ``handover_dir`` to check (an unset
        ``handover_dir`` is skipped).
    output_dir : path, optional
        An output folder given on the command line instead of ``paths.output_dir``.

    Raises
    ------
    UnsafePathError
        Naming the key, the folder, what it collides with and what to do.
    """
    places = folders(params, Path(output_dir) if output_dir is not None else None)
    for kind in kinds:
        place = places[kind]
        if place is not None:
            check_folder(kind, place, params, places)
