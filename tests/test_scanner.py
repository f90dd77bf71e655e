"""The export scanner: planted identifiers are found in every file type, clean files pass."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from valuation.cli import main
from valuation.errors import LeakError
from valuation.privacy.identifiers import id_check_digit
from valuation.privacy.scanner import Finding, assert_clean, scan_path, scan_text
from valuation.privacy.tokens import pseudonymize

MOBILE = "13912345678"
ID = "44030419880416123" + id_check_digit("44030419880416123")
ID_X = "11010519491231002X"
EMAIL = "li.na@example.cn"

CLEAN_TEXT = (
    "Order O20240105000123 paid ¥1,299.00 on 2024-01-05 13:45:12; refund 0.00\n"
    "customer 3f2a9c0d4b1e8f7a6c5d4e3f2a1b0c9d, amount 13800.50, count 12345678\n"
    "order id 202401051234567890123, ts 1704412800123, ratio 0.13912345678\n"
    "invoice INV-13912345678X, npm mathjax@2.7.7, logo@2x.png, CLV 1,391,234.56\n"
)


def kinds(findings: list[Finding]) -> list[str]:
    return sorted(f.kind for f in findings)


def test_scan_text_finds_each_kind_with_separators_and_prefixes():
    text = f"tel +86 139-1234-5678\nID {ID} / {ID_X.lower()}\nmail {EMAIL}\n电话{MOBILE}谢谢"
    findings = scan_text(text)
    assert kinds(findings) == ["email", "id_number", "id_number", "mobile", "mobile"]
    assert [f.location for f in findings] == ["line 1", "line 2", "line 2", "line 3", "line 4"]
    assert all(MOBILE not in f.value and ID not in f.value for f in findings)
    assert findings[0].value == "139****5678"


def test_false_positives_stay_out():
    assert scan_text(CLEAN_TEXT) == []
    tokens = pseudonymize(pd.Series([str(13000000000 + i) for i in range(2000)]), "m", bytes(32))
    assert scan_text("\n".join(tokens)) == []
    bad_checksum = ID[:17] + ("0" if ID[-1] != "0" else "1")
    assert scan_text(f"{bad_checksum} 13800000000 12345678901") == []  # dummies identify nobody


def planted_notebook() -> dict:
    return {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Brief\n", "clean text"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1,
             "source": "x = 1\n", "outputs": [
                 {"output_type": "stream", "name": "stdout", "text": ["ok\n", f"{MOBILE}\n"]},
                 {"output_type": "display_data", "metadata": {}, "data": {
                     "text/plain": ["<Figure>"],
                     "text/html": ['<img alt="chart of li.na&#64;example.cn" src="x.png">'],
                     "image/png": "iVBORw0KGgo="}},
                 {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                  "data": {"application/json": {"rows": [{"id": ID}]},
                           "text/plain": ["'clean'"]}},
             ]},
            {"cell_type": "markdown", "metadata": {}, "source": "![phone 138-1234-5678](a.png)"},
        ],
    }


def write_planted(folder, kind: str):
    """One file of each type with one planted identifier; returns (path, expected kind)."""
    if kind == "txt":
        (folder / "a.txt").write_text(f"{CLEAN_TEXT}call {MOBILE}\n", encoding="utf-8")
        return folder / "a.txt", ["mobile"]
    if kind == "md":
        (folder / "a.md").write_text(f"# t\n{CLEAN_TEXT}id: {ID}\n", encoding="utf-8")
        return folder / "a.md", ["id_number"]
    if kind == "html":
        (folder / "a.html").write_text(f"<p>{CLEAN_TEXT}</p><p>li.na&#64;example.cn</p>",
                                       encoding="utf-8")
        return folder / "a.html", ["email"]
    if kind == "py":
        (folder / "a.py").write_text(f'PHONE = "{MOBILE}"\n', encoding="utf-8")
        return folder / "a.py", ["mobile"]
    if kind == "log":
        (folder / "a.log").write_text(f"INFO {CLEAN_TEXT}WARN bad row {ID_X}\n", encoding="utf-8")
        return folder / "a.log", ["id_number"]
    if kind == "json":
        (folder / "a.json").write_text(json.dumps({"n": 1, "notes": ["x", EMAIL]}),
                                       encoding="utf-8")
        return folder / "a.json", ["email"]
    if kind == "jsonl":
        (folder / "a.jsonl").write_text('{"a": 1}\n' + json.dumps({"m": MOBILE}) + "\n",
                                        encoding="utf-8")
        return folder / "a.jsonl", ["mobile"]
    if kind == "csv":
        pd.DataFrame({"order_id": ["O20240105000123", "O2"], "amount": [1299.0, 13800.5],
                      "note": ["clean", f"id {ID}"]}).to_csv(folder / "a.csv", index=False)
        return folder / "a.csv", ["id_number"]
    if kind == "parquet":
        frame = pd.DataFrame({"token": pseudonymize(pd.Series(["a", "b", "c"]), "c", bytes(32)),
                              "amount": [1.0, 2.0, 3.0],
                              "phone_as_int": pd.array([None, None, int(MOBILE)], dtype="Int64"),
                              "text": ["ok", f"mail {EMAIL}", None]})
        frame.to_parquet(folder / "a.parquet", index=False)
        return folder / "a.parquet", ["email", "mobile"]
    if kind == "ipynb":
        (folder / "a.ipynb").write_text(json.dumps(planted_notebook()), encoding="utf-8")
        return folder / "a.ipynb", ["email", "id_number", "mobile", "mobile"]
    raise AssertionError(kind)


FILE_KINDS = ["txt", "md", "html", "py", "log", "json", "jsonl", "csv", "parquet", "ipynb"]


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_planted_identifiers_are_found_in_each_file_type(tmp_path, kind):
    path, expected = write_planted(tmp_path, kind)
    findings = scan_path(path)
    assert kinds(findings) == expected
    assert all(f.file == str(path) for f in findings)
    for finding in findings:
        assert MOBILE not in str(finding) and ID not in str(finding) and EMAIL not in str(finding)


def test_locations_name_cell_output_row_and_column(tmp_path):
    nb, _ = write_planted(tmp_path, "ipynb")
    locations = {f.location for f in scan_path(nb)}
    assert "cell 2 output 1, line 2" in locations
    assert "cell 2 output 2 (text/html), line 1" in locations
    assert any(loc.startswith("cell 2 output 3 (application/json)") for loc in locations)
    assert "cell 3 (markdown) source, line 1" in locations
    csv_path, _ = write_planted(tmp_path, "csv")
    assert [f.location for f in scan_path(csv_path)] == ["row 3, column 'note'"]
    pq_path, _ = write_planted(tmp_path, "parquet")
    assert sorted(f.location for f in scan_path(pq_path)) == [
        "row 2, column 'text'", "row 3, column 'phone_as_int'"]


def test_parquet_text_is_scanned_in_batches_of_distinct_values(tmp_path, monkeypatch):
    from valuation.privacy import scan_formats

    monkeypatch.setattr(scan_formats, "PARQUET_SCAN_BATCH", 4)
    notes = [f"order {i:05d}" for i in range(10)]
    notes[7] = "call 13712345678"  # in the second batch of distinct values
    notes[9] = "order 00001"  # a repeated value: the row reported is its first
    path = tmp_path / "a.parquet"
    pd.DataFrame({"note": notes}).to_parquet(path, index=False)
    findings = scan_path(path)
    assert [(f.location, f.kind, f.value) for f in findings] == [
        ("row 8, column 'note'", "mobile", "137****5678")]


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_clean_files_of_each_type_pass(tmp_path, kind):
    path, _ = write_planted(tmp_path, kind)
    # rewrite the same structure without the planted value
    text = path.read_bytes()
    if kind == "parquet":
        pd.DataFrame({"token": pseudonymize(pd.Series(["a"]), "c", bytes(32)),
                      "order_id": ["O20240105000123"], "amount": [13800.5],
                      "big": [20240105123456]}).to_parquet(path, index=False)
    elif kind == "ipynb":
        notebook = planted_notebook()
        notebook["cells"] = notebook["cells"][:1]
        path.write_text(json.dumps(notebook), encoding="utf-8")
    else:
        cleaned = (text.decode("utf-8").replace(MOBILE, "[手机号]").replace(ID_X, "[身份证号]")
                   .replace(ID, "[身份证号]").replace("li.na&#64;example.cn", "[邮箱]")
                   .replace(EMAIL, "[邮箱]"))
        path.write_text(cleaned, encoding="utf-8")
    assert scan_path(path) == []


def test_folders_are_scanned_recursively_and_assert_clean_raises(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    write_planted(tmp_path / "sub" / "deeper", "json")
    write_planted(tmp_path / "sub", "txt")
    (tmp_path / "clean.md").write_text(CLEAN_TEXT, encoding="utf-8")
    findings = scan_path(tmp_path)
    assert kinds(findings) == ["email", "mobile"]
    with pytest.raises(LeakError) as info:
        assert_clean([tmp_path])
    message = str(info.value)
    assert "a.json" in message and "a.txt" in message and "139****5678" in message
    assert MOBILE not in message and EMAIL not in message
    assert_clean([tmp_path / "clean.md"])


def test_cli_scan_exit_codes(tmp_path, capsys):
    clean = tmp_path / "clean.txt"
    clean.write_text(CLEAN_TEXT, encoding="utf-8")
    assert main(["scan", str(clean)]) == 0
    leaky, _ = write_planted(tmp_path, "txt")
    assert main(["scan", str(clean), str(leaky)]) == 1
    out = capsys.readouterr().out
    assert "139****5678" in out and MOBILE not in out
    assert main(["scan", str(tmp_path / "missing")]) == 2


def test_png_text_chunks_svg_text_and_split_markup_are_scanned(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    png = tmp_path / "fig.png"
    fig.savefig(png, metadata={"Title": "chart", "Author": f"wx：{MOBILE}",
                               "Description": f"mail li.na[at]example.cn, id {ID}"})
    svg = tmp_path / "fig.svg"
    ax.set_title(f"tel {MOBILE}")
    fig.savefig(svg, metadata={"Title": "clean"})
    plt.close(fig)
    svg.write_text(svg.read_text(encoding="utf-8").replace(
        "</svg>", f"<text>{EMAIL}</text></svg>"), encoding="utf-8")
    assert kinds(scan_path(png)) == ["email", "id_number", "mobile"]
    assert {f.location for f in scan_path(png)} >= {"PNG text chunk 'Author', line 1"}
    assert "email" in kinds(scan_path(svg))
    html = tmp_path / "a.html"
    html.write_text("<td>139<b>1234</b>5678</td><p title='li.na&#64;example.cn'>x</p>",
                    encoding="utf-8")
    assert kinds(scan_path(html)) == ["email", "mobile"]
    clean = tmp_path / "clean.png"
    fig, ax = plt.subplots()
    fig.savefig(clean)
    plt.close(fig)
    assert scan_path(clean) == []
