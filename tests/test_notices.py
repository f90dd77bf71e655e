"""Customer notices: every required element, no identifier of another customer, SMS length;
returns flow into the status, the buyer's exclusions and the log (counts only)."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest

from test_handover import _params, write_identity
from valuation.errors import HandoverError
from valuation.handover import build_handover, notification_status, open_package
from valuation.notices import sms_segments
from valuation.privacy.log import log_path, verify_log
from valuation.privacy.scanner import scan_path


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notices")
    params = _params(tmp)
    handover = params.handover.model_copy(update={
        "new_owner_name": "新东方<b>教育</b>", "new_owner_contact": "400-800-1234",
        "notice_date": dt.date(2026, 1, 5), "notice_deadline_days": 30})
    params = params.model_copy(update={"handover": handover})
    result = build_handover(params, os.urandom(32))
    bag, check = open_package(result.bag, write_identity(tmp / "k"), tmp / "out")
    assert check.ok
    read = lambda name: pd.read_csv(bag / "data" / name, dtype=str, keep_default_na=False)  # noqa: E731
    return params, result, read("customers.csv"), read("notification-roster.csv"), {
        c: read(f"notices/{c}.csv") for c in ("sms", "email", "letter")}


REQUIRED = ["新东方", "400-800-1234", "第二十二条", "处理目的和处理方式不变", "重新取得您的同意",
            "学员信息", "查阅", "更正", "删除", "拒绝", "第四十四条至第四十七条",
            "2026年2月4日"]


def test_every_letter_and_email_has_every_required_element(opened):
    _, _, customers, roster, notices = opened
    assert len(notices["letter"]) == len(roster) > 0
    for text in notices["letter"]["text"]:
        missing = [r for r in REQUIRED if r not in text]
        assert not missing, missing
    assert len(notices["email"]) > 0
    for html in notices["email"]["html"]:
        assert all(r in html for r in REQUIRED)
        assert "<b>" not in html and "&lt;b&gt;" in html  # autoescaped params text


def test_no_notice_names_another_customer(opened):
    _, _, customers, roster, notices = opened
    by_token = roster.merge(customers, on="customer_id").set_index("customer_token")
    values = {t: [v for v in (r["mobile"], r["email"], r["id_number"], r["customer_id"])
                  if len(v) >= 5] for t, r in by_token.iterrows()}
    rng = pd.Series(list(values)).sample(n=min(40, len(values)), random_state=7)
    for channel, frame in notices.items():
        text_col = {"sms": "text", "email": "html", "letter": "text"}[channel]
        frame = frame.set_index("notice_ref")
        for token in rng:
            if token not in frame.index:
                continue
            own = frame.loc[token, text_col]
            others = [v for t, vs in values.items() if t != token for v in vs]
            assert not any(v in own for v in others), (channel, token)
            assert not any(v in own for v in by_token.loc[token, ["id_number"]] if v)


def test_guardians_are_addressed_for_children(opened):
    params, result, customers, roster, notices = opened
    letters = notices["letter"]
    guardian = letters["addressee"].str.endswith("的监护人")
    assert guardian.any() and (~guardian).any()
    assert letters.loc[guardian, "text"].str.contains("您的孩子").all()
    assert not letters.loc[~guardian, "text"].str.contains("您的孩子").any()


def test_sms_fits_two_segments_and_lengths_are_counted():
    assert sms_segments("好" * 70) == 1 and sms_segments("好" * 71) == 2
    assert sms_segments("好" * 134) == 2 and sms_segments("好" * 135) == 3
    assert sms_segments("😀" * 35) == 1 and sms_segments("😀" * 36) == 2  # UTF-16 pairs


def test_sms_notices_within_two_segments(opened):
    sms = opened[4]["sms"]
    assert len(sms) > 0
    assert sms["segments"].astype(int).between(1, 2).all()
    assert (sms["text"].map(sms_segments) == sms["segments"].astype(int)).all()
    assert sms["text"].str.contains("400-800-1234").all()


def test_a_too_long_owner_is_a_clear_error(tmp_path):
    params = _params(tmp_path)
    params = params.model_copy(update={"handover": params.handover.model_copy(
        update={"new_owner_name": "很长的名字" * 30})})
    with pytest.raises(HandoverError, match="two 70-character segments"):
        build_handover(params, os.urandom(32))


def test_objection_flows_into_status_exclusions_and_log(opened, tmp_path, capsys):
    params, result, _, roster, _ = opened
    tokens = list(roster["customer_token"])
    returns = tmp_path / "returns.csv"
    pd.DataFrame({"customer_ref": tokens[:5],
                  "status": ["sent", "delivered", "bounced", "objected", "objected"]}
                 ).to_csv(returns, index=False)
    log_before = log_path(params).read_text(encoding="utf-8")
    from valuation.handover import apply_returns

    counts = apply_returns(params, returns)
    assert (counts["sent"], counts["delivered"], counts["bounced"], counts["objected"]) == \
        (1, 1, 1, 2)
    assert notification_status(params) == counts
    exclusions = pd.read_csv(result.folder / "buyer-exclusions.csv", dtype=str)
    assert sorted(exclusions["customer_token"]) == sorted(tokens[3:5])
    # a later 'sent' never undoes an objection
    pd.DataFrame({"customer_ref": [tokens[3], tokens[0]], "status": ["sent", "delivered"]}
                 ).to_csv(returns, index=False)
    counts = apply_returns(params, returns)
    assert counts["objected"] == 2 and counts["delivered"] == 2 and counts["sent"] == 0
    log = log_path(params).read_text(encoding="utf-8")
    new = log[len(log_before):]
    assert '"objected_excluded_from_buyer_processing":2' in new.replace(" ", "")
    assert not any(t in new for t in tokens) and verify_log(log_path(params)).ok
    assert scan_path(log_path(params)) == []


def test_bad_returns_are_refused_with_rows_and_nothing_written(opened, tmp_path):
    params, result, _, roster, _ = opened
    before = (result.folder / "notification-status.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    from valuation.handover import apply_returns

    pd.DataFrame({"customer_ref": [roster["customer_token"][0]], "status": ["read"]}
                 ).to_csv(bad, index=False)
    with pytest.raises(HandoverError, match=r"unknown status at row\(s\) \[2\]"):
        apply_returns(params, bad)
    pd.DataFrame({"customer_ref": ["13800138000"], "status": ["sent"]}).to_csv(bad, index=False)
    with pytest.raises(HandoverError, match="not in this package") as info:
        apply_returns(params, bad)
    assert "13800138000" not in str(info.value)
    pd.DataFrame({"ref": ["x"], "status": ["sent"]}).to_csv(bad, index=False)
    with pytest.raises(HandoverError, match="missing column"):
        apply_returns(params, bad)
    assert (result.folder / "notification-status.csv").read_bytes() == before
