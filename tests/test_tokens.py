"""Pseudonym tokens and deal keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pandas as pd
import pytest

from valuation.cli import main
from valuation.errors import KeyFormatError, KeyLocationError, KeyMissingError, PrivacyError
from valuation.params import parse_params
from valuation.privacy import keys
from valuation.privacy.tokens import pseudonymize, token

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def make_params(tmp_path, **privacy):
    return parse_params(
        {"target": "demo_t", "name": "Demo", "as_of": "2025-06-30",
         "calibration_end": "2024-12-31", "data": {"files": {"customers": "c.csv", "orders": "o.csv"}},
         "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.1},
         "deal": {"side": "buyer"}, "privacy": privacy,
         "paths": {"work_dir": str(tmp_path / "work" / "demo_t")}},
        check_files=False,
    )


def test_token_known_answer_is_hmac_sha256_truncated_to_128_bits():
    expected = hmac.new(KEY_A, b"mobile\x1f13812345678", hashlib.sha256).hexdigest()[:32]
    assert token("13812345678", "mobile", KEY_A) == expected
    series = pseudonymize(pd.Series(["13812345678"]), "mobile", KEY_A)
    assert series.iloc[0] == expected


def test_tokens_are_stable_and_differ_across_fields_and_keys():
    values = pd.Series(["13812345678", "13812345678", "15900001111"])
    first = pseudonymize(values, "mobile", KEY_A)
    assert first.equals(pseudonymize(values, "mobile", KEY_A))
    assert first.iloc[0] == first.iloc[1] != first.iloc[2]
    assert (first != pseudonymize(values, "person", KEY_A)).all()
    assert (first != pseudonymize(values, "mobile", KEY_B)).all()
    assert first.str.fullmatch(r"[0-9a-f]{32}").all()


def test_a_plain_hash_is_not_used():
    mobile = "13812345678"
    tok = token(mobile, "mobile", KEY_A)
    for plain in (hashlib.sha256(mobile.encode()).hexdigest(),
                  hashlib.sha256(b"mobile\x1f" + mobile.encode()).hexdigest(),
                  hashlib.md5(mobile.encode()).hexdigest()):
        assert tok != plain[:32]


def test_na_stays_na_and_index_is_kept():
    values = pd.Series(["a", None, pd.NA, "a"], index=[10, 11, 12, 13])
    result = pseudonymize(values, "customer_id", KEY_A)
    assert list(result.index) == [10, 11, 12, 13]
    assert result.isna().tolist() == [False, True, True, False]
    assert str(result.dtype) == "string"


def test_a_wrong_key_is_refused():
    with pytest.raises(PrivacyError):
        pseudonymize(pd.Series(["a"]), "f", b"short")


def test_load_key_from_env_hex_and_base64(tmp_path, monkeypatch):
    params = make_params(tmp_path, key_env="TEST_DEAL_KEY")
    monkeypatch.setenv("TEST_DEAL_KEY", KEY_A.hex())
    assert keys.load_key(params) == KEY_A
    import base64
    monkeypatch.setenv("TEST_DEAL_KEY", base64.b64encode(KEY_B).decode())
    assert keys.load_key(params) == KEY_B
    monkeypatch.setenv("TEST_DEAL_KEY", "deadbeef")
    with pytest.raises(KeyFormatError) as info:
        keys.load_key(params)
    assert "deadbeef" not in str(info.value)


def test_new_key_then_load_from_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("VALUATION_DEAL_KEY", raising=False)
    path = keys.new_key(tmp_path / "secret" / "deal.key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    params = make_params(tmp_path, key_file=str(path))
    key = keys.load_key(params)
    assert len(key) == 32 and path.read_text().strip() == key.hex()
    with pytest.raises(KeyLocationError):
        keys.new_key(path)  # never overwritten
    assert keys.load_key(params) == key


def test_new_key_refuses_outputs_and_work_folders_of_the_repo(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    for folder in ("outputs", "work"):
        with pytest.raises(KeyLocationError):
            keys.new_key(tmp_path / folder / "t" / "deal.key")
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "work").exists()


def test_missing_key_explains_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("VALUATION_DEAL_KEY", raising=False)
    with pytest.raises(KeyMissingError) as info:
        keys.load_key(make_params(tmp_path))
    message = str(info.value)
    assert "VALUATION_DEAL_KEY" in message and "key new" in message and "demo_key" in message
    with pytest.raises(KeyMissingError):
        keys.load_key(make_params(tmp_path, key_file=str(tmp_path / "absent.key")))


def test_demo_key_is_created_once_in_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("VALUATION_DEAL_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    params = make_params(tmp_path, demo_key=True)
    messages: list[str] = []
    key = keys.load_key(params, notify=messages.append)
    path = keys.demo_key_path(params)
    assert path == tmp_path / "config" / "valuation" / "keys" / "demo_t.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(messages) == 1 and str(path) in messages[0]
    assert keys.load_key(params, notify=messages.append) == key  # reused, not re-created
    assert len(messages) == 1


def test_cli_key_new(tmp_path, capsys):
    path = tmp_path / "k" / "deal.key"
    assert main(["key", "new", str(path)]) == 0
    assert path.is_file() and str(path) in capsys.readouterr().out
    assert main(["key", "new", str(path)]) == 2
    assert "never overwritten" in capsys.readouterr().err
