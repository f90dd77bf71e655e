"""Params travel as data: the client validates each target and sends a :class:`TargetSpec`.

The client reads and validates each params YAML (:func:`valuation.params.load_params`), and
sends the validated settings as a plain dict in which every path is absolute: the exports,
the key file, the work and output folders (defaults resolved on the client, relative to its
YAML). A worker never reads the YAML and never resolves a path against its own working
folder; it writes the dict into a private folder as YAML (the brief notebook reads its params
from a file) and validates it again there (:func:`materialize`).

Examples
--------
>>> spec = TargetSpec.from_params(load_params("params/bootcamp.yaml"))  # doctest: +SKIP
>>> spec.params["data"]["files"]["orders"]  # doctest: +SKIP
'/home/me/workbench/data/samples/bootcamp/orders.csv'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from valuation.params import DealParams, load_params


@dataclass(frozen=True)
class TargetSpec:
    """One target as sent to a worker.

    Attributes
    ----------
    target : str
    params_path : str
        The params YAML on the client (for messages; workers never read it).
    params : dict
        The validated params (``DealParams.model_dump(mode="json")``), every path absolute.
    params_mtime : float
        Modification time of the client's YAML: the worker's copy gets it, so the analysis
        dataset is judged fresh or stale exactly as on the client.
    """

    target: str
    params_path: str
    params: dict[str, Any]
    params_mtime: float

    @classmethod
    def from_params(cls, params: DealParams) -> TargetSpec:
        """The spec of validated params (paths already absolute: the loader resolved them)."""
        data = params.model_dump(mode="json")
        paths = data.setdefault("paths", {})
        # the defaults depend on where the YAML lies: resolve them here, on the client
        paths["work_dir"] = str(params.work_dir)
        paths["output_dir"] = str(params.output_dir)
        source = params.source
        mtime = source.stat().st_mtime if source is not None and source.exists() else 0.0
        return cls(target=params.target, params_path=str(source or ""), params=data,
                   params_mtime=mtime)


def _relative_paths(node: Any, where: str = "") -> list[str]:
    """Locations of path-like settings that are not absolute (a spec must have none)."""
    found: list[str] = []
    path_keys = {"workbook", "key_file", "work_dir", "output_dir", "handover_dir"}
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if key == "files" and isinstance(value, dict):
                found += [f"{here}.{k}" for k, v in value.items() if not Path(v).is_absolute()]
            elif key in path_keys and isinstance(value, str) and not Path(value).is_absolute():
                found.append(here)
            else:
                found += _relative_paths(value, here)
    return found


def materialize(spec: TargetSpec, folder: Path) -> DealParams:
    """Write the spec's params into ``folder`` as YAML and load them (worker side).

    The YAML keeps the name of the client's file and its modification time. Files are not
    checked here: :func:`valuation.batch.worker.check_inputs` does it with a message naming
    the host.

    Raises
    ------
    ValueError
        When a path in the spec is relative (it would resolve against the worker's folder).
    """
    relative = _relative_paths(spec.params)
    if relative:
        raise ValueError(f"params sent to the worker hold relative paths: {', '.join(relative)}")
    name = Path(spec.params_path).name or f"{spec.target}.yaml"
    path = folder / name
    path.write_text(yaml.safe_dump(spec.params, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    if spec.params_mtime:
        os.utime(path, (spec.params_mtime, spec.params_mtime))
    return load_params(path, check_files=False)
