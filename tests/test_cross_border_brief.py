"""The brief states the cross-border route of the transfer from the counts of the handover's
scope (issue 19 item 3): people in the package, people with sensitive information."""

from __future__ import annotations

import pandas as pd
import pytest

from test_value_fixtures import make_params
from valuation.plots import PlotStyle
from valuation.report.sections import BriefContext, DatasetScope, cross_border_line

COHORTS = pd.DataFrame({"cohort": ["transferable"], "customers": [0], "share": [0.0]})


def _scope(people: int, sensitive: int) -> DatasetScope:
    return DatasetScope(customers=people, orders=0, events=0, feedback=0, first=None,
                        last=None, cohorts=COHORTS, minors=0, minors_without_guardian=0,
                        transfer_people=people, transfer_sensitive_people=sensitive)


def _ctx(lang: str = "en", **handover) -> BriefContext:
    params = make_params(**{f"handover__{k}": v for k, v in handover.items()})
    return BriefContext(params=params, lang=lang, style=PlotStyle())


@pytest.mark.parametrize("people, sensitive, route", [
    (99_999, 0, "exempt"), (100_000, 0, "standard_contract"), (99_999, 1, "standard_contract"),
    (999_999, 9_999, "standard_contract"), (1_000_000, 0, "security_assessment"),
    (20_000, 10_000, "security_assessment"),
])
def test_the_brief_states_the_route_its_counts_require(people, sensitive, route):
    ctx = _ctx(destination="outside")
    line = cross_border_line(ctx, _scope(people, sensitive))
    block = ctx.blocks["cross_border"]
    assert (block["route"], block["people"], block["sensitive_people"]) == (route, people,
                                                                            sensitive)
    assert f"{people:,}" in line and "lead time" in line
    assert "not recorded" in line and block["route_ref_recorded"] is False


def test_a_mainland_destination_needs_no_route_and_zh_reads_chinese():
    ctx = _ctx(destination="mainland")
    assert "no cross-border route" in cross_border_line(ctx, _scope(2_000_000, 50_000))
    assert ctx.blocks["cross_border"]["route"] == "none"
    zh = _ctx("zh", destination="outside", cross_border_route_ref="SC-2026-001")
    line = cross_border_line(zh, _scope(150_000, 0))
    assert "标准合同" in line and "SC" in line and "2026" in line and "lead" not in line
