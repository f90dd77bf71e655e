"""ID numbers, mobiles, e-mails, coarse attributes and masking: known answers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from valuation.privacy import identifiers as ids
from valuation.privacy.attributes import (
    age_band,
    birth_year_band,
    city_tier,
    derive_attributes,
    province_from_id,
    sex_from_id,
)
from valuation.privacy.masking import mask_email, mask_id_number, mask_identifier, mask_mobile, mask_text


def make_id(first17: str) -> str:
    return first17 + ids.id_check_digit(first17)


def wrong_check(number: str) -> str:
    bad = "0" if number[-1] != "0" else "1"
    return number[:17] + bad


VALID = make_id("11010519900307123")  # Beijing, 1990-03-07, odd -> male


def test_check_digit_known_answer_from_the_standard():
    # GB 11643-1999 worked example: 11010519491231002X
    assert ids.id_check_digit("11010519491231002") == "X"
    assert ids.validate_id_number("11010519491231002X")
    assert ids.validate_id_number("11010519491231002x")  # lower-case x accepted


@pytest.mark.parametrize(
    "value, expected",
    [
        (VALID, True),
        (wrong_check(VALID), False),  # bad checksum
        (make_id("11010519900230123"), False),  # Feb 30, checksum right
        (make_id("11010520990101123"), False),  # born in the future
        (make_id("11010518500101123"), False),  # older than 120
        ("1101051990030712", False),  # 16 digits
        ("abc", False),
        (None, False),
    ],
)
def test_validate_id_number(value, expected):
    assert ids.validate_id_number(value, on=dt.date(2025, 6, 30)) is expected


def test_legacy_15_digit_numbers_are_upgraded_to_18():
    upgraded = ids.normalize_id_number("110105491231002")
    assert upgraded == "11010519491231002X"
    assert ids.validate_id_number("110105491231002")


def test_normalization_of_id_numbers():
    assert ids.normalize_id_number(" 110105 19491231 002x ") == "11010519491231002X"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in VALID)
    assert ids.normalize_id_number(full_width) == VALID
    assert ids.normalize_id_number("   ") is None


def test_check_id_series_separates_checksum_and_birth_date():
    values = pd.Series([VALID, wrong_check(VALID), make_id("11010519900230123"), None, "x1"])
    checks = ids.check_id_number_series(values, on=dt.date(2025, 6, 30))
    assert checks["present"].tolist() == [True, True, True, False, True]
    assert checks["well_formed"].tolist() == [True, True, True, False, False]
    assert checks["checksum_ok"].tolist() == [True, False, True, False, False]
    assert checks["birthdate_ok"].tolist() == [True, True, False, False, False]
    assert checks["valid"].tolist() == [True, False, False, False, False]


def test_birth_date_after_reference_date_or_too_old_is_not_ok():
    values = pd.Series([make_id("11010520200101123")] * 2)
    signup = pd.Series(pd.to_datetime(["2019-06-01", "2021-06-01"]))
    assert ids.check_id_number_series(values, on=signup)["birthdate_ok"].tolist() == [False, True]
    old = pd.Series([make_id("11010519200101123")])
    assert not ids.check_id_number_series(old, on=dt.date(2021, 1, 1), max_age=100)["valid"][0]
    assert ids.check_id_number_series(old, on=dt.date(2020, 1, 1), max_age=100)["valid"][0]


@pytest.mark.parametrize(
    "raw, normalized, valid",
    [
        ("13812345678", "13812345678", True),
        ("+86 138-1234-5678", "13812345678", True),
        ("0086 13812345678", "13812345678", True),
        ("8613812345678", "13812345678", True),
        ("１３８１２３４５６７８", "13812345678", True),
        ("(+86) 138.1234.5678", "13812345678", True),
        ("12812345678", "12812345678", False),  # 12x is not a mobile prefix
        ("1381234567", "1381234567", False),  # 10 digits
        ("010-12345678", "01012345678", False),  # a landline
        (None, None, False),
    ],
)
def test_mobile_normalization_and_validation(raw, normalized, valid):
    assert ids.normalize_mobile(raw) == normalized
    assert ids.validate_mobile(raw) is valid


@pytest.mark.parametrize(
    "number, dummy",
    [("13800000000", True), ("138 8888 8888", True), ("11111111111", True),
     ("12345678901", True), ("13900000000", True), ("13812345678", False),
     ("15987654321", False)],
)
def test_dummy_mobiles(number, dummy):
    assert ids.is_dummy_mobile(number) is dummy


@pytest.mark.parametrize(
    "raw, normalized, valid",
    [(" Zhang.Wei@Example.COM ", "zhang.wei@example.com", True),
     ("li＠qq.com", "li@qq.com", True),
     ("a.b+tag@mail.163.com", "a.b+tag@mail.163.com", True),
     ("no-at-sign.com", "no-at-sign.com", False),
     ("x@localhost", "x@localhost", False),
     ("x@@y.com", "x@@y.com", False),
     (None, None, False)],
)
def test_email_normalization_and_validation(raw, normalized, valid):
    assert ids.normalize_email(raw) == normalized
    assert ids.validate_email(raw) is valid


def test_series_versions_agree_with_scalar_versions():
    values = ["+86 139 1234 5678", "13800000000", "bad", None]
    series = pd.Series(values)
    assert ids.validate_mobile_series(series).tolist() == [ids.validate_mobile(v) for v in values]
    assert ids.is_dummy_mobile_series(series).tolist() == [ids.is_dummy_mobile(v) for v in values]


def test_coarse_attributes_from_a_valid_id():
    minor_id = make_id("44030420120515002")  # Guangdong, 2012-05-15, even -> female
    frame = derive_attributes(
        pd.Series([VALID, minor_id, wrong_check(VALID)]),
        pd.Series([True, True, False]),
        pd.Series(pd.to_datetime(["1990-03-07", "2012-05-15", "1990-03-07"])),
        pd.Series(pd.to_datetime(["2023-01-05", "2023-02-01", "2023-01-05"])),
    )
    assert frame["province"].tolist()[:2] == ["北京", "广东"]
    assert frame["sex"].tolist()[:2] == ["M", "F"]
    assert frame["birth_year_band"].tolist()[:2] == ["1990-1994", "2010-2014"]
    assert frame["age_band"].tolist()[:2] == ["25-34", "<14"]
    assert frame["minor"].tolist()[:2] == [False, True]
    assert frame.iloc[2].isna().all()  # invalid ID: nothing derived
    assert "birth_date" not in frame and "region" not in frame


def test_age_band_edges_and_birth_year_bands():
    assert age_band(pd.Series([13, 14, 17, 18, 24, 25, 34, 35, 44, 45, 90])).tolist() == [
        "<14", "14-17", "14-17", "18-24", "18-24", "25-34", "25-34", "35-44", "35-44",
        "45+", "45+"]
    assert birth_year_band(pd.Series([1989, 1990, 1994, 1995])).tolist() == [
        "1985-1989", "1990-1994", "1990-1994", "1995-1999"]
    assert province_from_id(pd.Series(["650102199001011234"])).tolist() == ["新疆"]
    assert sex_from_id(pd.Series(["11010519900307124X"])).tolist() == ["F"]


def test_city_tier_accepts_chinese_and_pinyin():
    cities = pd.Series(["上海市", "Shenzhen", "XI'AN", "chong qing", "厦门", "Harbin", "绵阳",
                        "", None])
    assert city_tier(cities).tolist() == ["tier1", "tier1", "new_tier1", "new_tier1", "tier2",
                                          "tier2", "other", pd.NA, pd.NA]


def test_masks_keep_only_a_few_characters():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_id_number("110105194912310021") == "110***********0021"
    assert mask_email("zhangwei@example.com") == "z***@example.com"
    assert mask_identifier("mobile", "+86 138-1234-5678") == "138****5678"
    text = mask_text(f"id {VALID}, tel 13912345678, mail wang@163.com")
    assert VALID not in text and "13912345678" not in text and "wang@" not in text
