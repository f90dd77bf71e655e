"""Published tables: index hidden, money and shares formatted, labels translated, small cells
suppressed and the suppression stated (no notebook run: fast)."""

from __future__ import annotations

import pandas as pd
import pytest

from valuation.report import text as T
from valuation.report.tables import publish_table


def _cohorts() -> pd.DataFrame:
    return pd.DataFrame({"cohort": ["all", "transferable", "transferable_contactable"],
                         "customers": [120, 3, 117], "share": [1.0, 0.025, 0.975],
                         "equity": [1_234_567.4, 2_500.0, -17_879.0]},
                        index=[7, 8, 9])


def test_small_cells_are_suppressed_and_the_suppression_is_stated():
    shown = publish_table(_cohorts(), lang="en", k=5, count="customers", shares=["share"],
                          money=["equity"], labels={"cohort": "cohort"})
    html = shown.to_html()
    assert "&lt;5" in html  # the planted cell of 3 customers
    assert ">3<" not in html and "2.5%" not in html and "2,500" not in html
    # complementary suppression: a total (120) would otherwise reveal the small cell
    assert "117" not in html and "97.5%" not in html
    assert "fewer than 5 customers are suppressed" in shown.note
    assert html.endswith("</em></p>") and "fewer than 5 customers are suppressed" in html
    assert shown.data["customers"].isna().sum() == 2  # results.json gets the suppressed table


def test_index_is_hidden_and_numbers_read_like_a_deal_document():
    frame = _cohorts().assign(customers=[120, 60, 57])
    shown = publish_table(frame, lang="zh", k=5, count="customers", shares=["share"],
                          money=["equity"], labels={"cohort": "cohort"})
    html = shown.to_html()
    assert "row_heading" not in html and ">7<" not in html  # no DataFrame index
    assert "¥123.46万" in html and "−¥1.79万" in html and "97.5%" in html  # 万 in Chinese
    assert "已同意转让且可联系" in html and "客户数" in html  # labels and headers in Chinese
    assert "transferable_contactable" not in html
    assert shown.note == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_review_check_has_a_label_in_both_languages(lang):
    from valuation.quality.checks import CHECKS

    for check in CHECKS:
        assert check.name in T.LABELS["check"][lang], check.name


def test_unknown_identifiers_fall_back_to_the_stage_label_then_to_readable_text():
    assert T.label("zh", "bridge", "new_step", default="New step") == "New step"
    assert T.label("en", "risk", "brand_new_risk") == "brand new risk"
    assert T.covariate_label("en", "channel[offline]", {"channel": "search"}) == \
        "Channel: offline (vs search)"
    assert T.covariate_label("zh", "channel[offline]") == "渠道：线下"
