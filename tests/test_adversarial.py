"""The adversarial target: identifiers planted in every spelling and place of a real export.

(a) ingest (default suite) and ingest + brief (slow) on it leave none of them (raw value, canonical value or its digits with
the separators removed) in outputs/, in the analysis files or in the processing log;
(b) ``valuation scan`` on the raw exports finds every planted identifier at its place;
(c) params display names carrying an identifier or a customer's name are refused (exit 2).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from valuation.cli import main
from valuation.privacy.normalize import normalize_text
from valuation.privacy.scanner import scan_path
from valuation.samples.adversarial import write_adversarial

KEY_HEX = "5a" * 32


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Path:
    folder = write_adversarial(tmp_path_factory.mktemp("adv") / "adversarial", customers=300)
    return folder


@pytest.fixture(scope="module")
def truth(target) -> dict:
    return json.loads((target / "planted.json").read_text(encoding="utf-8"))


def _run(*argv: str) -> int:
    old = os.environ.get("VALUATION_DEAL_KEY")
    os.environ["VALUATION_DEAL_KEY"] = KEY_HEX
    try:
        return main(list(argv))
    finally:
        if old is None:
            os.environ.pop("VALUATION_DEAL_KEY", None)
        else:
            os.environ["VALUATION_DEAL_KEY"] = old


@pytest.fixture(scope="module")
def ingested(target) -> Path:
    """Ingest the adversarial target once (about 10 s)."""
    assert _run("ingest", str(target / "adversarial.yaml")) == 0
    return target


@pytest.fixture(scope="module")
def briefed(ingested) -> Path:
    """Brief the ingested adversarial target once (about 40 s on 2 cores)."""
    assert _run("brief", str(ingested / "adversarial.yaml")) == 0
    return ingested


def test_every_kind_and_place_is_planted(truth):
    kinds = Counter(p["kind"] for p in truth["planted"])
    assert {"mobile", "id_number", "email", "qq", "wechat", "name"} <= set(kinds)
    places = {p["place"] for p in truth["planted"]}
    assert places == {"channel", "city", "course", "category", "order number", "feedback"}
    spellings = {p["spelling"] for p in truth["planted"] if p["kind"] == "mobile"}
    assert {"full_width", "dots", "minus_sign", "zero_width", "glued_wx", "glued_tel",
            "chinese_numerals", "plus86_spaces", "0086_dash"} <= spellings


def test_scan_of_the_raw_exports_finds_every_planted_identifier(target, truth, capsys):
    findings = scan_path(target / "exports")
    found = Counter((Path(f.file).name, f.location, f.kind) for f in findings)
    expected = Counter((p["file"], f"row {p['row']}, column '{p['column']}'", p["kind"])
                       for p in truth["planted"] if p["kind"] != "name")
    assert not expected - found  # every planted identifier, at its file, row and column
    assert main(["scan", str(target / "exports")]) == 1
    out = capsys.readouterr().out
    for kind in ("mobile", "id_number", "email", "qq", "wechat"):
        assert re.search(rf"\b{kind} \d+", out)
    assert all(p["canonical"] not in out for p in truth["planted"] if p["kind"] != "name")


def _published_texts(folder: Path):
    roots = [folder / "outputs", folder / "work", folder / "logs"]
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                for column in frame.columns:
                    if not pd.api.types.is_numeric_dtype(frame[column]):
                        values = frame[column].dropna().astype(str).unique()
                        yield f"{path.name}:{column}", "\n".join(values)
            else:
                yield path.name, path.read_bytes().decode("utf-8", errors="replace")


def _collapsed(text: str) -> str:
    """Normalised text with separators between digits removed (138 1234-5678 -> 13812345678)."""
    return re.sub(r"(?<=[0-9Xx])[\s\-.()/]+(?=[0-9Xx])", "", normalize_text(text))


def _leaks(folder: Path, truth: dict, expected_files: set[str]) -> list:
    published = list(_published_texts(folder))
    assert expected_files <= {name for name, _ in published}
    leaks = []
    for where, text in published:
        flat = _collapsed(text)
        for planted in truth["planted"]:
            for needle in {planted["planted"], planted["canonical"]}:
                if needle in text or needle in flat:
                    leaks.append((where, planted["kind"], planted["spelling"]))
    return leaks


ANALYSIS = {"adversarial.jsonl", "customers.parquet:channel", "customers.parquet:city",
            "orders.parquet:category", "orders.parquet:course", "orders.parquet:order_id",
            "feedback.parquet:text_redacted"}


def test_ingest_keeps_none_of_the_planted_values(ingested, truth):
    """The gate alone (default suite): analysis files and processing log."""
    assert _leaks(ingested, truth, ANALYSIS) == []
    assert scan_path(ingested / "work") == []  # the analysis dataset and work/logs/


@pytest.mark.slow
def test_ingest_and_brief_publish_none_of_the_planted_values(briefed, truth):
    expected = ANALYSIS | {"brief.html", "results.json", "brief.ipynb"}
    assert _leaks(briefed, truth, expected) == []
    assert scan_path(briefed / "outputs") == [] and scan_path(briefed / "work") == []


def test_labels_are_redacted_and_rare_ones_grouped(ingested):
    customers = pd.read_parquet(ingested / "work" / "adversarial" / "analysis" / "customers.parquet")
    orders = pd.read_parquet(ingested / "work" / "adversarial" / "analysis" / "orders.parquet")
    assert "老学员推荐-[姓名]" in set(customers["channel"])  # frequent: name replaced, kept
    assert "other" in set(customers["channel"])  # rare referrer values grouped
    counts = customers.groupby("channel")["customer_token"].nunique()
    assert (counts.drop("other") >= 5).all()  # "other" itself may be small: tables suppress it
    assert "data（导师[姓名]）" in set(orders["category"])  # written as exported
    assert orders["order_id"].str.startswith("k").sum() == 1  # the one holding a phone


@pytest.mark.parametrize("index", range(4))
def test_display_names_with_identifiers_or_a_customer_name_are_refused(target, index, capsys,
                                                                        monkeypatch):
    entry = json.loads((target / "display_names.json").read_text(encoding="utf-8"))[index]
    raw = yaml.safe_load((target / "adversarial.yaml").read_text(encoding="utf-8"))
    raw["name"] = entry["name"]
    raw["paths"] = {"work_dir": f"work/refused-{index}", "output_dir": f"outputs/refused-{index}"}
    path = target / f"refused-{index}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("VALUATION_DEAL_KEY", KEY_HEX)
    assert main(["ingest", str(path)]) == 2
    err = capsys.readouterr().err
    assert "name" in err and "Traceback" not in err
    assert entry["name"] not in err
    assert not (target / "work" / f"refused-{index}" / "analysis").exists()
