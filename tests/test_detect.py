"""The one identifier detector: every spelling found (property-based), mapped back to the
original characters, and ordinary numbers (prices, dates, order numbers, amounts) left alone."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from valuation.privacy.detect import detect, id_check_char
from valuation.privacy.masking import mask_text
from valuation.privacy.normalize import normalize
from valuation.privacy.redact import redact_identifiers

SETTINGS = settings(derandomize=True, max_examples=150, deadline=None)
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u00ad"]
DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\ufe63",
          "\uff0d"]
SEPARATORS = ["", " ", " - ", ".", "-", "/", ") ", "\u3000", "\u00a0", *DASHES[1:]]
PREFIXES = ["", "+86", "+86 ", "0086", "0086-", "86", "(+86)", "（+86）", "+86-", "＋８６ "]
LABELS = ["", "微信", "微信：", "wx", "vx", "VX:", "tel", "tel:", "Tel.", "电话", "电话：",
          "手机", "手机号:", "联系", "call ", "mobile:", "加我 "]
AFTER = ["", "，谢谢", " 谢谢", "。", " (wx同号)", "、", ";"]
CN_NUMERALS = dict(zip("0123456789", "零一二三四五六七八九"))

mobiles = st.builds(
    lambda p, rest: p + rest,
    st.sampled_from(["130", "135", "139", "150", "158", "166", "177", "186", "188", "199",
                     "145", "172"]),
    st.text("0123456789", min_size=8, max_size=8),
).filter(lambda m: len(set(m[3:])) > 1)


@st.composite
def spelled(draw, digits: str, groups: list[int]):
    """``digits`` written in a random real-world style."""
    sep = draw(st.sampled_from(SEPARATORS))
    chunks, i = [], 0
    for size in groups:
        chunks.append(digits[i:i + size])
        i += size
    text = sep.join(chunks)
    if draw(st.booleans()):
        text = "".join(FULL_WIDTH.get(c, c) for c in text)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(1, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(INVISIBLE)) + text[at:]
    return text


def normalised_digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", normalize(text).text)


@SETTINGS
@given(st.data(), mobiles)
def test_every_spelling_of_a_mobile_is_found_and_redacted(data, mobile):
    groups = data.draw(st.sampled_from([[11], [3, 4, 4], [3, 3, 5], [4, 4, 3], [1] * 11]))
    body = data.draw(spelled(mobile, groups))
    prefix = data.draw(st.sampled_from(PREFIXES))
    label = data.draw(st.sampled_from(LABELS))
    text = f"{data.draw(st.sampled_from(['', '您好，', 'Hi ']))}{label}{prefix}{body}" \
           f"{data.draw(st.sampled_from(AFTER))}"
    found = detect(text)
    assert [(d.kind, d.value) for d in found] == [("mobile", mobile)], text
    span = text[found[0].start:found[0].end]
    assert body in span  # mapped back to the original characters
    redacted = redact_identifiers(text)
    assert mobile not in normalised_digits(redacted) and "[手机号]" in redacted
    assert mobile not in normalised_digits(mask_text(text))


@SETTINGS
@given(mobiles)
def test_chinese_numerals_read_as_digits(mobile):
    text = "电话" + "".join(CN_NUMERALS[c] for c in mobile) + "，一起学习"
    assert [(d.kind, d.value) for d in detect(text)] == [("mobile", mobile)]
    assert redact_identifiers(text) == "电话[手机号]，一起学习"


@st.composite
def id_numbers(draw):
    region = draw(st.sampled_from(["110105", "310104", "440106", "510107", "650102"]))
    year = draw(st.integers(1940, 2015))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    seq = f"{draw(st.integers(0, 999)):03d}"
    first17 = f"{region}{year}{month:02d}{day:02d}{seq}"
    return first17 + id_check_char(first17)


@SETTINGS
@given(st.data(), id_numbers())
def test_every_spelling_of_an_id_number_is_found(data, number):
    if number.endswith("X") and data.draw(st.booleans()):
        number_written = number[:-1] + "x"
    else:
        number_written = number
    groups = data.draw(st.sampled_from([[18], [6, 8, 4], [6, 4, 4, 4], [3, 3, 4, 4, 4],
                                        [4, 4, 4, 4, 2]]))
    body = data.draw(spelled(number_written, groups))
    text = f"{data.draw(st.sampled_from(['', '身份证', '身份证号：', 'ID ']))}{body}" \
           f"{data.draw(st.sampled_from(AFTER))}"
    found = detect(text)
    assert [(d.kind, d.value, d.certain) for d in found] == [("id_number", number, True)], text
    assert number[:17] not in normalised_digits(redact_identifiers(text))


@SETTINGS
@given(id_numbers())
def test_legacy_15_digit_and_wrong_check_character_ids_are_redacted(number):
    legacy = number[:6] + number[8:17]
    assert [d.kind for d in detect(f"证件 {legacy} 号")] == ["id_number"]
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    found = detect(wrong)
    assert [(d.kind, d.certain) for d in found] == [("id_number", False)]
    assert redact_identifiers(wrong) == "[身份证号]"


LOCALS = ["zhang.wei", "li_na88", "wang-fang", "张伟", "用户名", "Zhang.Wei+edu"]
DOMAINS = [("qq", "com"), ("163", "com"), ("mail.example", "cn"), ("例子", "中国"),
           ("公司", "com"), ("pku.edu", "cn"), ("xn--fiqs8s", "cn")]
ATS = ["@", "＠", "[at]", "(at)", "【at】", " at ", " [at] ", "（at）", " AT "]
DOTS = [".", "[dot]", "(dot)", " dot ", "．"]


@SETTINGS
@given(st.sampled_from(LOCALS), st.sampled_from(DOMAINS), st.sampled_from(ATS),
       st.sampled_from(DOTS), st.sampled_from(["", "邮箱：", "email: ", "我的邮箱是 "]),
       st.sampled_from(AFTER))
def test_every_spelling_of_an_email_is_found(local, domain, at, dot, label, after):
    host, tld = domain
    text = f"{label}{local}{at}{host.replace('.', dot)}{dot}{tld}{after}"
    found = detect(text)
    expected = f"{local}@{host}.{tld}".lower()
    assert [(d.kind, d.value) for d in found] == [("email", expected)], text
    redacted = redact_identifiers(text)
    assert "[邮箱]" in redacted and local not in redacted and label in redacted


def test_labelled_qq_and_wechat_ids():
    cases = {
        "QQ：123456789": ("qq", "123456789"), "qq号 1234 5678": ("qq", "12345678"),
        "扣扣88886666": ("qq", "88886666"), "微信号：zhang_wei88": ("wechat", "zhang_wei88"),
        "wx: Li-Na_2020": ("wechat", "Li-Na_2020"), "加V：abc12345": ("wechat", "abc12345"),
        "weixin ZW\u200b_1988x": ("wechat", "ZW_1988x"),
    }
    for text, (kind, value) in cases.items():
        found = detect(text)
        assert [(d.kind, d.value.replace("\u200b", "")) for d in found] == [(kind, value)], text
    assert detect("QQ群很活跃") == [] and detect("微信支付") == []


prices = st.one_of(
    st.floats(0.01, 9_999_999, allow_nan=False).map(lambda v: f"¥{v:,.2f}"),
    st.floats(0.01, 9_999_999, allow_nan=False).map(lambda v: f"{v:.2f}元"),
    st.integers(1, 99_999_999).map(lambda v: f"价格 {v} 元"),
    st.integers(1, 99_999_999_999).map(lambda v: f"{v:,}"),
    st.integers(1, 10**12).map(lambda v: f"{v:,}".replace(",", " ")),
)
dates = st.builds(
    lambda y, m, d, h, mi, style: style.format(y=y, m=m, d=d, h=h, mi=mi),
    st.integers(1990, 2030), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["{y}-{m:02d}-{d:02d} {h:02d}:{mi:02d}:00", "{y}/{m}/{d}", "{y}.{m:02d}.{d:02d}",
                     "{y}年{m}月{d}日 {h}:{mi:02d}", "{y}{m:02d}{d:02d}{h:02d}{mi:02d}",
                     "{y}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}:00+08:00",
                     "{y}-{m:02d}-{d:02d} ~ {y}-{m:02d}-{d:02d}"]),
)
orders = st.one_of(
    st.integers(0, 10**8 - 1).map(lambda v: f"OS{v:08d}"),
    st.integers(10**15, 10**20).map(str),
    st.integers(0, 10**9).map(lambda v: f"ORD-2024-{v:09d}"),
    st.uuids().map(str),
    st.binary(min_size=16, max_size=16).map(bytes.hex),
)


@SETTINGS
@given(st.one_of(prices, dates, orders), st.one_of(prices, dates, orders))
def test_prices_dates_order_numbers_and_amounts_are_not_identifiers(a, b):
    text = f"订单 {a}，{b}"
    assert detect(text) == [], text


def test_known_false_positive_shapes_stay_out():
    for text in ["logo@2x.png", "mathjax@2.7.7", "ratio 0.13912345678", "INV-13912345678X",
                 "13 800 000 000", "看一看三个人", "2023-12-01 13:00:00", "1,391,234.56",
                 "look at the data. com", "3   15055.021857   0.013041", "aWxX0abcdef12",
                 "wxWidgets 3.2", "base64 QQ0123456789Wx1234567abc",
                 "2  transferable_contactable       1745  0.853301", "1748  1745  1234  567"]:
        assert detect(text) == [], text


def test_spans_replace_exactly_the_original_characters():
    text = "a\u200b１３８\u2013１２３４\u2013５６７８\u200b说 和 zhang【at】qq(dot)com。"
    assert redact_identifiers(text) == "a\u200b[手机号]\u200b说 和 [邮箱]。"
    assert mask_text("wx１３８ 1234 5678") == "wx138****5678"


def test_the_log_guard_refuses_every_spelling(tmp_path):
    import pytest

    from valuation.errors import LeakError
    from valuation.privacy.log import append_entry

    log = tmp_path / "t.jsonl"
    for spelled in ["exports/客户_１３９\u200b1234\u200b5678.csv", "wx139.1234.5678",
                    "li.na[at]example.cn", "110105 19491231 002x", "QQ：39481726"]:
        with pytest.raises(LeakError):
            append_entry(log, {"target": "t", "inputs": [{"path": spelled}]})
    assert not log.exists()
    append_entry(log, {"target": "t", "inputs": [{"path": "exports/orders_2024-01-05.csv"}]})
    assert log.exists()
