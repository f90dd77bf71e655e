"""Cheap stand-ins for the batch tests: fake targets and a fake runner.

Module-level, so spawned local processes and Dask worker processes import them by name (the
tests folder is on their ``sys.path``: ``spawn`` passes the parent's).

The fake runner behaves by target id:

* ``*broken*``: raises an ordinary error (a target's own failure: never retried);
* ``*leaky*``: puts a mobile number into results.json (only the client's scan can catch it);
* ``*killed_once*``: SIGKILLs its own process on the first attempt, succeeds on the next;
* ``*killed_always*``: SIGKILLs its own process on every attempt;
* anything else: writes a small brief.

Every attempt appends a line to ``<work_dir>/attempts.txt``, so a test can count attempts.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import yaml

KEY_ENV = "VALUATION_BATCH_TEST_KEY"
KEY_HEX = "5f" * 32
"""The fake deal key (never appears in any output or message)."""

PLANTED_MOBILE = "13812345678"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def write_fake_target(root: Path, target: str, *, key_env: str = KEY_ENV,
                      key_file: str | None = None, missing_export: bool = False) -> Path:
    """A valid params YAML with dummy exports under ``root``; relative paths, as users write."""
    data = root / "data" / target
    data.mkdir(parents=True, exist_ok=True)
    (data / "customers.csv").write_text("customer_id\nC1\n", encoding="utf-8")
    if not missing_export:
        (data / "orders.csv").write_text("order_id,customer_id\n", encoding="utf-8")
    privacy: dict = {"key_env": key_env}
    if key_file:
        privacy["key_file"] = key_file
    params = {
        "target": target, "name": f"Fake school {target}", "as_of": "2025-06-30",
        "calibration_end": "2024-12-31",
        "data": {"files": {"customers": f"../data/{target}/customers.csv",
                           "orders": f"../data/{target}/orders.csv"}},
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12},
        "deal": {"side": "buyer"},
        "privacy": privacy,
        "paths": {"work_dir": f"../work/{target}"},
    }
    path = root / "params" / f"{target}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def _attempt(params) -> int:
    """Record this attempt in the (shared) work folder; return its number (1-based)."""
    log = Path(params.work_dir) / "attempts.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    return len(log.read_text(encoding="utf-8").splitlines())


def _die() -> None:
    time.sleep(1.0)  # mid-run: the attempt's start event has reached the scheduler
    os.kill(os.getpid(), signal.SIGKILL)


def fake_runner(params, out_dir: Path) -> list[str]:
    """Write a small brief into ``out_dir`` (and files that must never leave the worker)."""
    attempt = _attempt(params)
    target = params.target
    if "broken" in target:
        raise ValueError("planted failure")
    if "killed_always" in target or ("killed_once" in target and attempt == 1):
        _die()
    out_dir.mkdir(parents=True)
    results = {
        "schema_version": 1, "name": params.name, "side": "buyer",
        "headline": {"equity_p10": 1.0, "equity_p50": 2.0, "equity_p90": 3.0,
                     "quality_score": 90.0, "consent_coverage": 0.5, "churn_12m": 0.25,
                     "top_risks": [{"name": "consent_gap", "effect": 1.0}]},
        "run": {"cwd": os.getcwd(), "out_dir": str(out_dir), "pid": os.getpid(),
                "attempt": attempt},
    }
    if "leaky" in target:
        results["name"] = f"call {PLANTED_MOBILE}"
    (out_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (out_dir / "brief.html").write_text(f"<p>{target}</p>", encoding="utf-8")
    (out_dir / "figures").mkdir()
    (out_dir / "figures" / "tornado.png").write_bytes(PNG)
    # never returned: analysis-zone and secure-zone files, hidden files, links
    (out_dir / "analysis").mkdir()
    (out_dir / "analysis" / "orders.parquet").write_bytes(b"PAR1")
    (out_dir / "customers.csv").write_text(f"name,mobile\nZhang,{PLANTED_MOBILE}\n",
                                           encoding="utf-8")
    (out_dir / "figures" / ".cache.png").write_bytes(PNG)
    (out_dir / "figures" / "data.csv").write_text("x\n1\n", encoding="utf-8")
    os.symlink(Path(params.work_dir), out_dir / "work-link")
    return ["fake brief"]
