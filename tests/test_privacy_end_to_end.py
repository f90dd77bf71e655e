"""The full pipeline on every sample leaks no personal data: not in the work folder, the
processing log, the review report, nor any error message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from valuation.cli import main
from valuation.ingest import read_exports
from valuation.params import load_params
from valuation.privacy.identifiers import normalize_id_number_series, normalize_mobile_series
from valuation.privacy.log import log_path, verify_log
from valuation.privacy.scanner import scan_path

from _sample_params import ROOT, copy_params

TARGETS = ("online_school", "bootcamp", "cert_school")


def personal_values(params_file: Path) -> set[str]:
    """Every raw name, mobile, ID number and e-mail of a target, as exported and normalised."""
    customers = read_exports(load_params(params_file)).tables["customers"]
    values: set[str] = set()
    for column in ("name", "mobile", "id_number", "email"):
        values |= set(customers[column].dropna().astype(str).str.strip())
    values |= set(normalize_mobile_series(customers["mobile"]).dropna())
    values |= set(normalize_id_number_series(customers["id_number"]).dropna())
    return {v for v in values if len(v) >= 2}


def all_text(folder: Path) -> str:
    """Everything readable in a folder: raw bytes decoded, and every Parquet cell."""
    parts = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        parts.append(file.read_bytes().decode("utf-8", errors="ignore"))
        if file.suffix == ".parquet":
            frame = pd.read_parquet(file)
            parts.extend(frame.astype(str).to_numpy().ravel().tolist())
    return "\n".join(parts)


@pytest.mark.parametrize("target", TARGETS)
def test_pipeline_outputs_hold_no_personal_data(target, tmp_path, capsys):
    params_file = copy_params(target, tmp_path)
    params = load_params(params_file)
    secrets = personal_values(params_file)
    assert len(secrets) > 1000  # the sample really carries people

    assert main(["ingest", str(params_file)]) == 0
    review_json = tmp_path / "outputs" / target / "review.json"
    assert main(["review", str(params_file), "--json", str(review_json)]) in (0, 1)
    console = capsys.readouterr()

    haystack = "\n".join([all_text(params.work_dir), all_text(log_path(params).parent),
                          review_json.read_text(encoding="utf-8"), console.out, console.err])
    leaked = sorted(v for v in secrets if v in haystack)
    assert leaked == [], f"{len(leaked)} personal values leaked"
    assert scan_path(params.work_dir) == []
    assert verify_log(log_path(params)).ok


def test_error_messages_mask_personal_values(tmp_path, capsys):
    """A broken export's error names file, row and column but never a raw personal value."""
    source = ROOT / "data" / "samples" / "online_school"
    broken = tmp_path / "exports"
    shutil.copytree(source, broken)
    customers = pd.read_csv(broken / "customers.csv", dtype=str, keep_default_na=False)
    secrets = set()
    for column in customers.columns[:5]:  # id, name, mobile, ID number, e-mail
        secrets |= {v for v in customers[column].head(40) if len(v) >= 2}
    # shift personal values into the date column of 40 rows: each is a bad date
    date_column = "Registration Date"
    customers.loc[:19, date_column] = customers.loc[:19, customers.columns[2]]  # mobiles
    customers.loc[20:39, date_column] = customers.loc[20:39, customers.columns[3]]  # IDs
    customers.to_csv(broken / "customers.csv", index=False)
    params_file = copy_params("online_school", tmp_path)
    raw = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    raw["data"]["files"] = {t: str(broken / Path(p).name) for t, p in raw["data"]["files"].items()}
    params_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    assert main(["ingest", str(params_file)]) == 2
    err = capsys.readouterr().err
    assert "customers.csv" in err and "row" in err
    assert "Traceback" not in err
    leaked = sorted(v for v in secrets if v in err)
    assert leaked == []


def test_review_json_has_counts_not_people(tmp_path):
    params_file = copy_params("bootcamp", tmp_path)
    assert main(["ingest", str(params_file)]) == 0
    out = tmp_path / "review.json"
    main(["review", str(params_file), "--json", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert scan_path(out) == []
    assert "customer_token" not in json.dumps(report)
