"""Redaction of free text."""

from __future__ import annotations

import pandas as pd

from valuation.privacy.identifiers import id_check_digit
from valuation.privacy.redact import redact_series, redact_text
from valuation.privacy.scanner import scan_text

ID = "11010519900307123" + id_check_digit("11010519900307123")


def test_identifiers_become_placeholders():
    text = f"我叫张伟明，手机 +86 139-1234-5678，身份证{ID}，邮箱 zwm@qq.com，谢谢"
    assert redact_text(text, ["张伟明"]) == (
        "我叫[姓名]，手机 [手机号]，身份证[身份证号]，邮箱 [邮箱]，谢谢"
    )


def test_redaction_is_wider_than_the_scanner():
    bad_checksum = ID[:17] + ("0" if ID[-1] != "0" else "1")
    legacy = "110105491231002"
    result = redact_text(f"证件 {bad_checksum} 旧证 {legacy} 电话13800000000")
    assert result == "证件 [身份证号] 旧证 [身份证号] 电话[手机号]"


def test_given_name_and_latin_names_are_redacted():
    assert redact_text("伟明老师好，我是张伟明", ["张伟明"]) == "[姓名]老师好，我是[姓名]"
    assert redact_text("thanks from ZHANG wei", ["Zhang Wei"]) == "thanks from [姓名]"
    assert redact_text("王 is a single character", ["王"]) == "王 is a single character"


def test_clean_text_order_numbers_and_amounts_are_untouched():
    text = "订单 O20240105000123 金额 ¥1,299.00，2024-01-05 上课，评分 5"
    assert redact_text(text) == text


def test_series_redaction_uses_each_writers_own_name():
    texts = pd.Series(["李娜说很好 13912345678", None, "李娜是我同学"])
    names = pd.Series(["李娜", "王芳", "王芳"])
    result = redact_series(texts, names)
    assert result.tolist() == ["[姓名]说很好 [手机号]", pd.NA, "李娜是我同学"]
    assert str(result.dtype) == "string"


def test_redacted_text_passes_the_scanner():
    text = f"联系 0086 13912345678 / {ID} / a.b@163.com"
    assert scan_text(text) and not scan_text(redact_text(text))
