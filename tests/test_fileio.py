"""Atomic writes: a failed write leaves the earlier file intact and no temporary behind."""

from __future__ import annotations

import os

import pytest

from valuation.fileio import atomic_path, sha256_file, write_text_atomic


def test_failed_write_keeps_the_earlier_output(tmp_path):
    target = tmp_path / "results.json"
    write_text_atomic(target, '{"v": 1}')
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"v": 2, "half', encoding="utf-8")
            raise RuntimeError("the run failed half way")
    assert target.read_text(encoding="utf-8") == '{"v": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_modes_follow_the_umask_or_the_caller(tmp_path):
    old = os.umask(0o022)
    try:
        assert os.stat(write_text_atomic(tmp_path / "a.txt", "x")).st_mode & 0o777 == 0o644
        with atomic_path(tmp_path / "b.parquet", mode=0o600) as tmp:
            tmp.write_bytes(b"x")
        assert os.stat(tmp_path / "b.parquet").st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_sha256_of_a_known_text(tmp_path):
    path = write_text_atomic(tmp_path / "abc.txt", "abc")
    assert sha256_file(path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
