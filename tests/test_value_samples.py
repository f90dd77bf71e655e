"""End to end on the embedded sample targets: ingest -> gate -> valuate.

Runs once ``valuation samples`` has written data/samples/ and params/<target>.yaml exist.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from valuation.params import load_params

ROOT = Path(__file__).resolve().parents[1]
OPEN = "open issue: the BG/NBD point fit does not converge on this sample (see the valuation report)"
TARGETS = (
    "online_school",
    # bootcamp: no repeat purchase once instalments are merged into one enrolment
    pytest.param("bootcamp", marks=pytest.mark.xfail(strict=True, reason=OPEN)),
    # cert_school: exam-course stream, 236 repeat buyers of 882, Hessian not positive definite
    pytest.param("cert_school", marks=pytest.mark.xfail(strict=True, reason=OPEN)),
)


@pytest.mark.parametrize("target", TARGETS)
def test_valuate_runs_end_to_end_on_the_sample(target, tmp_path):
    yaml = ROOT / "params" / f"{target}.yaml"
    if not yaml.exists() or not (ROOT / "data" / "samples" / target).exists():
        pytest.skip(f"sample {target} not generated yet (run `valuation samples`)")
    from valuation.ingest import read_exports
    from valuation.privacy.gate import run_gate
    from valuation.value import valuate

    params = load_params(yaml)
    params = params.model_copy(update={"paths": params.paths.model_copy(
        update={"work_dir": tmp_path / "work", "output_dir": tmp_path / "out"})})
    gate = run_gate(read_exports(params), params, bytes(range(32)))
    result = valuate(gate.tables, params, replicates=10)
    bridge = result.bridge
    assert bridge["amount_cents"].iloc[:-1].sum() == bridge["amount_cents"].iloc[-1]
    gross = bridge["amount"].iloc[0]
    assert math.isfinite(result.value) and 0 < result.value < gross
    # plausible: the base is worth less than 50 years of its trailing revenue and more than 0
    revenue = result.price_checks.loc["revenue_multiple", "price"] / params.deal.revenue_multiple
    assert 0 < gross < 50 * revenue
    if params.economics.membership_fee is not None:
        assert result.streams.loc["memberships", "equity"] > 0
    json.dumps(result.to_json_dict(), allow_nan=False)
