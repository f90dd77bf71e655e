"""nbval (``--nbval-lax``) over every notebook in notebooks/, on a target of this test's own.

The notebooks name their target with the ``VALUATION_PARAMS`` environment variable (default:
the online_school sample). Each notebook runs in its own pytest subprocess, so nbval's kernel
and temporary files never collide with other xdist workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from _brief_fixtures import write_target

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return write_target(tmp_path_factory.mktemp("nbval"), "nb_school", replicates=10)


def test_every_stage_has_a_notebook():
    names = {p.name for p in NOTEBOOKS}
    assert {"brief.ipynb", "01_data_review.ipynb", "02_activity.ipynb", "03_churn.ipynb",
            "04_clv_valuation.ipynb"} <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, notebook.name
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "params_path: str" in tagged[0].source


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_nbval(notebook, target, tmp_path):
    env = {**os.environ, "VALUATION_PARAMS": str(target), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:xdist",
         "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), str(notebook)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
    # nbval must not have written outputs back into the committed notebook
    assert all(c.get("outputs", []) == [] for c in json.loads(notebook.read_text())["cells"]
               if c["cell_type"] == "code")


EXPLORATION = [p for p in NOTEBOOKS if p.name != "brief.ipynb"]
FIGURE_FUNCTIONS = ("activity_panel", "cohort_heatmap", "km_curves", "hazard_forest",
                    "value_range", "tornado", "value_bridge", "tracking_plot", "clv_by_tier")


@pytest.mark.parametrize("notebook", EXPLORATION, ids=lambda p: p.stem)
def test_exploration_notebook_says_what_it_shows_and_what_to_change(notebook):
    nb = nbformat.read(notebook, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert "What it shows" in first.source and "To explore" in first.source
    assert "params_path" in first.source  # the parameter to change


@pytest.mark.parametrize("notebook", EXPLORATION, ids=lambda p: p.stem)
def test_every_figure_is_displayed_and_numbers_are_formatted(notebook):
    import re

    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for call in re.finditer(r"plots\.(\w+)\(", code):
        if call.group(1) in FIGURE_FUNCTIONS:  # every figure goes through plots.show
            assert code[max(0, call.start() - 11):call.start()] == "plots.show(", \
                (notebook.name, code[call.start():call.start() + 60])
    assert "display.float_format" in code  # 1,828,533.00, never 1.828533e+06
