"""No free text by accident: column policies, customers' names elsewhere, rare labels, and
identifiers in params text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from valuation.errors import ParamsError
from valuation.params import parse_params
from valuation.privacy.categories import (
    POLICIES,
    apply_policy,
    check_policies,
    clean_labels,
    group_rare,
    pseudonymise_keys,
)
from valuation.privacy.names import NameMatcher
from valuation.privacy.scanner import scan_text
from valuation.privacy.tokens import pseudonymize
from valuation.tables import ANALYSIS_COLUMNS

REPO = Path(__file__).resolve().parents[1]


def test_every_string_column_of_the_analysis_contract_has_a_policy():
    assert check_policies() == []
    assert set(POLICIES) <= {(t, c) for t, cols in ANALYSIS_COLUMNS.items() for c in cols}


def test_names_are_found_in_every_place_and_common_words_are_not_wiped():
    matcher = NameMatcher(["张伟明", "欧阳娜娜", "李娜", "Zhang Wei", "高兴", "May", None, ""])
    assert matcher.replace("转介绍-张伟明", "[N]") == "转介绍-[N]"
    assert matcher.replace("Python（导师李娜）", "[N]") == "Python（导师[N]）"
    assert matcher.replace("欧阳娜娜同学", "[N]") == "[N]同学"
    assert matcher.replace("ref by ZHANG  wei and zhangwei", "[N]") == "ref by [N] and [N]"
    assert matcher.replace("张\u200b伟明推荐", "[N]") == "[N]推荐"  # invisible char inside
    assert matcher.replace("很高兴认识你 in May", "[N]") == "很高兴认识你 in May"
    assert matcher.replace("Zhangwei2", "[N]") == "Zhangwei2"  # not a word on its own
    assert matcher.replace(pd.NA, "[N]") is pd.NA


def test_labels_are_redacted_then_rare_values_grouped():
    channels = pd.Series(["search"] * 6 + ["张伟明介绍 １３９１２３４５６７８"]
                         + ["老学员推荐-张伟明"] * 5 + [None])
    customers = pd.Series(range(len(channels))).astype(str)
    cleaned = clean_labels(channels, NameMatcher(["张伟明"]))
    assert cleaned.iloc[6] == "[姓名]介绍 [手机号]"
    grouped = group_rare(cleaned, customers, 5)
    assert grouped.iloc[:6].eq("search").all()
    assert grouped.iloc[6] == "other"
    assert grouped.iloc[7:12].eq("老学员推荐-[姓名]").all()
    assert pd.isna(grouped.iloc[12])
    # rarity counts distinct customers, not rows
    many_rows_one_customer = group_rare(pd.Series(["x"] * 9), pd.Series(["c1"] * 9), 5)
    assert many_rows_one_customer.eq("other").all()


def test_closed_vocabularies_and_keys_holding_an_identifier():
    key = bytes(range(32))
    frame = pd.DataFrame({
        "order_id": ["OS1", "OS-13912345678", "OS2"],
        "customer_token": ["a", "b", "c"],
        "course": ["py"] * 3, "category": ["data"] * 3,
        "payment_plan": ["full", "instalment", "wx 13912345678"],
    })
    apply_policy(frame, "orders", frame["customer_token"], k=1, names=None,
                 tokenize=lambda s: pseudonymize(s, "order_id", key))
    assert frame["payment_plan"].tolist() == ["full", "instalment", "other"]
    assert frame["order_id"].iloc[[0, 2]].tolist() == ["OS1", "OS2"]
    assert frame["order_id"].iloc[1].startswith("k") and len(frame["order_id"].iloc[1]) > 16
    assert scan_text("\n".join(frame.astype(str).to_numpy().ravel())) == []
    again = pseudonymise_keys(pd.Series(["OS-13912345678"]),
                              lambda s: pseudonymize(s, "order_id", key))
    assert again.iloc[0] == frame["order_id"].iloc[1]  # deterministic, keeps joins


def _params_raw() -> dict:
    return yaml.safe_load((REPO / "params" / "online_school.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("field, value, kind", [
    (("name",), "码上学 wx：１３９ 1234 5678", "mobile"),
    (("privacy", "operator"), "analyst li.na[at]corp.cn", "email"),
    (("privacy", "assessment_ref"), "PIA 11010519491231002x", "id_number"),
    (("privacy", "purpose"), "valuation, QQ 12345678", "qq"),
    (("handover", "new_owner_name"), "buyer 微信号：boss_2024", "wechat"),
])
def test_an_identifier_in_params_text_is_an_error_naming_the_field(field, value, kind):
    raw = _params_raw()
    node = raw
    for part in field[:-1]:
        node = node.setdefault(part, {})
    node[field[-1]] = value
    with pytest.raises(ParamsError) as info:
        parse_params(raw, source=REPO / "params" / "online_school.yaml", check_files=False)
    message = str(info.value)
    assert f"{'.'.join(field)}: holds personal data ({kind}" in message
    assert value not in message
    assert "13912345678" not in message and "11010519491231002" not in message


def test_clean_params_and_the_buyer_contact_pass():
    raw = _params_raw()
    raw.setdefault("handover", {})["new_owner_contact"] = "dpo@buyer.example.cn"
    params = parse_params(raw, source=REPO / "params" / "online_school.yaml", check_files=False)
    assert params.handover.new_owner_contact == "dpo@buyer.example.cn"
