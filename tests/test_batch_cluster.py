"""Batches on a Dask LocalCluster of separate worker processes that share nothing with the
client but the exports: each task runs in a fresh working folder deleted afterwards, and the
client still ends with every brief and the portfolio in its own outputs/.

One cluster (2 workers, 1 thread each) serves the module; the test that kills a worker runs
last. Most tests use the fake runner (tests/_batch_fakes.py); one runs real briefs.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import pandas as pd
import pytest

from _batch_fakes import KEY_ENV, KEY_HEX, fake_runner, write_fake_target
from _batch_plugins import FreshFolderPerTask
from _brief_fixtures import write_target
from valuation.batch import discover_params, run_batch
from valuation.batch.worker import scratch_root

HOST = socket.gethostname()


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    env = {KEY_ENV: KEY_HEX}  # not the default key variable: real briefs use their key files
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=env) as cluster, Client(cluster) as dask_client:
        dask_client.register_plugin(FreshFolderPerTask())
        yield dask_client


def _attempts(root: Path, target: str) -> int:
    log = root / "work" / target / "attempts.txt"
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_outputs_travel_back_from_workers_that_keep_nothing(client, tmp_path, monkeypatch):
    names = ("alpha", "beta", "gamma", "delta")
    for name in names:
        write_fake_target(tmp_path, name)
    client_cwd = tmp_path / "client-cwd"
    client_cwd.mkdir()
    monkeypatch.chdir(client_cwd)
    report = run_batch(discover_params([tmp_path / "params"]), scheduler=client,
                       out_root="out", runner=fake_runner, progress=False)
    assert report.ok, report.summary()
    out = client_cwd / "out"
    workers = set(client.scheduler_info()["workers"])
    ran_in = set()
    for outcome in report.outcomes:
        assert _tree(out / outcome.target) == ["brief.html", "figures", "figures/tornado.png",
                                               "results.json"]
        assert outcome.output_dir == str(out / outcome.target)
        assert outcome.host == HOST and outcome.worker in workers and not outcome.retried
        run = json.loads((out / outcome.target / "results.json").read_text())["run"]
        assert run["pid"] != os.getpid()  # a separate worker process wrote it
        assert not Path(run["cwd"]).exists()  # its working folder was deleted after the task
        assert not Path(run["out_dir"]).exists()  # and so was its scratch output folder
        assert not Path(run["out_dir"]).is_relative_to(out)  # it never wrote into ours
        ran_in.add(run["cwd"])
    assert len(ran_in) == len(names)  # a fresh folder per task
    table = pd.read_csv(out / "portfolio.csv")
    assert list(table["target"]) == list(sorted(names)) and set(table["status"]) == {"ok"}
    summary = report.summary()
    for outcome in report.outcomes:
        assert re.search(rf"^  ok +{outcome.target} +on {HOST} \({outcome.worker}\), ", summary,
                         re.MULTILINE)


def test_a_worker_without_the_key_fails_that_target_only(client, tmp_path, monkeypatch):
    client.wait_for_workers(2)  # no worker (re)starts while the variable is set here
    monkeypatch.setenv("VALUATION_KEY_ONLY_ON_THE_CLIENT", KEY_HEX)
    write_fake_target(tmp_path, "alpha")
    write_fake_target(tmp_path, "keyless", key_env="VALUATION_KEY_ONLY_ON_THE_CLIENT")
    report = run_batch(discover_params([tmp_path / "params"]), scheduler=client,
                       out_root=tmp_path / "out", runner=fake_runner, progress=False)
    alpha, keyless = report.outcomes
    assert alpha.ok and not keyless.ok
    assert keyless.error.startswith(f"host {HOST}: no usable deal key for target 'keyless' "
                                    "there: environment variable VALUATION_KEY_ONLY_ON_THE_"
                                    "CLIENT is not set on this worker")
    assert keyless.worker in client.scheduler_info()["workers"]
    assert KEY_HEX not in report.summary()
    assert _attempts(tmp_path, "keyless") == 0  # checked before any work started
    assert not (tmp_path / "out" / "keyless").exists()


def test_exports_are_checked_on_the_worker_and_errors_are_not_retried(client, tmp_path):
    write_fake_target(tmp_path, "unseen", missing_export=True)
    write_fake_target(tmp_path, "broken_beta")
    report = run_batch(discover_params([tmp_path / "params"]), scheduler=client,
                       out_root=tmp_path / "out", runner=fake_runner, progress=False)
    broken, unseen = report.outcomes
    orders = tmp_path / "params" / ".." / "data" / "unseen" / "orders.csv"
    assert unseen.error.startswith(f"host {HOST}: cannot read the exports of target 'unseen' "
                                   f"there: | - data.files.orders: {orders}: not found")
    assert broken.error == "ValueError: planted failure"
    assert not broken.retried and _attempts(tmp_path, "broken_beta") == 1


@pytest.fixture(scope="module")
def real_briefs(client, tmp_path_factory):
    """Real briefs on the process cluster: one good target, one whose notebook fails."""
    root = tmp_path_factory.mktemp("batch")
    good = write_target(root, "good_school")
    broken = write_target(root, "broken_school", broken=True)
    report = run_batch([good, broken], scheduler=client, out_root=root / "outputs",
                       progress=False)
    return report, root


def test_real_briefs_come_back_to_the_client(real_briefs):
    report, root = real_briefs
    by_target = {o.target: o for o in report.outcomes}
    good = by_target["good_school"]
    assert good.ok, good.error
    published = _tree(root / "outputs" / "good_school")
    assert {"brief.html", "brief.ipynb", "results.json"} <= set(published)
    assert any(p.startswith("figures/") and p.endswith(".png") for p in published)
    assert all(p in ("brief.html", "brief.pdf", "brief.ipynb", "results.json", "figures")
               or p.startswith("figures/") for p in published)
    failed = by_target["broken_school"]
    assert not failed.ok and "brief failed" in failed.error
    host, _, kept = failed.partial_notebook.partition(":")
    assert host == HOST and Path(kept).is_file()  # kept in the work folder on the worker
    assert not (root / "outputs" / "broken_school").exists()
    assert "1 done, 1 failed" in report.summary()
    table = pd.read_csv(root / "outputs" / "portfolio.csv").set_index("target")
    assert list(table.index) == ["broken_school", "good_school"]
    row = table.loc["good_school"]
    assert row["status"] == "ok" and row["equity_p10"] <= row["equity_p50"] <= row["equity_p90"]
    assert row["top_risks"].count(";") == 2


# -- last: these kill workers (the nanny restarts them) ----------------------------------------
def test_a_killed_worker_is_retried_once_on_another_worker(client, tmp_path):
    client.wait_for_workers(2)
    write_fake_target(tmp_path, "alpha")
    write_fake_target(tmp_path, "killed_once_beta")
    report = run_batch(discover_params([tmp_path / "params"]), scheduler=client,
                       out_root=tmp_path / "out", runner=fake_runner, progress=False)
    assert report.ok, report.summary()
    alpha, killed = report.outcomes
    assert not alpha.retried
    assert killed.retried and _attempts(tmp_path, "killed_once_beta") == 2
    assert len(killed.lost) == 1 and killed.lost[0].endswith(f"on {HOST}")
    lost_worker = killed.lost[0].split()[1]
    assert lost_worker != killed.worker  # the retry ran on another worker
    assert (tmp_path / "out" / "killed_once_beta" / "brief.html").is_file()
    killed_pid = (tmp_path / "work" / "killed_once_beta" / "attempts.txt").read_text().split()[0]
    assert not list(scratch_root().glob(f"{killed_pid}-*"))  # its scratch folder was swept
    assert f"retried after losing worker {lost_worker} on {HOST}" in report.summary()
    assert "1 retried after a lost worker" in report.summary()


@pytest.mark.slow  # two worker restarts (~10 s); the one-kill variant above is in the default suite
def test_a_target_that_kills_every_worker_fails_after_one_retry(client, tmp_path):
    client.wait_for_workers(2)
    write_fake_target(tmp_path, "alpha")
    write_fake_target(tmp_path, "killed_always")
    report = run_batch(discover_params([tmp_path / "params"]), scheduler=client,
                       out_root=tmp_path / "out", runner=fake_runner, progress=False)
    alpha, killed = report.outcomes
    assert alpha.ok and not killed.ok
    assert _attempts(tmp_path, "killed_always") == 2  # the first and one retry, no third
    assert len(killed.lost) == 2
    assert "workers were lost while running it" in killed.error
    assert "FAILED killed_always" in report.summary()


@pytest.mark.slow  # three worker restarts (~20 s)
def test_the_client_retries_once_when_the_scheduler_gives_up_at_the_first_loss(client, tmp_path):
    """With ``allowed-failures: 0`` the scheduler raises KilledWorker at once: the client
    resubmits the target itself, once."""

    def set_allowed_failures(dask_scheduler, value):
        previous, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, value
        return previous

    client.wait_for_workers(2)
    write_fake_target(tmp_path, "killed_once")
    write_fake_target(tmp_path, "killed_always")
    previous = client.run_on_scheduler(set_allowed_failures, value=0)
    try:
        report = run_batch(discover_params([tmp_path / "params"]), scheduler=client,
                           out_root=tmp_path / "out", runner=fake_runner, progress=False)
    finally:
        client.run_on_scheduler(set_allowed_failures, value=previous)
    always, once = report.outcomes
    assert once.ok and once.retried and _attempts(tmp_path, "killed_once") == 2
    assert not always.ok and _attempts(tmp_path, "killed_always") == 2
    assert always.error.startswith("worker lost while running it (worker tcp://")
    assert "2 attempt(s) lost (Dask: KilledWorker)" in always.error and len(always.lost) == 2
