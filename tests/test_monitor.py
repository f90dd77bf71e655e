"""The earn-out monitor (issue 19 item 2): payout known answers, the generator's known
post-closing retention measured back exactly and within the forecast band, no identifier in
the outputs, a wrong key refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valuation.cli import main
from valuation.monitor.metric import payout
from valuation.value.earnout import payout as brief_payout, retained_forecast

ROOT = Path(__file__).resolve().parents[1]
KEY = "ab" * 32
OTHER_KEY = "cd" * 32
MONTHS, RETENTION = 12, 0.6


# -- payout: known answers -------------------------------------------------------------
@pytest.mark.parametrize(("count", "expected"), [
    (80, 0.0),          # below the threshold: the floor (0)
    (100, 0.0),         # at the threshold
    (130, 30_000.0),    # between: 30 customers above x 1,000
    (150, 50_000.0),    # exactly at the cap
    (400, 50_000.0),    # beyond the cap
])
def test_payout_known_answers(count, expected):
    assert payout(count, threshold=100, slope=1000.0, cap=50_000.0) == expected
    assert float(brief_payout(count, 100, 1000.0, 50_000.0)) == expected


def test_payout_floor_below_zero_is_a_claw_back_limit():
    terms = dict(threshold=100, slope=1000.0, cap=50_000.0, floor=-5_000.0)
    assert payout(97, **terms) == -3_000.0
    assert payout(20, **terms) == -5_000.0


# -- end to end on the bootcamp sample ---------------------------------------------------
@pytest.fixture(scope="module")
def deal(tmp_path_factory):
    """Bootcamp ingested in a scratch folder, its post-closing exports and a results.json."""
    base = tmp_path_factory.mktemp("monitor")
    (base / "params").mkdir()
    text = (ROOT / "params" / "bootcamp.yaml").read_text(encoding="utf-8")
    text = text.replace("../data/samples", str(ROOT / "data" / "samples"))
    text = text.replace("demo_key: true", "demo_key: false\n  key_env: MONITOR_TEST_KEY")
    params_path = base / "params" / "bootcamp.yaml"
    params_path.write_text(text, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("MONITOR_TEST_KEY", KEY)
    assert main(["ingest", str(params_path)]) == 0
    exports = base / "exports"
    assert main(["samples", "--post-closing", str(params_path), "--out", str(exports),
                 "--months", str(MONTHS), "--retention", str(RETENTION)]) == 0
    truth = json.loads((exports / "ground_truth.json").read_text(encoding="utf-8"))
    roster = truth["roster_customers"]
    terms = {"definition": "a customer on the transfer roster with a paid order or a "
                           "learning-activity event in the 90 days before the measurement date",
             "measurement_date": f"closing + {MONTHS} months", "threshold": 150.0,
             "slope_per_customer": 2_000.0, "cap": 40_000.0, "floor": 0.0,
             "cash_at_closing": 1_000_000.0}
    forecast = retained_forecast(roster, np.full(500, RETENTION), RETENTION, 400.0,
                                 months=MONTHS, seed=3)
    results = {"schema_version": 1, "target": "bootcamp", "negotiation": {
        "earn_out_term_sheet": {"status": "accept", "eligible_customers": roster,
                                "expected_retained": roster * RETENTION, "terms": terms,
                                "forecast": forecast}}}
    (base / "outputs" / "bootcamp").mkdir(parents=True)
    (base / "outputs" / "bootcamp" / "results.json").write_text(json.dumps(results))
    pre_record = (base / "work" / "bootcamp" / "analysis" / "dataset.json").read_bytes()
    code = main(["monitor", str(params_path), "--exports", str(exports)])
    yield {"base": base, "params": params_path, "exports": exports, "truth": truth,
           "code": code, "terms": terms, "pre_record": pre_record, "mp": mp}
    mp.undo()


def _document(deal):
    path = deal["base"] / "outputs" / "bootcamp" / "monitor" / "monitor.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_generator_truth_is_the_drawn_retention(deal):
    truth = deal["truth"]
    assert truth["retained_at_measurement"] == truth["retained_drawn"]
    assert abs(truth["retained_drawn"] / truth["roster_customers"] - RETENTION) < 0.1
    counts = [r["retained"] for r in truth["retained_by_month"]]
    assert counts == sorted(counts, reverse=True) and len(counts) == MONTHS


def test_monitor_measures_the_known_retention_within_its_band(deal):
    assert deal["code"] == 0
    doc = _document(deal)
    truth = deal["truth"]
    assert doc["roster_customers"] == truth["roster_customers"]
    assert [r["retained"] for r in doc["by_month"]] == \
        [r["retained"] for r in truth["retained_by_month"]]
    last = doc["by_month"][-1]
    assert doc["final"] and doc["months_observed"] == MONTHS
    assert last["within_band"] is True and last["p10"] <= last["retained"] <= last["p90"]
    retained = truth["retained_at_measurement"]
    t = deal["terms"]
    assert doc["payout"]["amount"] == pytest.approx(
        min(max(t["slope_per_customer"] * (retained - t["threshold"]), 0.0), t["cap"]))


def test_monitor_dataset_is_separate_and_outputs_hold_no_identifier(deal):
    base = deal["base"]
    assert (base / "work" / "bootcamp" / "monitor" / "analysis" / "customers.parquet").exists()
    assert (base / "work" / "bootcamp" / "analysis" / "dataset.json").read_bytes() == \
        deal["pre_record"]
    from valuation.privacy.scanner import scan_file

    out = base / "outputs" / "bootcamp" / "monitor"
    assert sorted(p.name for p in out.iterdir()) == ["monitor.html", "monitor.json"]
    ids = pd.read_parquet(deal["exports"] / "customers.parquet").iloc[:, 0].astype(str)
    tokens = pd.read_parquet(base / "work" / "bootcamp" / "monitor" / "analysis"
                             / "customers.parquet")["customer_token"].astype(str)
    for path in out.iterdir():
        assert scan_file(path) == []
        text = path.read_text(encoding="utf-8")
        assert not any(v in text for v in ids if len(v) >= 5)
        assert not any(v in text for v in tokens)
    html = (out / "monitor.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "http" not in html


def test_wrong_key_is_exit_2_and_keeps_outputs(deal, capsys):
    out = deal["base"] / "outputs" / "bootcamp" / "monitor" / "monitor.json"
    before = out.read_bytes()
    deal["mp"].setenv("MONITOR_TEST_KEY", OTHER_KEY)
    try:
        code = main(["monitor", str(deal["params"]), "--exports", str(deal["exports"])])
    finally:
        deal["mp"].setenv("MONITOR_TEST_KEY", KEY)
    assert code == 2
    assert "key" in capsys.readouterr().err.lower()
    assert out.read_bytes() == before


def test_bad_exports_folder_is_exit_2(deal, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("nothing here")
    assert main(["monitor", str(deal["params"]), "--exports", str(tmp_path)]) == 2
    assert "customers" in capsys.readouterr().err


def test_forecast_curve_falls_to_the_measurement_retention():
    rows = retained_forecast(300, np.full(400, 0.5), 0.5, 500.0, months=12, seed=1)
    assert [r["month"] for r in rows] == list(range(1, 13))
    expected = [r["expected"] for r in rows]
    assert expected == sorted(expected, reverse=True)
    assert expected[-1] == pytest.approx(150.0)
    assert all(r["p10"] <= r["p50"] <= r["p90"] for r in rows)
    assert rows[-1]["p10"] < 150.0 < rows[-1]["p90"]


def test_the_brief_stores_the_forecast_in_the_term_sheet():
    from types import SimpleNamespace

    from valuation.value.earnout import earn_out_terms

    plan = SimpleNamespace(side="seller", price=None)
    sheet = earn_out_terms(plan, eligible=200, base_retention=0.5, value_per_retained=1.0,
                           retention_draws=np.full(300, 0.5), effective_size=300.0,
                           implied_retention=None, stress_retention={}, window_days=90,
                           measurement_months=12, seed=5).to_dict()
    assert len(sheet["forecast"]) == 12
    assert sheet["forecast"][-1]["expected"] == pytest.approx(100.0)
