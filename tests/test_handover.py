"""Handover: bag round-trip, tamper detection, roster scope, status, destruction record."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyrage
import pytest

from valuation.cli import main
from valuation.errors import HandoverError, UnsafePathError
from valuation.handover import (build_handover, destroy_target, notification_status,
                                open_package, verify_bag)
from valuation.params import load_params
from valuation.privacy.cohorts import cohort_mask
from valuation.privacy.gate import build_analysis_tables, run_gate
from valuation.privacy.log import log_path, verify_log
from valuation.privacy.scanner import scan_path

ROOT = Path(__file__).resolve().parents[1]
BUYER = pyrage.x25519.Identity.generate()  # one key pair for the module's packages


def write_identity(path: Path, identity=BUYER) -> Path:
    """An age identity file (mode 0600) as `valuation key buyer-new` writes it."""
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n", encoding="ascii")
    path.chmod(0o600)
    return path


def _params(tmp_path: Path, target: str = "bootcamp", **paths):
    params = load_params(ROOT / "params" / f"{target}.yaml")
    settings = {"work_dir": tmp_path / "work" / target,
                "output_dir": tmp_path / "outputs" / target,
                "handover_dir": tmp_path / "handover", **paths}
    privacy = params.privacy.model_copy(update={"key_file": tmp_path / "deal.key",
                                                "demo_key": False})
    handover = params.handover.model_copy(update={"buyer_recipient": str(BUYER.to_public())})
    return params.model_copy(update={"paths": params.paths.model_copy(update=settings),
                                     "privacy": privacy, "handover": handover})


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    from valuation.ingest import read_exports

    tmp = tmp_path_factory.mktemp("handover")
    params = _params(tmp)
    key = os.urandom(32)
    ingest = read_exports(params)
    result = build_handover(params, key, ingest_result=ingest)
    opened, check = open_package(result.bag, write_identity(tmp / "buyer.key"), tmp / "opened")
    assert check.ok, check.differences
    return params, key, ingest, result, opened


def test_bag_round_trip_verifies(package):
    _, _, ingest, result, opened = package
    check = verify_bag(result.bag)
    assert check.ok, check.differences
    assert check.payload_files == 1  # the ciphertext only
    assert verify_bag(opened).payload_files == 8  # four tables, the roster, three notices
    customers = pd.read_csv(opened / "data" / "customers.csv", dtype=str)
    assert len(customers) == result.counts["customers"]
    assert (result.bag / "manifest-sha256.txt").exists()
    assert (result.bag / "manifest-sha512.txt").exists()
    confirmation = (result.folder / "confirmation.md").read_text(encoding="utf-8")
    assert result.tag_manifest_sha256 in confirmation


def test_roster_covers_exactly_the_customers_in_scope(package):
    params, key, ingest, result, opened = package
    analysis = build_analysis_tables(ingest, params, key)["customers"]
    expected = set(analysis.loc[cohort_mask(analysis, "transferable"), "customer_token"])
    roster = pd.read_csv(opened / "data" / "notification-roster.csv", dtype=str)
    assert set(roster["customer_token"]) == expected
    assert len(roster) == len(expected) == result.counts["customers"]
    assert set(roster["channel"]) <= {"mobile", "email", "none"}
    # every order in the bag belongs to a customer in scope
    orders = pd.read_csv(opened / "data" / "orders.csv", dtype=str)
    assert set(orders["customer_id"]) <= set(roster["customer_id"])
    assert sum(result.excluded.values()) == len(analysis) - len(expected)


@pytest.mark.parametrize("damage", ["alter", "delete", "add"])
def test_tampering_is_detected(package, tmp_path, damage):
    bag = tmp_path / "bag"
    shutil.copytree(package[4], bag)  # the opened (plaintext) bag: same checks
    target = bag / "data" / "orders.csv"
    if damage == "alter":
        target.write_bytes(target.read_bytes().replace(b"1", b"2", 1))
        fragment = "altered: data/orders.csv"
    elif damage == "delete":
        target.unlink()
        fragment = "data/orders.csv"
    else:
        (bag / "data" / "extra.csv").write_text("x\n")
        fragment = "data/extra.csv"
    check = verify_bag(bag)
    assert not check.ok
    assert any(fragment in line for line in check.differences), check.differences
    assert main(["handover", "verify", str(bag)]) == 2


def test_cli_verify_ok(package, capsys):
    assert main(["handover", "verify", str(package[3].folder)]) == 0
    assert "every checksum matches" in capsys.readouterr().out


def test_notification_status_counts_and_validation(package):
    params, _, _, result, opened = package
    roster = pd.read_csv(opened / "data" / "notification-roster.csv", dtype=str)
    counts = notification_status(params)
    assert counts["total"] == len(roster)
    assert counts["unreachable"] == int((roster["channel"] == "none").sum())
    assert counts["notified"] == 0
    status = pd.read_csv(result.status_file, dtype=str, keep_default_na=False)
    original = result.status_file.read_bytes()
    try:
        status.loc[status.index[:3], "status"] = "notified"
        status.to_csv(result.status_file, index=False)
        assert notification_status(params)["notified"] == 3
        status.loc[status.index[0], "status"] = "maybe"
        status.to_csv(result.status_file, index=False)
        with pytest.raises(HandoverError, match="unknown status"):
            notification_status(params)
        status.iloc[1:].assign(status="pending").to_csv(result.status_file, index=False)
        with pytest.raises(HandoverError, match="tokens differ"):
            notification_status(params)
    finally:
        result.status_file.write_bytes(original)


def test_handover_log_entry_has_no_personal_data(package):
    params = package[0]
    assert verify_log(log_path(params)).ok
    assert scan_path(log_path(params)) == []
    assert "handover" in log_path(params).read_text(encoding="utf-8")


def test_handover_dir_must_be_set_and_safe(tmp_path):
    params = _params(tmp_path)
    unset = params.model_copy(update={"paths": params.paths.model_copy(
        update={"handover_dir": None})})
    with pytest.raises(HandoverError, match="paths.handover_dir is not set"):
        build_handover(unset, os.urandom(32))
    inside = params.model_copy(update={"paths": params.paths.model_copy(
        update={"handover_dir": tmp_path / "outputs" / "bootcamp" / "x"})})
    with pytest.raises(UnsafePathError, match="paths.handover_dir .* sits inside paths.output_dir"):
        build_handover(inside, os.urandom(32))


def test_destroy_leaves_no_data_and_records_it(tmp_path):
    from valuation.ingest import read_exports

    params = _params(tmp_path, "online_school")
    key_file = Path(params.privacy.key_file)
    key_file.write_text(os.urandom(32).hex())
    key_file.chmod(0o600)
    key = key_file.read_text()
    run_gate(read_exports(params), params, bytes.fromhex(key))
    assert any(params.work_dir.rglob("*.parquet"))
    record = destroy_target(params, include_key=True)
    assert not params.work_dir.exists()
    assert not key_file.exists()
    assert record["action"] == "destroy"
    assert record["files"] >= 5  # four parquet files and the key
    assert verify_log(log_path(params)).ok
    last = log_path(params).read_text(encoding="utf-8").strip().splitlines()[-1]
    assert '"action":"destroy"' in last


def test_cli_builds_the_package_and_says_it_holds_personal_data(tmp_path, capsys):
    import yaml

    from _sample_params import copy_params

    params_file = copy_params("online_school", tmp_path)
    raw = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    raw["paths"]["handover_dir"] = str(tmp_path / "handover")
    params_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["handover", str(params_file)]) == 2  # no buyer recipient: refused
    assert "handover.buyer_recipient is not set" in capsys.readouterr().err
    assert not (tmp_path / "handover" / "online_school").exists()
    assert main(["key", "buyer-new", str(tmp_path / "keys" / "buyer.key"),
                 "--public-out", str(tmp_path / "buyer.pub")]) == 0
    assert (tmp_path / "keys" / "buyer.key").stat().st_mode & 0o777 == 0o600
    public = (tmp_path / "buyer.pub").read_text().strip()
    assert public.startswith("age1") and public in capsys.readouterr().out
    raw["handover"] = {**raw.get("handover", {}), "buyer_recipient": public}
    params_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    assert main(["handover", str(params_file)]) == 0
    out = capsys.readouterr().out
    assert "personal data" in out and "encrypted" in out
    assert verify_bag(tmp_path / "handover" / "online_school").ok
    assert main(["handover", "status", str(params_file)]) == 0
    assert "pending" in capsys.readouterr().out
    out = tmp_path / "opened"
    assert main(["handover", "open", str(tmp_path / "handover" / "online_school"),
                 "--identity", str(tmp_path / "keys" / "buyer.key"), "--out", str(out)]) == 0
    assert "HOLDS PERSONAL DATA" in capsys.readouterr().out
    assert (out / "bag" / "data" / "customers.csv").is_file()
    roster = pd.read_csv(out / "bag" / "data" / "notification-roster.csv", dtype=str)
    returns = tmp_path / "returns.csv"
    returns.write_text(f"customer_ref,status\n{roster['customer_token'][0]},objected\n")
    assert main(["handover", "status", str(params_file), "--returns", str(returns)]) == 0
    out_text = capsys.readouterr().out
    assert "objected" in out_text and "1 objector(s)" in out_text
    returns.write_text("customer_ref,status\nnope,objected\n")
    assert main(["handover", "status", str(params_file), "--returns", str(returns)]) == 2
    assert "row(s) [2]" in capsys.readouterr().err
