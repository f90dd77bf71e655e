"""A sample target's params YAML copied so that work, outputs and key live in a temp folder."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def copy_params(target: str, tmp: Path, **changes) -> Path:
    """A copy of a sample's params YAML whose work, outputs and key live under ``tmp``."""
    raw = yaml.safe_load((ROOT / "params" / f"{target}.yaml").read_text(encoding="utf-8"))
    data = raw["data"]
    if "files" in data:
        data["files"] = {t: str((ROOT / "params" / p).resolve()) for t, p in data["files"].items()}
    if "workbook" in data:
        data["workbook"] = str((ROOT / "params" / data["workbook"]).resolve())
    raw["paths"] = {"work_dir": str(tmp / "work" / target),
                    "output_dir": str(tmp / "outputs" / target)}
    key_file = tmp / f"{target}.key"
    key_file.write_text(os.urandom(32).hex())
    key_file.chmod(0o600)  # a key readable by others is refused, as ssh does
    raw["privacy"] = {**raw.get("privacy", {}), "demo_key": False, "key_file": str(key_file)}
    raw.update(changes)
    path = tmp / "params" / f"{target}.yaml"  # its own folder: work/ may not sit inside it
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path
