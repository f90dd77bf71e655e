"""Encrypted transfer package: verifies without the key, opens with it, refuses another key
and a flipped byte, and leaves no plaintext personal value anywhere under handover_dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyrage
import pytest

from test_handover import _params, write_identity
from valuation.cli import main
from valuation.errors import HandoverError
from valuation.handover import build_handover, open_package, verify_bag
from valuation.handover_crypto import PAYLOAD


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from valuation.ingest import read_exports

    tmp = tmp_path_factory.mktemp("crypto")
    params = _params(tmp)
    ingest = read_exports(params)
    result = build_handover(params, os.urandom(32), ingest_result=ingest)
    return tmp, params, ingest, result


def _personal_values(ingest, ids: set[str]) -> list[bytes]:
    customers = ingest.tables["customers"]
    customers = customers[customers["customer_id"].isin(ids)]
    customers = customers.sample(n=min(60, len(customers)), random_state=19)  # bytes.find is
    # linear in the ~9 MB package: 60 customers x 4 fields keep the scan to seconds
    values = []
    for column in ("name", "mobile", "id_number", "email"):
        values += [str(v).encode("utf-8") for v in customers[column].dropna()
                   if len(str(v)) >= 2]
    return values


def test_no_plaintext_personal_value_anywhere_under_handover_dir(built, tmp_path):
    tmp, params, ingest, result = built
    opened, _ = open_package(result.bag, write_identity(tmp_path / "k"), tmp_path / "out")
    ids = set(pd.read_csv(opened / "data" / "customers.csv", dtype=str)["customer_id"])
    values = _personal_values(ingest, ids)
    assert len(values) > 150  # the scan below has something to find
    blobs = [(p, p.read_bytes()) for p in Path(params.paths.handover_dir).rglob("*")
             if p.is_file()]
    assert blobs
    # planted control: the opened plaintext does contain them
    plain = (opened / "data" / "customers.csv").read_bytes()
    assert sum(v in plain for v in values) == len(values)
    hits = [(p.name, i) for p, blob in blobs for i, v in enumerate(values) if v in blob]
    assert hits == []
    assert [p.name for p in Path(params.paths.handover_dir).rglob("*.csv")] == [
        "notification-status.csv"]  # tokens only
    assert not list(Path(params.paths.handover_dir).rglob(".plain"))


def test_verifies_without_the_key_and_opens_with_it(built, tmp_path, capsys):
    tmp, params, ingest, result = built
    assert verify_bag(result.bag).ok
    identity = write_identity(tmp_path / "buyer.key")
    out = tmp_path / "opened"
    assert main(["handover", "open", str(result.folder), "--identity", str(identity),
                 "--out", str(out)]) == 0
    customers = pd.read_csv(out / "bag" / "data" / "customers.csv", dtype=str)
    assert len(customers) == result.counts["customers"]
    assert verify_bag(out / "bag").ok
    assert out.stat().st_mode & 0o777 == 0o700


def test_another_key_is_refused(built, tmp_path, capsys):
    result = built[3]
    other = write_identity(tmp_path / "other.key", pyrage.x25519.Identity.generate())
    assert main(["handover", "open", str(result.bag), "--identity", str(other),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not one the package was encrypted to" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "bag").exists()


def test_a_flipped_byte_is_caught_by_the_manifest_and_by_age(built, tmp_path, capsys):
    bag = tmp_path / "bag"
    shutil.copytree(built[3].bag, bag)
    payload = bag / "data" / PAYLOAD
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x01
    payload.write_bytes(bytes(data))
    check = verify_bag(bag)
    assert not check.ok and any(f"altered: data/{PAYLOAD}" in d for d in check.differences)
    identity = write_identity(tmp_path / "buyer.key")
    assert main(["handover", "verify", str(bag)]) == 2
    assert main(["handover", "open", str(bag), "--identity", str(identity),
                 "--out", str(tmp_path / "o")]) == 2
    assert "fails its checksums, not decrypted" in capsys.readouterr().err
    # even with manifests re-forged, age's authentication refuses the altered ciphertext
    from valuation.handover_crypto import load_identity, unseal

    with pytest.raises(HandoverError, match="damaged or was altered"):
        unseal(bytes(data), load_identity(identity), tmp_path / "o2", where="payload")


def test_open_refuses_a_readable_identity_and_a_non_empty_out(built, tmp_path):
    result = built[3]
    identity = write_identity(tmp_path / "buyer.key")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    with pytest.raises(HandoverError, match="not empty"):
        open_package(result.bag, identity, tmp_path / "full")
    assert (tmp_path / "full" / "x").read_text() == "keep"
    repo = tmp_path / "repo"
    (repo / "outputs").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\n")
    with pytest.raises(HandoverError, match="inside the repository"):
        open_package(result.bag, identity, repo / "outputs" / "opened")
    assert not (repo / "outputs" / "opened").exists()
    identity.chmod(0o644)
    assert main(["handover", "open", str(result.bag), "--identity", str(identity),
                 "--out", str(tmp_path / "o")]) == 2


def test_bad_recipient_is_a_clear_error(tmp_path):
    params = _params(tmp_path)
    bad = params.model_copy(update={"handover": params.handover.model_copy(
        update={"buyer_recipient": "age1notakey"})})
    with pytest.raises(HandoverError, match="not an age X25519 public key"):
        build_handover(bad, os.urandom(32))
    assert not (tmp_path / "handover" / "bootcamp").exists()
