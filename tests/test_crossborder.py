"""Cross-border route: each threshold of the 2024 CAC Provisions just below, at and just
above; the handover refuses a foreign destination without the route's reference."""

from __future__ import annotations

import json
import os

import pytest

from test_handover import _params
from valuation.crossborder import THRESHOLDS, classify
from valuation.errors import HandoverError
from valuation.handover import build_handover


@pytest.mark.parametrize("people, sensitive, route", [
    (99_999, 0, "exempt"),  # just below 100,000
    (100_000, 0, "standard_contract"),  # at: 10万人以上 includes the number
    (100_001, 0, "standard_contract"),
    (999_999, 0, "standard_contract"),  # just below 1,000,000
    (1_000_000, 0, "security_assessment"),  # at: 100万人以上
    (1_000_001, 0, "security_assessment"),
    (50_000, 1, "standard_contract"),  # any sensitive PI leaves the exemption
    (50_000, 9_999, "standard_contract"),  # just below 10,000 sensitive
    (50_000, 10_000, "security_assessment"),  # at: 1万人以上
    (50_000, 10_001, "security_assessment"),
    (1, 0, "exempt"),
    (0, 0, "exempt"),
])
def test_thresholds_at_each_boundary(people, sensitive, route):
    assert classify(people, sensitive).route == route


def test_mainland_needs_no_route_and_cii_always_assessment():
    assert classify(2_000_000, 50_000, outside=False).route == "none"
    assert classify(10, 0, cii=True).route == "security_assessment"
    assert THRESHOLDS["exempt_below_people"] == 100_000
    with pytest.raises(ValueError):
        classify(5, 6)


def _outside(tmp_path, **update):
    params = _params(tmp_path)
    handover = params.handover.model_copy(update={"destination": "outside", **update})
    return params.model_copy(update={"handover": handover})


def test_foreign_destination_refused_without_reference(tmp_path):
    params = _outside(tmp_path)
    with pytest.raises(HandoverError, match="cross_border_route_ref is not set") as info:
        build_handover(params, os.urandom(32))
    assert "lead time" in str(info.value)
    assert not (tmp_path / "handover" / "bootcamp").exists()


def test_checklist_states_route_counts_and_lead_time(tmp_path):
    params = _outside(tmp_path, cross_border_route_ref="SC-2026-0042",
                      prior_people_this_year=99_000)
    result = build_handover(params, os.urandom(32))
    checklist = json.loads((result.bag / "handover-checklist.json").read_text("utf-8"))
    route = checklist["cross_border"]
    assert route["people"] == result.counts["customers"] + 99_000
    assert route["reference"] == "SC-2026-0042"
    expected = classify(route["people"], route["sensitive_people"]).route
    assert route["route"] == expected and route["lead_time"]
    assert route["sensitive_people"] > 0  # ID numbers count as sensitive by default
    markdown = (result.bag / "handover-checklist.md").read_text("utf-8")
    assert "Cross-border route" in markdown and "SC-2026-0042" in markdown
    plain = _outside(tmp_path / "b", cross_border_route_ref="x", id_numbers_sensitive=False)
    assert build_handover(plain, os.urandom(32)).cross_border["sensitive_people"] < \
        route["sensitive_people"]
