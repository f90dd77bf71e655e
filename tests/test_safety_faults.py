"""Fault tests (issue 13, items 6 and 7): a wrong deal key, a loose key file, a full disk
during the log append, a torn log line, a refused log entry, an unlogged or altered dataset,
leftover staging folders.

Each uses the small CSV target of ``test_ingest`` with a key file (mode 0600) and runs the
real CLI.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import yaml

from test_ingest import run_dir, write_csv_target
from valuation.cli import main
from valuation.errors import DatasetNotLoggedError, KeyMismatchError
from valuation.params import load_params
from valuation.privacy.keys import key_fingerprint
from valuation.privacy.log import log_path, torn_path, verify_log

COMMANDS_READING_A_DATASET = (
    ["review"], ["brief"], ["handover"], ["destroy", "--yes"], ["log", "verify"],
)


@pytest.fixture
def target(tmp_path, monkeypatch):
    """A small ingested target: (params path, key file, work folder)."""
    monkeypatch.delenv("VALUATION_DEAL_KEY", raising=False)
    path = write_csv_target(tmp_path)
    key = tmp_path.parent / f"{tmp_path.name}-keys" / "deal.key"
    key.parent.mkdir()
    key.write_text(os.urandom(32).hex())
    key.chmod(0o600)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["privacy"] = {"key_file": str(key)}
    raw["paths"]["handover_dir"] = str(run_dir(tmp_path) / "handover")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["ingest", str(path)]) == 0
    return path, key, run_dir(tmp_path) / "work" / "t1"


def _argv(command: list[str], params: Path) -> list[str]:
    if command[0] == "log":
        return [*command, str(params)]
    return [command[0], str(params), *command[1:]]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------
def test_fingerprint_is_recorded_never_the_key(target):
    params, key_file, work = target
    key = bytes.fromhex(key_file.read_text())
    fingerprint = key_fingerprint(key)
    assert len(fingerprint) == 16 and set(fingerprint) <= set("abcdefghijklmnop")
    assert fingerprint != key_fingerprint(os.urandom(32))
    record = json.loads((work / "analysis" / "dataset.json").read_text())
    assert record["key_fingerprint"] == fingerprint
    log_text = log_path(load_params(params)).read_text()
    assert json.loads(log_text.splitlines()[-1])["key_fingerprint"] == fingerprint
    everything = b"".join(_tree(work).values()) + log_text.encode()
    assert key.hex().encode() not in everything and key not in everything


@pytest.mark.parametrize("command", COMMANDS_READING_A_DATASET, ids=lambda c: c[0])
def test_a_different_key_is_refused_by_every_command(target, command, capsys):
    params, key_file, work = target
    key_file.write_text(os.urandom(32).hex())  # another deal's key
    before = _tree(work.parent)
    capsys.readouterr()
    assert main(_argv(command, params)) == 2
    err = capsys.readouterr().err
    assert "fingerprint" in err and "Traceback" not in err, err
    assert _tree(work.parent) == before


def test_ingest_with_a_different_key_is_refused_too(target, capsys):
    params, key_file, work = target
    key_file.write_text(os.urandom(32).hex())
    capsys.readouterr()
    assert main(["ingest", str(params)]) == 2
    assert "fingerprint" in capsys.readouterr().err


LOOSE = [pytest.param(mode, command, id=f"{command[0]}-{mode:o}",
                      marks=() if mode == 0o644 or command == ["ingest"] else pytest.mark.slow)
         for mode in (0o644, 0o640, 0o604, 0o620, 0o602, 0o660)
         for command in (["ingest"], *COMMANDS_READING_A_DATASET)]


@pytest.mark.parametrize("mode,command", LOOSE)
def test_a_loose_key_file_is_refused_as_ssh_does(target, mode, command, capsys):
    params, key_file, work = target
    key_file.chmod(mode)
    before = _tree(work.parent)
    capsys.readouterr()
    assert main(_argv(command, params)) == 2
    err = capsys.readouterr().err
    assert f"chmod 600 {key_file}" in err, err
    assert _tree(work.parent) == before


def test_the_demo_key_is_created_owner_only_and_refused_when_loosened(tmp_path, monkeypatch):
    from valuation.errors import KeyPermissionError
    from valuation.privacy import keys

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("VALUATION_DEAL_KEY", raising=False)
    monkeypatch.setattr(os, "umask", os.umask)  # whatever the umask, the demo key is 0600
    old = os.umask(0o000)
    try:
        params = load_params(write_csv_target(tmp_path)).model_copy(update={
            "privacy": load_params(write_csv_target(tmp_path)).privacy.model_copy(
                update={"demo_key": True})})
        keys.load_key(params, notify=None)
    finally:
        os.umask(old)
    path = keys.demo_key_path(params)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(KeyPermissionError, match=f"chmod 600 {path}"):
        keys.load_key(params, notify=None)


# ---------------------------------------------------------------------------------------
# the log: full disk, torn line, refused entry
# ---------------------------------------------------------------------------------------
def _failing_log_write(monkeypatch, *, short_only: bool = False) -> list[int]:
    """os.write writes half of a log line, then fails with ENOSPC (or returns short)."""
    real_write = os.write
    calls: list[int] = []

    def write(fd, data):
        if bytes(data[:2]) == b'{"' and bytes(data[-1:]) == b"\n":
            calls.append(len(data))
            written = real_write(fd, bytes(data[: len(data) // 2]))
            if short_only:
                return written
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    return calls


@pytest.mark.parametrize("short_only", [False, True], ids=["ENOSPC", "short_write"])
def test_full_disk_during_the_log_append(target, monkeypatch, capsys, short_only):
    params, _, work = target
    log = log_path(load_params(params))
    log_before = log.read_bytes()
    head_before = (log.parent / (log.name + ".head")).read_bytes()
    dataset_before = _tree(work / "analysis")
    calls = _failing_log_write(monkeypatch, short_only=short_only)
    capsys.readouterr()
    assert main(["ingest", str(params)]) == 2
    err = capsys.readouterr().err
    assert calls, "the log append was not reached"
    assert "could not be written" in err and "Free disk space" in err and "Traceback" not in err
    assert log.read_bytes() == log_before  # truncated back: the chain is as it was
    assert (log.parent / (log.name + ".head")).read_bytes() == head_before
    assert _tree(work / "analysis") == dataset_before  # the earlier dataset is intact
    assert not [p for p in work.iterdir() if p.name.startswith(".staging-")]
    monkeypatch.undo()  # space is back
    assert main(["log", "verify", str(params)]) == 0
    assert main(["ingest", str(params)]) == 0
    assert verify_log(log).ok and verify_log(log).lines == 2


def test_a_torn_last_line_is_reported_then_repaired_by_the_next_append(target, capsys):
    params, _, _ = target
    log = log_path(load_params(params))
    good = log.read_bytes()
    with open(log, "ab") as handle:  # a crash in the middle of an append
        handle.write(b'{"action":"ingest","seq":2,"ti')
    capsys.readouterr()
    assert main(["log", "verify", str(params)]) == 2
    err = capsys.readouterr().err
    assert "torn last line" in err and "next command that appends" in err
    assert main(["ingest", str(params)]) == 0
    assert verify_log(log).ok and verify_log(log).lines == 2
    assert log.read_bytes().startswith(good)
    assert torn_path(log).read_bytes() == b'{"action":"ingest","seq":2,"ti\n'


def test_an_edited_last_line_is_not_repaired(target, capsys):
    params, _, _ = target
    log = log_path(load_params(params))
    text = log.read_text().replace('"action":"ingest', '"action":"INGEST')
    log.write_text(text)
    capsys.readouterr()
    assert main(["ingest", str(params)]) == 2
    assert "broken at line 1" in capsys.readouterr().err
    assert log.read_text() == text


def test_a_refused_log_entry_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """An identifier in the target id: the log refuses the entry; no dataset is kept."""
    monkeypatch.setenv("VALUATION_DEAL_KEY", "cd" * 32)
    path = write_csv_target(tmp_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["target"] = "13912345678"
    raw["paths"]["work_dir"] = str(run_dir(tmp_path) / "work" / raw["target"])
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    work = run_dir(tmp_path) / "work" / raw["target"]
    # first line of defence: params text with an identifier is refused before anything is made
    assert main(["ingest", str(path)]) == 2
    assert "personal data" in capsys.readouterr().err
    assert not work.exists()
    # the log guard is the second: with the params check out of the way, it refuses the entry
    import valuation.params

    monkeypatch.setattr(valuation.params, "check_params_text", lambda *a, **k: None)
    assert main(["ingest", str(path)]) == 2
    assert "personal" in capsys.readouterr().err
    assert not (work / "analysis").exists()
    assert [p.name for p in work.iterdir()] == [".valuation-folder.json"]


# ---------------------------------------------------------------------------------------
# datasets without their log entry; leftover staging folders
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["no_record", "altered_table", "entry_missing"])
def test_a_dataset_without_its_log_entry_is_refused(target, damage, capsys):
    from valuation.analysis import check_dataset

    params_file, key_file, work = target
    params = load_params(params_file)
    key = bytes.fromhex(key_file.read_text())
    if damage == "no_record":
        (work / "analysis" / "dataset.json").unlink()
    elif damage == "altered_table":
        table = work / "analysis" / "orders.parquet"
        table.write_bytes(table.read_bytes() + b"\0")
    else:
        log = log_path(params)
        log.write_text("")
        (log.parent / (log.name + ".head")).unlink()
    with pytest.raises(DatasetNotLoggedError, match="valuation ingest"):
        check_dataset(params, key)
    capsys.readouterr()
    assert main(["review", str(params_file)]) == 2
    assert main(["brief", str(params_file)]) == 2  # refused before the notebook runs
    err = capsys.readouterr().err
    assert "Traceback" not in err and "valuation ingest" in err


def test_check_dataset_refuses_another_key(target):
    from valuation.analysis import check_dataset

    params_file, key_file, _ = target
    with pytest.raises(KeyMismatchError):
        check_dataset(load_params(params_file), os.urandom(32))
    check_dataset(load_params(params_file), bytes.fromhex(key_file.read_text()))


def test_leftover_staging_folders_are_cleaned_by_the_next_run(target):
    params, _, work = target
    ours = work / ".staging-crashed"
    ours.mkdir()
    (ours / ".valuation-staging").write_text("")
    (ours / "orders.parquet").write_bytes(b"half")
    previous = work / ".previous-analysis-1"
    previous.mkdir()
    (previous / ".valuation-staging").write_text("")
    foreign = work / ".staging-not-ours"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("no marker: kept")
    assert main(["ingest", str(params)]) == 0
    assert not ours.exists() and not previous.exists()
    assert (foreign / "keep.txt").is_file()


def test_a_batch_target_with_a_different_key_fails_with_the_reason(tmp_path):
    """The batch job of a target whose dataset was made with another key: failed, named."""
    from _brief_fixtures import write_target
    from valuation.batch import TargetSpec, run_target
    from valuation.params import load_params

    params = write_target(tmp_path, "keyed", n=50, replicates=2)
    (tmp_path / "deal.key").write_text(os.urandom(32).hex())  # the key was swapped
    outcome = run_target(TargetSpec.from_params(load_params(params)))
    assert not outcome["ok"]
    assert "fingerprint" in outcome["error"]
    assert not (tmp_path / "outputs" / "keyed").exists()
