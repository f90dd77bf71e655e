"""The data review on the sample targets: planted defects at their exact counts, none on clean data.

Each target goes read_exports -> run_gate (work folder in tmp_path, a fresh random key) ->
review, and the counts are compared with the generator's ``ground_truth.json``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from valuation.analysis import load_analysis
from valuation.cli import main
from valuation.ingest import IngestResult, read_exports
from valuation.params import DealParams, load_params
from valuation.privacy.gate import run_gate
from valuation.quality import CHECK_NAMES, clean_tables, review
from valuation.samples import generate_target
from valuation.tables import TABLES

REPO = Path(__file__).resolve().parents[1]
TARGETS = ("online_school", "bootcamp", "cert_school")


def _params(target: str, work_dir: Path) -> DealParams:
    params = load_params(REPO / "params" / f"{target}.yaml")
    paths = params.paths.model_copy(update={"work_dir": work_dir})
    return params.model_copy(update={"paths": paths})


def _truth(target: str) -> dict:
    path = REPO / "data" / "samples" / target / "ground_truth.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=TARGETS)
def gated(request, tmp_path_factory):
    """(target, params, ingest result, gate result) of one sample target."""
    target = request.param
    params = _params(target, tmp_path_factory.mktemp(target) / "work")
    ingest = read_exports(params)
    key = os.urandom(32)
    gate = run_gate(ingest, params, key)
    return target, params, ingest, gate, key




def _expected(target: str) -> dict[str, int]:
    return {**dict.fromkeys(CHECK_NAMES, 0), **_truth(target)["defects"]}


def test_review_finds_every_planted_defect_at_its_exact_count(gated):
    target, params, _, gate, _ = gated
    expected = _expected(target)
    assert set(expected) == set(CHECK_NAMES), "ground truth names a check the review lacks"
    report = review(gate.tables, params)
    found = report.failed_counts()
    assert {n: found[n] for n in CHECK_NAMES} == {n: expected[n] for n in CHECK_NAMES}
    assert report.score < 100 and 0 < report.haircut


def test_review_of_the_written_dataset_agrees_with_the_gate_tables(gated):
    target, params, _, gate, _ = gated
    reloaded = review(load_analysis(params), params)
    assert reloaded.failed_counts() == review(gate.tables, params).failed_counts()


def test_cleaned_sample_has_no_excluded_record_left(gated):
    _, params, _, gate, _ = gated
    cleaned = clean_tables(gate.tables, params)
    tables = cleaned.tables
    report = cleaned.report
    assert not set(tables["customers"]["customer_token"]) & report.excluded_customers
    assert tables["orders"]["customer_token"].isin(tables["customers"]["customer_token"]).all()
    assert (tables["orders"]["amount"] > 0).all()
    counts = report.failed_counts()
    assert cleaned.removed_count("customers", "duplicate_person") == counts["duplicate_person"]
    assert cleaned.removed_count("orders", "non_positive_amount") <= counts["non_positive_amount"]


def _personal_values(ingest) -> set[str]:
    customers = ingest.tables["customers"]
    values: set[str] = set()
    for column in ("name", "mobile", "id_number", "email"):
        values |= {str(v).strip() for v in customers[column].dropna() if len(str(v).strip()) >= 2}
    return values


def test_cli_review_prints_and_writes_json_without_personal_data(gated, tmp_path, capsys,
                                                                monkeypatch):
    target, params, ingest, gate, key = gated
    monkeypatch.setenv(params.privacy.key_env, key.hex())  # the dataset's own deal key
    raw = params.model_dump(mode="json", exclude_none=True)
    path = tmp_path / f"{target}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out" / "review.json"
    assert main(["review", str(path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    data = json.loads(text)
    expected = review(gate.tables, params).failed_counts()
    assert {c["check"]: c["failed"] for c in data["checks"]} == expected
    assert "signup_burst" in printed and "/100" in printed
    for value in _personal_values(ingest):
        assert value not in text and value not in printed
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)|\d{17}[\dX]", text + printed)


@pytest.mark.parametrize("target", TARGETS)
def test_clean_generated_target_raises_no_finding(target, tmp_path):
    sample = generate_target(target, seed=11, defects=False)
    assert set(sample["ground_truth"]["defects"].values()) == {0}
    params = _params(target, tmp_path / "work")
    raw = IngestResult(tables={table: sample[table] for table in TABLES})
    gate = run_gate(raw, params, os.urandom(32))
    report = review(gate.tables, params)
    assert report.failed_counts() == dict.fromkeys(CHECK_NAMES, 0)
    assert report.score == 100.0 and report.haircut == 0.0
