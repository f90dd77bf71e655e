"""Coarse attributes the analysis may keep: never a full birth date or region code.

From a valid ID number: the 5-year birth-year band, sex (17th digit: odd = M, even = F),
province (the 2-digit region prefix, GB/T 2260), age band at signup and the minor flag
(under 14 at signup, PIPL Art. 28/31). From the city field: the city tier.

City tiers follow the 2023 ranking of the 新一线城市研究所 (Yicai): ``tier1`` the four
traditional first-tier cities, ``new_tier1`` its 15 new first-tier cities, ``tier2`` its 30
second-tier cities, ``other`` any other non-empty city. Chinese names (with or without
``市``) and pinyin (any case, spaces, hyphens or apostrophes) are accepted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.privacy.identifiers import full_years

PROVINCES: dict[str, str] = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门",
}
"""Province-level divisions by the first two digits of the ID number."""

AGE_BANDS: tuple[str, ...] = ("<14", "14-17", "18-24", "25-34", "35-44", "45+")
_AGE_EDGES: tuple[int, ...] = (14, 18, 25, 35, 45)
MINOR_AGE = 14

CITY_TIERS: dict[str, dict[str, str]] = {
    "tier1": {"北京": "beijing", "上海": "shanghai", "广州": "guangzhou", "深圳": "shenzhen"},
    "new_tier1": {
        "成都": "chengdu", "重庆": "chongqing", "杭州": "hangzhou", "武汉": "wuhan",
        "苏州": "suzhou", "西安": "xian", "南京": "nanjing", "长沙": "changsha",
        "天津": "tianjin", "郑州": "zhengzhou", "东莞": "dongguan", "青岛": "qingdao",
        "昆明": "kunming", "宁波": "ningbo", "合肥": "hefei",
    },
    "tier2": {
        "佛山": "foshan", "沈阳": "shenyang", "无锡": "wuxi", "济南": "jinan", "厦门": "xiamen",
        "福州": "fuzhou", "温州": "wenzhou", "哈尔滨": "haerbin", "石家庄": "shijiazhuang",
        "大连": "dalian", "南宁": "nanning", "泉州": "quanzhou", "金华": "jinhua",
        "贵阳": "guiyang", "常州": "changzhou", "长春": "changchun", "南昌": "nanchang",
        "南通": "nantong", "嘉兴": "jiaxing", "徐州": "xuzhou", "惠州": "huizhou",
        "太原": "taiyuan", "台州": "taizhou", "绍兴": "shaoxing", "保定": "baoding",
        "中山": "zhongshan", "潍坊": "weifang", "临沂": "linyi", "珠海": "zhuhai",
        "烟台": "yantai",
    },
}
"""City tier -> {Chinese name: pinyin}. Ambiguous pinyin (fuzhou, taizhou) maps to the
ranked city."""

_CITY_ALIASES: dict[str, str] = {"harbin": "haerbin", "peking": "beijing", "canton": "guangzhou"}


def _city_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for tier, cities in CITY_TIERS.items():
        for chinese, pinyin in cities.items():
            lookup[chinese] = tier
            lookup[pinyin] = tier
    for alias, pinyin in _CITY_ALIASES.items():
        lookup[alias] = lookup[pinyin]
    return lookup


_CITY_TIER_OF = _city_lookup()


def normalize_city_series(cities: pd.Series) -> pd.Series:
    """Lookup form of city names: NFKC, trimmed, lower case, no spaces/hyphens/apostrophes,
    trailing 市 or "city" removed; NA when empty."""
    text = cities.astype("string").str.normalize("NFKC").str.strip().str.lower()
    text = text.str.replace(r"[\s\-'’_]", "", regex=True)
    text = text.str.replace(r"(市|city)$", "", regex=True)
    return text.mask(text == "")


def city_tier(cities: pd.Series) -> pd.Series:
    """The tier of each city: ``tier1``, ``new_tier1``, ``tier2``, ``other``; NA when empty.

    Examples
    --------
    >>> city_tier(pd.Series(["北京市", "Xi'an", "chengdu", "绵阳", None])).tolist()
    ['tier1', 'new_tier1', 'new_tier1', 'other', <NA>]
    """
    key = normalize_city_series(cities)
    tier = key.map(_CITY_TIER_OF).astype("string")
    return tier.mask(key.notna() & tier.isna(), "other")


def birth_year_band(years: pd.Series, width: int = 5) -> pd.Series:
    """Birth years as bands aligned on multiples of ``width``: 1993 -> ``"1990-1994"``."""
    years = pd.Series(years, dtype="Int64")
    start = (years // width) * width
    band = start.astype("string") + "-" + (start + width - 1).astype("string")
    return band.astype("string")


def sex_from_id(id_numbers: pd.Series) -> pd.Series:
    """``M`` when the 17th character (sequence code) is odd, ``F`` when even; NA otherwise."""
    digit = pd.to_numeric(id_numbers.astype("string").str[16], errors="coerce")
    sex = pd.Series(pd.NA, index=id_numbers.index, dtype="string")
    sex[digit % 2 == 1] = "M"
    sex[digit % 2 == 0] = "F"
    return sex


def province_from_id(id_numbers: pd.Series) -> pd.Series:
    """The province of the ID number's region prefix (first two digits); NA if unknown."""
    return id_numbers.astype("string").str[:2].map(PROVINCES).astype("string")


def age_in_years(birth_dates: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years between ``birth_dates`` and ``on`` (Int64; NA if either is NA)."""
    return full_years(pd.to_datetime(birth_dates), pd.to_datetime(on))


def age_band(ages: pd.Series) -> pd.Series:
    """Age bands ``<14``, ``14-17``, ``18-24``, ``25-34``, ``35-44``, ``45+``; NA if unknown
    or negative."""
    ages = pd.Series(ages, dtype="Int64")
    values = ages.to_numpy(dtype=float, na_value=np.nan)
    position = np.searchsorted(np.asarray(_AGE_EDGES), values, side="right")
    labels = np.asarray(AGE_BANDS, dtype=object)[np.minimum(position, len(AGE_BANDS) - 1)]
    band = pd.Series(labels, index=ages.index, dtype="string")
    return band.mask(~(values >= 0))


def is_minor(ages: pd.Series) -> pd.Series:
    """True under 14 (PIPL: a minor's data needs guardian consent); NA when the age is unknown."""
    ages = pd.Series(ages, dtype="Int64")
    return ((ages >= 0) & (ages < MINOR_AGE)).astype("boolean").mask(ages.isna() | (ages < 0))


def derive_attributes(
    id_numbers: pd.Series,
    id_valid: pd.Series,
    birth_dates: pd.Series,
    signup_dates: pd.Series,
) -> pd.DataFrame:
    """The coarse attributes of each customer from a normalised, checked ID number.

    Parameters
    ----------
    id_numbers : pd.Series
        Normalised 18-character ID numbers.
    id_valid : pd.Series of bool
        Which of them are valid; attributes are NA for the others.
    birth_dates : pd.Series of datetime64
        Birth dates read from the ID numbers (secure zone only; not returned).
    signup_dates : pd.Series of datetime64
        Signup dates; age band and minor flag are NA where it is missing.

    Returns
    -------
    pd.DataFrame
        ``birth_year_band``, ``sex``, ``province``, ``age_band`` (string) and ``minor``
        (boolean), indexed like ``id_numbers``.
    """
    valid = pd.Series(id_valid, index=id_numbers.index).fillna(False).astype(bool)
    ids = id_numbers.astype("string").where(valid)
    birth = pd.to_datetime(birth_dates).where(valid)
    ages = age_in_years(birth, signup_dates)
    return pd.DataFrame(
        {
            "birth_year_band": birth_year_band(birth.dt.year.astype("Int64")),
            "sex": sex_from_id(ids),
            "province": province_from_id(ids),
            "age_band": age_band(ages),
            "minor": is_minor(ages),
        },
        index=id_numbers.index,
    )
