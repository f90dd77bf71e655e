"""Batch runs: a Dask LocalCluster with a deliberately broken target, the process pool, the portfolio."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from _brief_fixtures import write_target
from valuation.batch import TargetOutcome, discover_params, run_batch
from valuation.errors import ReportError


def fake_job(params_path: str, out_root: str | None = None) -> dict:
    """A cheap stand-in for brief_job: targets named *broken* fail, others succeed."""
    from dataclasses import asdict

    name = Path(params_path).stem
    if "broken" in name:
        return asdict(TargetOutcome(params_path, name, False, 0.1, error="planted failure"))
    out = Path(out_root) / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        '{"schema_version": 1, "name": "N", "side": "buyer", "headline": '
        '{"equity_p10": 1.0, "equity_p50": 2.0, "equity_p90": 3.0, "quality_score": 90.0, '
        '"consent_coverage": 0.5, "churn_12m": 0.25, "top_risks": [{"name": "consent_gap", "effect": 1.0}]}}',
        encoding="utf-8")
    return asdict(TargetOutcome(params_path, name, True, 0.1, output_dir=str(out)))


@pytest.fixture(scope="module")
def dask_batch(tmp_path_factory):
    """Real briefs on a Dask LocalCluster: one good target, one whose notebook fails."""
    from distributed import Client, LocalCluster

    root = tmp_path_factory.mktemp("batch")
    good = write_target(root, "good_school")
    broken = write_target(root, "broken_school", broken=True)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        report = run_batch([good, broken], scheduler=client, out_root=root / "outputs",
                           progress=False)
    return report, root


def test_dask_batch_isolates_the_broken_target(dask_batch):
    report, root = dask_batch
    assert not report.ok
    by_target = {o.target: o for o in report.outcomes}
    assert by_target["good_school"].ok
    assert (root / "outputs" / "good_school" / "brief.html").is_file()
    failed = by_target["broken_school"]
    assert not failed.ok and failed.error
    assert failed.partial_notebook and Path(failed.partial_notebook).is_file()
    assert not (root / "outputs" / "broken_school").exists()
    summary = report.summary()
    assert "1 done, 1 failed" in summary and "broken_school" in summary


def test_portfolio_compares_the_targets(dask_batch):
    report, root = dask_batch
    table = pd.read_csv(root / "outputs" / "portfolio.csv")
    assert list(table["target"]) == ["broken_school", "good_school"]
    good = table.set_index("target").loc["good_school"]
    assert good["status"] == "ok" and good["equity_p10"] <= good["equity_p50"] <= good["equity_p90"]
    assert good["top_risks"].count(";") == 2
    html = (root / "outputs" / "portfolio.html").read_text(encoding="utf-8")
    assert "good_school" in html and "failed" in html


def test_local_process_pool_runs_every_target_and_reports_failures(tmp_path):
    paths = []
    for name in ("alpha", "broken_beta", "gamma"):
        path = tmp_path / "params" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text("target: x\n", encoding="utf-8")
        paths.append(path)
    report = run_batch(discover_params([tmp_path / "params"]), workers=2,
                       out_root=tmp_path / "out", job=fake_job, progress=False)
    assert [o.target for o in report.outcomes] == ["alpha", "broken_beta", "gamma"]
    assert [o.ok for o in report.outcomes] == [True, False, True]
    assert report.portfolio_csv == tmp_path / "out" / "portfolio.csv"
    assert len(pd.read_csv(report.portfolio_csv)) == 3


def test_cli_batch_exits_non_zero_with_a_summary_when_a_target_fails(tmp_path, capsys):
    from valuation.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("target: bad\n", encoding="utf-8")  # invalid params: fails in the worker
    code = main(["batch", str(bad), "--workers", "1", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "0 done, 1 failed" in out and "invalid params" in out
    assert (tmp_path / "out" / "portfolio.html").is_file()


def test_discover_params_rejects_missing_paths(tmp_path):
    with pytest.raises(ReportError, match="no such params"):
        discover_params([tmp_path / "nope.yaml"])
    with pytest.raises(ReportError, match="no params YAML"):
        discover_params([tmp_path])


def test_a_leaking_portfolio_is_not_kept_and_the_earlier_one_stays(tmp_path, monkeypatch):
    from valuation import batch
    from valuation.errors import LeakError

    (tmp_path / "portfolio.csv").write_text("earlier\n", encoding="utf-8")
    (tmp_path / "portfolio.html").write_text("<p>earlier</p>", encoding="utf-8")
    from valuation.report import portfolio

    monkeypatch.setattr(portfolio, "portfolio_html", lambda frame, lang="en": "<p>call 13812345678</p>")
    with pytest.raises(LeakError, match="portfolio.html"):
        batch.write_portfolio([], tmp_path)
    assert (tmp_path / "portfolio.csv").read_text(encoding="utf-8") == "earlier\n"
    assert (tmp_path / "portfolio.html").read_text(encoding="utf-8") == "<p>earlier</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portfolio.csv", "portfolio.html"]
