"""DealParams: valid YAML loads; every bad value is an error naming its YAML path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from valuation.cli import main
from valuation.errors import ParamsError
from valuation.params import load_params, parse_params


def _base(tmp_path: Path) -> dict:
    for table in ("customers", "orders"):
        (tmp_path / f"{table}.csv").write_text("x\n", encoding="utf-8")
    return {
        "target": "demo",
        "name": "Demo school",
        "as_of": "2025-06-30",
        "calibration_end": "2024-12-31",
        "data": {"files": {"customers": "customers.csv", "orders": "orders.csv"}},
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12},
        "deal": {"side": "buyer", "asking_price": 1_000_000},
    }


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_valid_params_resolve_paths_against_the_yaml_folder(tmp_path):
    params = load_params(_write(tmp_path, _base(tmp_path)))
    assert params.data.files["customers"] == tmp_path / "customers.csv"
    assert params.work_dir == tmp_path.parent / "work" / "demo"
    assert params.output_dir == tmp_path.parent / "outputs" / "demo"
    assert params.economics.horizon_years == 5
    assert params.privacy.min_cell_size == 5


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("economics", "gross_margin"), 1.5, "economics.gross_margin"),
        (("economics", "annual_discount_rate"), -0.03, "economics.annual_discount_rate"),
        (("deal", "side"), "broker", "deal.side"),
        (("deal", "asking_price"), "a lot", "deal.asking_price"),
        (("report", "lang"), "fr", "report.lang"),
        (("as_of",), "not a date", "as_of"),
        (("economix",), {}, "economix: unknown key"),
        (("deal", "change_of_owner", "one_off_loss"), 1.2, "deal.change_of_owner.one_off_loss"),
        (("calibration_end",), "2026-01-01", "calibration_end must be before as_of"),
        (("target",), "bad name!", "target"),
    ],
)
def test_bad_values_name_their_yaml_path(tmp_path, path, value, fragment):
    raw = copy.deepcopy(_base(tmp_path))
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    with pytest.raises(ParamsError) as info:
        load_params(_write(tmp_path, raw))
    assert fragment in str(info.value)


def test_missing_data_file_is_named(tmp_path):
    raw = _base(tmp_path)
    raw["data"]["files"]["activity"] = "nowhere.csv"
    with pytest.raises(ParamsError, match=r"data.files.activity: file not found"):
        load_params(_write(tmp_path, raw))


def test_unknown_table_is_rejected(tmp_path):
    raw = _base(tmp_path)
    raw["data"]["files"]["payments"] = "customers.csv"
    with pytest.raises(ParamsError, match="unknown table 'payments'"):
        parse_params(raw, source=tmp_path / "x.yaml")


def test_broken_yaml_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("target: demo\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid YAML at line"):
        load_params(path)


def test_cli_reports_params_error_without_traceback(tmp_path, capsys):
    raw = _base(tmp_path)
    raw["economics"]["gross_margin"] = 1.5
    code = main(["ingest", str(_write(tmp_path, raw))])
    err = capsys.readouterr().err
    assert code == 2
    assert "economics.gross_margin" in err
    assert "Traceback" not in err


def test_sample_params_all_load():
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "params").glob("*.yaml"))
    assert {f.stem for f in files} >= {"online_school", "bootcamp", "cert_school"}
    for file in files:
        params = load_params(file)
        assert params.target == file.stem
