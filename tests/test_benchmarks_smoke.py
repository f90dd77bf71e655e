"""Smoke test of benchmarks/run.py: every stage runs at 10^3 customers and yields finite numbers.

No timing assertions (speed lives in benchmarks/RESULTS.md); the memory helper is checked on
known allocations, and the target verdicts on planted rows.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
KEY = "5a" * 32  # a test-only deal key (64 hex characters)


def _run_module():
    """Import benchmarks/run.py (a script, not a package) as ``bench_run``."""
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


run = _run_module()
import _measure  # noqa: E402  (benchmarks/ is on sys.path after loading run.py)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """All stages but the brief, in this process, at 10^3 customers, references skipped."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(run.KEY_ENV, KEY)
        ws = run.Workspace(tmp_path_factory.mktemp("bench"), 1000, bootstrap_replicates=2)
        stages = [s for s in run.STAGES if s.name != "brief"]
        rows = run.run_size(ws, stages, skip_reference=True, seed=7, isolate=False,
                            echo=lambda _line: None)
        yield ws, rows


def test_every_stage_measured_with_finite_numbers(small_run):
    _, rows = small_run
    measured = [r for r in rows if not r.get("skipped") and not r["stage"].startswith("generate")]
    ours = {s.name for s in run.STAGES if not s.is_reference and s.name != "brief"}
    assert {r["stage"] for r in measured} == ours
    for row in measured:
        assert row["error"] == "", row
        assert math.isfinite(row["seconds"]) and row["seconds"] > 0, row
        assert math.isfinite(row["peak_rss_mib"]) and row["peak_rss_mib"] >= row["start_rss_mib"] > 0
    # the generator wrote both formats, ingest read the same rows from each
    assert {r["stage"] for r in rows if r["stage"].startswith("generate")} == {
        "generate_csv", "generate_parquet"}
    by_stage = {r["stage"]: r for r in measured}
    assert by_stage["ingest_csv"]["extra"]["rows"] == by_stage["ingest_parquet"]["extra"]["rows"]
    assert by_stage["ingest_csv"]["extra"]["rows"]["customers"] >= 1000


def test_references_skipped_and_table_lists_every_stage(small_run):
    _, rows = small_run
    skipped = {r["stage"]: r["skipped"] for r in rows if r.get("skipped")}
    assert skipped == {s.name: "--skip-reference" for s in run.STAGES if s.is_reference}
    table = "\n".join(run.stage_table(rows))
    for stage in run.STAGES:
        if stage.name != "brief":
            assert f"| {stage.label} | 1,000 |" in table
    assert "FAILED" not in table
    scaling = "\n".join(run.scaling_table(rows, [1000]))
    assert "bootstrap range" in scaling


def test_stage_in_fresh_process_reports_its_own_memory(small_run):
    ws, _ = small_run
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(run.KEY_ENV, KEY)
        row = run.run_stage_isolated(run.STAGE_BY_NAME["rfm"], ws, dict(os.environ))
    assert row["error"] == "" and row["stage"] == "rfm"
    assert math.isfinite(row["seconds"])
    assert row["process_max_rss_mib"] >= row["peak_rss_mib"] * 0.9 > 0


def test_failed_stage_becomes_a_row_with_its_error(tmp_path):
    ws = run.Workspace(tmp_path, 1000)  # nothing generated: the worker cannot load params
    row = run.run_stage_isolated(run.STAGE_BY_NAME["rfm"], ws, {"PATH": "/usr/bin:/bin"})
    assert "not found" in row["error"]
    assert "**FAILED**" in "\n".join(run.stage_table([row]))


def test_stages_after_a_failed_gate_are_not_run(small_run):
    ws, _ = small_run
    stages = [run.STAGE_BY_NAME[n] for n in ("gate", "rfm", "brief")]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(run.KEY_ENV, raising=False)  # no deal key: the gate cannot run
        rows = run.run_size(ws, stages, skip_reference=True, seed=7, isolate=False,
                            echo=lambda _line: None)
    by_stage = {r["stage"]: r for r in rows}
    assert by_stage["gate"]["error"]
    assert "privacy gate failed" in by_stage["rfm"]["skipped"]
    assert "privacy gate failed" in by_stage["brief"]["skipped"]


def test_measure_block_sees_a_known_allocation():
    with _measure.measure_block(interval=0.005) as m:
        block = np.ones(40 * 2**20 // 8 * 4)  # 160 MiB, touched
        block.sum()
        del block
    assert m.peak_rss_mib - m.start_rss_mib >= 140


def test_run_child_reports_the_child_peak():
    child = _measure.run_child([sys.executable, "-c",
                                "import numpy as np; a = np.ones(300 * 2**20 // 8); print(a.sum())"])
    assert child.returncode == 0 and not child.timed_out
    assert child.max_rss_mib >= 300


def test_memory_guard_kills_a_child_over_the_limit():
    child = _measure.run_child([sys.executable, "-c",
                                "import numpy as np, time; a = np.ones(400 * 2**20 // 8); "
                                "time.sleep(30)"], memory_limit_mib=200, interval=0.02)
    assert child.over_memory and child.returncode == -9


def _row(stage, size, seconds, peak=100.0):
    return {"stage": stage, "size": size, "seconds": seconds, "peak_rss_mib": peak,
            "start_rss_mib": 50.0, "process_max_rss_mib": peak, "error": "", "extra": {}}


def test_targets_verdicts_on_planted_rows():
    rows = [_row("fit_bgnbd", 10**6, 2.0), _row("ref_bgnbd_plain", 10**6, 30.0),
            _row("ref_bgnbd_weights", 10**6, 4.0), _row("fit_pnbd", 10**5, 5.0),
            _row("ref_pnbd", 10**5, 100.0), _row("bootstrap", 10**5, 75.0),
            _row("gate", 10**6, 10.0, peak=9000.0)]
    verdicts = {t.name: t.verdict for t in run.check_targets(rows)}
    assert verdicts == {
        "pipeline at 10^6 customers": "FAIL",  # 9000 MiB > 8 GiB
        "bootstrap range at 10^5": "FAIL",  # 75 s
        "BG/NBD 10^6 vs lifetimes plain": "PASS",  # 15x
        "BG/NBD 10^6 vs lifetimes weights": "FAIL",  # 2x < 3x
        "Pareto/NBD 10^5 vs lifetimes": "PASS",  # 20x
        "sample brief time split": "NOT MEASURED",
    }


def test_parse_sizes():
    assert run.parse_sizes("1e4,1e5, 1000") == [10_000, 100_000, 1000]
    with pytest.raises(Exception):
        run.parse_sizes("10")


@pytest.mark.slow
def test_brief_stage_at_1e3(small_run):
    ws, _ = small_run
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(run.KEY_ENV, KEY)
        row = run.run_stage_in_process(run.STAGE_BY_NAME["brief"], ws)
    assert row["error"] == ""
    assert {"prepare", "kernel_start", "compute", "export"} <= set(row["extra"]["timings"])
    assert all(math.isfinite(v) for v in row["extra"]["timings"].values())
