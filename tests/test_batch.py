"""Batch runs without a cluster: params as data, the allow-list of returned files, the
client's atomic publish and re-scan, the local process pool surviving a SIGKILL, the CLI."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pandas as pd
import pytest

from _batch_fakes import KEY_ENV, KEY_HEX, PLANTED_MOBILE, PNG, fake_runner, write_fake_target
from valuation.batch import TargetSpec, discover_params, run_batch, run_target
from valuation.batch.outcome import BatchReport, TargetOutcome, error_text, exit_reason
from valuation.batch.receive import receive_outputs
from valuation.batch.spec import materialize
from valuation.batch.worker import is_published, sweep_stale_scratch
from valuation.errors import LeakError, ReportError
from valuation.params import load_params


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY_HEX)


# -- params travel as data --------------------------------------------------------------
def test_spec_carries_absolute_paths_and_round_trips_on_another_folder(tmp_path, monkeypatch):
    path = write_fake_target(tmp_path / "client", "alpha", key_file="keys/alpha.key")
    params = load_params(path)
    spec = TargetSpec.from_params(params)
    data = spec.params
    for file in data["data"]["files"].values():
        assert Path(file).is_absolute() and Path(file).is_file()
    assert data["privacy"]["key_file"] == str(tmp_path / "client" / "params" / "keys" / "alpha.key")
    assert Path(data["paths"]["work_dir"]).resolve() == tmp_path / "client" / "work" / "alpha"
    assert data["paths"]["output_dir"] == str(tmp_path / "client" / "outputs" / "alpha")

    worker_dir = tmp_path / "worker"  # a worker elsewhere, its own working folder
    worker_dir.mkdir()
    monkeypatch.chdir(worker_dir)
    again = materialize(spec, worker_dir)
    assert again.model_dump(exclude={"paths"}) == params.model_dump(exclude={"paths"})
    assert again.work_dir == params.work_dir and again.output_dir == params.output_dir
    assert again.source.stat().st_mtime == pytest.approx(path.stat().st_mtime)


def test_materialize_refuses_a_relative_path(tmp_path):
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "alpha")))
    spec.params["data"]["files"]["orders"] = "../data/alpha/orders.csv"
    with pytest.raises(ValueError, match="data.files.orders"):
        materialize(spec, tmp_path)


# -- what a worker returns ----------------------------------------------------------------
@pytest.mark.parametrize("name, allowed", [
    ("brief.html", True), ("brief.pdf", True), ("brief.ipynb", True), ("results.json", True),
    ("figures/tornado.png", True), ("figures/bridge.svg", True),
    ("figures/data.csv", False), ("figures/.cache.png", False), ("figures/sub/x.png", False),
    ("analysis/orders.parquet", False), ("customers.csv", False), ("work/analysis", False),
    ("../brief.html", False), ("/etc/passwd", False), (".brief.html.tmp", False),
    ("logs/alpha.jsonl", False), ("brief.HTML", False),
])
def test_only_published_files_may_leave_a_worker(name, allowed):
    assert is_published(name) is allowed


def test_run_target_returns_the_published_files_only(tmp_path, key_env):
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "alpha")))
    record = run_target(spec, fake_runner)
    assert record["ok"], record["error"]
    assert sorted(record["files"]) == ["brief.html", "figures/tornado.png", "results.json"]
    assert record["files"]["figures/tornado.png"] == PNG
    assert record["host"] == socket.gethostname() and record["worker"] == f"local process {os.getpid()}"
    withheld = " ".join(record["notices"])
    for name in ("analysis/orders.parquet", "customers.csv", "figures/data.csv", "work-link"):
        assert name in withheld
    run = json.loads(record["files"]["results.json"])["run"]
    assert not Path(run["out_dir"]).exists()  # the worker's scratch folder is gone
    assert KEY_HEX not in repr(record)


def test_a_target_error_is_recorded_with_the_host(tmp_path, key_env):
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "broken_beta")))
    record = run_target(spec, fake_runner)
    assert not record["ok"] and record["files"] == {}
    assert record["error"] == "ValueError: planted failure"


def test_errors_name_the_clients_params_file_not_the_workers_copy(tmp_path, key_env):
    path = write_fake_target(tmp_path, "alpha")
    spec = TargetSpec.from_params(load_params(path))
    spec.params["economics"]["gross_margin"] = 5  # as if tampered with on the way
    record = run_target(spec, fake_runner)
    assert record["error"].startswith(f"{path}: invalid params | - economics.gross_margin")


def test_missing_exports_fail_with_the_host_and_the_path(tmp_path, key_env):
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "alpha")))
    orders = Path(spec.params["data"]["files"]["orders"])
    orders.unlink()  # the client saw it; this "worker" does not
    record = run_target(spec, fake_runner)
    assert not record["ok"]
    assert f"host {socket.gethostname()}" in record["error"]
    assert f"data.files.orders: {orders}: not found" in record["error"]
    assert not (tmp_path / "work" / "alpha" / "attempts.txt").exists()  # never started


@pytest.mark.parametrize("key_file, expected", [
    (None, f"environment variable {KEY_ENV} is not set on this worker"),
    ("keys/missing.key", "keys/missing.key (privacy.key_file) is not found"),
])
def test_a_missing_key_fails_with_the_host_and_the_key_location(tmp_path, monkeypatch,
                                                                 key_file, expected):
    monkeypatch.delenv(KEY_ENV, raising=False)
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "alpha",
                                                                key_file=key_file)))
    record = run_target(spec, fake_runner)
    assert not record["ok"]
    assert f"host {socket.gethostname()}: no usable deal key for target 'alpha'" in record["error"]
    assert expected in record["error"]


def test_a_malformed_key_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "not-a-key-" + "ab" * 10)
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "alpha")))
    record = run_target(spec, fake_runner)
    assert not record["ok"] and f"environment variable {KEY_ENV}" in record["error"]
    assert "ab" * 10 not in record["error"]


def test_scratch_folders_of_dead_processes_are_swept(tmp_path):
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=os.getpid)
    process.start()
    process.join()
    dead = tmp_path / f"{process.pid}-alpha-x1"
    alive = tmp_path / f"{os.getpid()}-beta-x2"
    other = tmp_path / "not-a-scratch-folder"
    for folder in (dead, alive, other):
        (folder / "out").mkdir(parents=True)
    assert sweep_stale_scratch(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])


# -- what the client does with them -------------------------------------------------------
def _earlier(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "brief.html").write_text("earlier", encoding="utf-8")


def test_received_outputs_replace_the_folder_atomically(tmp_path):
    out = tmp_path / "outputs" / "alpha"
    _earlier(out)
    files = {"brief.html": b"<p>new</p>", "results.json": b"{}", "figures/a.png": PNG}
    receive_outputs(files, out, target="alpha")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["brief.html", "figures/a.png", "results.json"]
    assert (out / "brief.html").read_bytes() == b"<p>new</p>"
    assert sorted(p.name for p in out.parent.iterdir()) == ["alpha"]  # no staging left


@pytest.mark.parametrize("files, error, match", [
    ({"brief.html": b"x", "results.json": f'{{"n": "{PLANTED_MOBILE}"}}'.encode()}, LeakError,
     "results.json"),
    ({"results.json": b"{}", "analysis/orders.parquet": b"PAR1"}, ReportError,
     "outside the published set"),
    ({"brief.html": b"x"}, ReportError, "no results.json"),
])
def test_refused_outputs_keep_the_earlier_ones(tmp_path, files, error, match):
    out = tmp_path / "outputs" / "alpha"
    _earlier(out)
    with pytest.raises(error, match=match):
        receive_outputs(files, out, target="alpha")
    assert [p.name for p in out.iterdir()] == ["brief.html"]
    assert (out / "brief.html").read_text(encoding="utf-8") == "earlier"
    assert sorted(p.name for p in out.parent.iterdir()) == ["alpha"]


# -- the local process pool -----------------------------------------------------------------
def test_local_pool_survives_a_killed_worker(tmp_path, key_env):
    """Issue 13 item 8: one SIGKILLed process fails its own target only; the others finish."""
    for name in ("alpha", "killed_always_beta", "broken_gamma", "leaky_delta", "epsilon"):
        write_fake_target(tmp_path, name)
    _earlier(tmp_path / "out" / "leaky_delta")
    report = run_batch(discover_params([tmp_path / "params"]), workers=2,
                       out_root=tmp_path / "out", runner=fake_runner, progress=False)
    by = {o.target: o for o in report.outcomes}
    assert [t for t, o in by.items() if o.ok] == ["alpha", "epsilon"]
    assert by["killed_always_beta"].error.startswith("worker killed (signal 9, SIGKILL)")
    assert by["broken_gamma"].error == "ValueError: planted failure"
    assert "outputs refused on the client" in by["leaky_delta"].error
    assert (tmp_path / "out" / "leaky_delta" / "brief.html").read_text() == "earlier"
    assert not by["killed_always_beta"].retried  # a local kill is not retried
    for name in ("alpha", "epsilon"):
        out = tmp_path / "out" / name
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == \
            ["brief.html", "figures", "figures/tornado.png", "results.json"]
        assert by[name].output_dir == str(out)
    summary = report.summary()
    assert "2 done, 3 failed of 5" in summary
    assert "FAILED killed_always_beta" in summary and "signal 9" in summary
    table = pd.read_csv(tmp_path / "out" / "portfolio.csv")
    assert list(table["status"]) == ["ok", "failed", "ok", "failed", "failed"]


def test_host_names_survive_the_masking_of_errors(tmp_path, monkeypatch, key_env):
    monkeypatch.setattr(socket, "gethostname", lambda: "ip-10-0-0-123")
    spec = TargetSpec.from_params(load_params(write_fake_target(tmp_path, "alpha")))
    Path(spec.params["data"]["files"]["orders"]).unlink()
    record = run_target(spec, fake_runner)
    assert record["error"].startswith("host ip-10-0-0-123: cannot read the exports")
    error = ValueError("worker ip-10-0-0-123 saw 13812345678")
    assert error_text(error, keep=("ip-10-0-0-123",)) == \
        "ValueError: worker ip-10-0-0-123 saw 138******78"


def test_exit_reason_names_the_signal():
    assert exit_reason(-9, 7).startswith("worker killed (signal 9, SIGKILL) in local process 7")
    assert "out-of-memory" in exit_reason(-9, 7)
    assert exit_reason(-15, 7).startswith("worker killed (signal 15, SIGTERM)")
    assert exit_reason(3, 7) == "worker exited with code 3 in local process 7 without a result"


def test_summary_says_where_each_target_ran_and_which_were_retried():
    report = BatchReport([
        TargetOutcome("a.yaml", "alpha", True, 2.0, host="h1", worker="tcp://10.0.0.1:4000",
                      lost=["worker tcp://10.0.0.2:4000 on h2"]),
        TargetOutcome("b.yaml", "beta", False, 1.0, host="h2", worker="tcp://10.0.0.2:4001",
                      error="planted"),
    ], seconds=3.0)
    lines = report.summary().splitlines()
    assert lines[0] == "batch: 1 done, 1 failed of 2 target(s) in 3.0 s; 1 retried after a lost worker"
    assert lines[1] == ("  ok     alpha  on h1 (tcp://10.0.0.1:4000), 2.0 s; "
                        "retried after losing worker tcp://10.0.0.2:4000 on h2")
    assert lines[2] == "  FAILED beta   on h2 (tcp://10.0.0.2:4001), 1.0 s: planted"


# -- client-side refusals, CLI ---------------------------------------------------------------
def test_a_duplicate_target_id_is_refused_on_the_client(tmp_path, key_env):
    write_fake_target(tmp_path, "alpha")
    copy = tmp_path / "params" / "alpha_copy.yaml"
    copy.write_text((tmp_path / "params" / "alpha.yaml").read_text(), encoding="utf-8")
    report = run_batch(discover_params([tmp_path / "params"]), workers=1,
                       out_root=tmp_path / "out", runner=fake_runner, progress=False)
    assert [o.ok for o in report.outcomes] == [True, False]
    assert "also used by" in report.outcomes[1].error
    assert report.outcomes[1].worker == "client"


def test_cli_batch_exits_non_zero_with_a_summary_when_a_target_fails(tmp_path, capsys):
    from valuation.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("target: bad\n", encoding="utf-8")  # invalid params: refused on the client
    code = main(["batch", str(bad), "--workers", "1", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "0 done, 1 failed" in out and "invalid params" in out and "(client)" in out
    assert (tmp_path / "out" / "portfolio.html").is_file()


def test_cli_batch_writes_the_portfolio_in_the_language_asked(tmp_path, capsys):
    from valuation.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("target: bad\n", encoding="utf-8")
    for lang, marker in (("zh", '<html lang="zh">'), ("en", '<html lang="en">')):
        out = tmp_path / f"out_{lang}"
        main(["batch", str(bad), "--workers", "1", "--out", str(out), "--lang", lang])
        assert marker in (out / "portfolio.html").read_text(encoding="utf-8")
    capsys.readouterr()


def test_discover_params_rejects_missing_paths(tmp_path):
    with pytest.raises(ReportError, match="no such params"):
        discover_params([tmp_path / "nope.yaml"])
    with pytest.raises(ReportError, match="no params YAML"):
        discover_params([tmp_path])


def test_a_leaking_portfolio_is_not_kept_and_the_earlier_one_stays(tmp_path, monkeypatch):
    (tmp_path / "portfolio.csv").write_text("earlier\n", encoding="utf-8")
    (tmp_path / "portfolio.html").write_text("<p>earlier</p>", encoding="utf-8")
    from valuation.report import portfolio

    monkeypatch.setattr(portfolio, "portfolio_html", lambda frame, lang="en": "<p>call 13812345678</p>")
    with pytest.raises(LeakError, match="portfolio.html"):
        portfolio.write_portfolio([], tmp_path)
    assert (tmp_path / "portfolio.csv").read_text(encoding="utf-8") == "earlier\n"
    assert (tmp_path / "portfolio.html").read_text(encoding="utf-8") == "<p>earlier</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portfolio.csv", "portfolio.html"]
