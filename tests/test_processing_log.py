"""The hash-chained processing log."""

from __future__ import annotations

import json

import pytest

from valuation.cli import main
from valuation.errors import LeakError, LogIntegrityError
from valuation.params import parse_params
from valuation.privacy.log import (
    GENESIS_HASH,
    append_entry,
    entry_hash,
    head_path,
    log_path,
    require_intact,
    verify_log,
)


def write_log(path, n=4):
    return [append_entry(path, {"target": "t", "action": f"run {i}", "row_counts": {"c": i}})
            for i in range(n)]


def lines_of(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_entries_are_chained(tmp_path):
    path = tmp_path / "logs" / "t.jsonl"
    entries = write_log(path)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:]))
    assert all(entry_hash(e) == e["hash"] for e in entries)
    assert json.loads(lines_of(path)[2]) == entries[2]
    assert entries[0]["time"].endswith("Z")
    result = verify_log(path)
    assert result.ok and result.lines == 4


def test_an_edited_line_is_detected(tmp_path):
    path = tmp_path / "t.jsonl"
    write_log(path)
    lines = lines_of(path)
    lines[1] = lines[1].replace('"run 1"', '"run X"')
    path.write_text("".join(lines), encoding="utf-8")
    result = verify_log(path)
    assert not result.ok and result.bad_line == 2 and "edited" in result.reason


def test_an_edited_line_with_a_recomputed_hash_is_detected_at_the_next_line(tmp_path):
    path = tmp_path / "t.jsonl"
    write_log(path)
    lines = lines_of(path)
    entry = json.loads(lines[1])
    entry["row_counts"] = {"c": 999}
    entry["hash"] = entry_hash(entry)
    lines[1] = json.dumps(entry) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    assert verify_log(path).bad_line == 3


def test_a_deleted_line_is_detected(tmp_path):
    path = tmp_path / "t.jsonl"
    write_log(path)
    lines = lines_of(path)
    path.write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    assert verify_log(path).bad_line == 2
    path.write_text("".join(lines[1:]), encoding="utf-8")  # the first line
    assert verify_log(path).bad_line == 1


def test_a_deleted_last_line_is_detected_by_the_head(tmp_path):
    path = tmp_path / "t.jsonl"
    write_log(path)
    path.write_text("".join(lines_of(path)[:-1]), encoding="utf-8")
    result = verify_log(path)
    assert not result.ok and result.bad_line == 4 and "deleted" in result.reason
    assert head_path(path).is_file()


def test_an_inserted_line_is_detected(tmp_path):
    path = tmp_path / "t.jsonl"
    write_log(path)
    lines = lines_of(path)
    forged = json.loads(lines[1])
    forged["action"] = "forged"
    forged["hash"] = entry_hash(forged)
    path.write_text("".join(lines[:2] + [json.dumps(forged) + "\n"] + lines[2:]),
                    encoding="utf-8")
    assert verify_log(path).bad_line == 3


def test_appending_after_a_verified_log_keeps_it_intact(tmp_path):
    path = tmp_path / "t.jsonl"
    write_log(path, 2)
    require_intact(path)
    append_entry(path, {"action": "more"})
    assert verify_log(path).lines == 3


def test_personal_data_never_enters_the_log(tmp_path):
    path = tmp_path / "t.jsonl"
    with pytest.raises(LeakError) as info:
        append_entry(path, {"action": "x", "note": "call 13912345678"})
    assert "13912345678" not in str(info.value)
    assert not path.exists()


def test_log_path_is_outside_the_work_folder(tmp_path):
    params = parse_params(
        {"target": "t1", "name": "T", "as_of": "2025-06-30", "calibration_end": "2024-12-31",
         "data": {"files": {"customers": "c.csv", "orders": "o.csv"}},
         "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.1},
         "deal": {"side": "buyer"}, "paths": {"work_dir": str(tmp_path / "work" / "t1")}},
        check_files=False)
    assert log_path(params) == tmp_path / "work" / "logs" / "t1.jsonl"
    assert not log_path(params).is_relative_to(params.work_dir)


def test_cli_log_verify(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    write_log(path)
    assert main(["log", "verify", str(path)]) == 0
    assert "intact" in capsys.readouterr().out
    lines = lines_of(path)
    path.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")
    assert main(["log", "verify", str(path)]) == 2
    assert "line 3" in capsys.readouterr().err
    with pytest.raises(LogIntegrityError):
        require_intact(path)
    assert main(["log", "verify", str(tmp_path / "none.jsonl")]) == 2
