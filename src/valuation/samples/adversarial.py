"""An adversarial target: a sample edited the way real exports look, identifiers planted.

``valuation samples --adversarial [--out FOLDER]`` writes a small online school (600
customers by default, from the online_school generator) whose exports carry identifiers in
every spelling the detector knows and in every place a seller's export puts them:

* **channel** values naming a referrer who is a customer (frequent enough not to be rare,
  so only name replacement removes it) and, in rare values, a referrer's name with a
  full-width phone, a phone with dots, HTML with an event handler and a glued ``wx`` phone;
* **city** values with a phone in Unicode minus signs, an e-mail with ``[at]`` and a name;
* **course** values with a mentor's WeChat ID and a QQ number;
* **category** values naming a mentor who is a customer (on many orders) and one with a
  ``0086`` phone; an **order number** holding a phone;
* **feedback** text with every spelling: full-width digits, dots, dashes and minus signs,
  zero-width characters, soft hyphens, glued labels (wx, tel, 微信, 手机), ``+86`` /
  ``0086`` / ``(+86)`` prefixes, Chinese numerals, ID numbers split by spaces or dashes with
  a lower-case ``x``, full-width and legacy 15-digit IDs, e-mails with a Chinese domain or
  local part and the ``[at]`` / ``(at)`` / ``【at】`` / `` at `` / ``dot`` spellings, labelled
  QQ numbers and WeChat IDs, and other customers' names.

Beside the exports: ``planted.json`` (the ground truth: every planted value, its kind,
canonical form, file, row and column), ``adversarial.yaml`` (params whose work and output
folders lie inside the target folder) and ``display_names.json`` (params display names
carrying identifiers or a customer's name, each of which params validation or the gate must
refuse). Nothing here identifies a real person: every number is drawn from a seeded RNG.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from valuation.fileio import write_text_atomic
from valuation.samples.writer import DEFAULT_SEED, write_samples

SOURCE_TARGET = "online_school"
FILES = {"customers": "customers.csv", "orders": "orders.csv", "activity": "activity.csv",
         "feedback": "feedback.csv"}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
_CN = str.maketrans("0123456789", "零一二三四五六七八九")

MOBILE_SPELLINGS: dict[str, str] = {
    "full_width": "{fw}", "dots": "{a}.{b}.{c}", "minus_sign": "{a}\u2212{b}\u2212{c}",
    "en_dash": "{a}\u2013{b}\u2013{c}", "zero_width": "{a}\u200b{b}\u200c{c}",
    "soft_hyphen": "{a}\u00ad{b}\u00ad{c}", "word_joiner": "{a}\u2060{b}{c}",  # U+FEFF inside data is refused at ingest
    "nbsp": "{a}\u00a0{b}\u00a0{c}", "ideographic_space": "{a}\u3000{b}\u3000{c}",
    "glued_wx": "wx{n}", "glued_tel": "tel{n}", "glued_wechat_label": "微信{n}",
    "glued_mobile_label": "手机{a}-{b}-{c}", "plus86_spaces": "+86 {a} {b} {c}",
    "0086_dash": "0086-{n}", "bracket_plus86": "(+86){a}-{b}-{c}",
    "fullwidth_bracket_plus86": "（＋８６）{fw}", "chinese_numerals": "{cn}",
    "digits_spaced": "{sp}",
}
ID_SPELLINGS: dict[str, str] = {
    "split_6_8_4_lower_x": "{p1} {p2} {p3}", "split_4s": "{q}", "dashes": "{p1}-{p2}-{p3}",
    "full_width": "{fw}", "zero_width": "{p1}\u200b{p2}\u200b{p3}", "legacy_15": "{legacy}",
}
EMAIL_SPELLINGS: dict[str, str] = {
    "chinese_domain": "{u}@例子.中国", "chinese_local": "{cn_local}@qq.com",
    "bracket_at": "{u}[at]163.com", "paren_at_dot": "{u}(at)qq(dot)com",
    "spaced_at_dot": "{u} at 126 dot com", "cjk_bracket_at": "{u}【at】foxmail.com",
    "full_width_at": "{u}＠sina.com", "bracket_dot": "{u}@gmail[dot]com",
}


def _id_check(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


class _Planter:
    """Draws fresh identifiers and records every planted value (the ground truth)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.planted: list[dict] = []
        self.used: set[str] = set()

    def mobile(self) -> str:
        while True:
            prefix = str(self.rng.choice(["139", "186", "158", "177", "135", "150", "199"]))
            rest = "".join(str(d) for d in self.rng.integers(0, 10, 8))
            if len(set(rest)) > 2 and prefix + rest not in self.used:
                self.used.add(prefix + rest)
                return prefix + rest

    def id_number(self, *, with_x: bool = False) -> str:
        while True:
            region = str(self.rng.choice(["110105", "310104", "440106", "510107", "330106"]))
            birth = f"{self.rng.integers(1975, 2004)}{self.rng.integers(1, 13):02d}" \
                    f"{self.rng.integers(1, 29):02d}"
            first17 = region + birth + f"{self.rng.integers(0, 1000):03d}"
            number = first17 + _id_check(first17)
            if number.endswith("X") == with_x and number not in self.used:
                self.used.add(number)
                return number

    def record(self, kind: str, spelling: str, planted: str, canonical: str, file: str,
               column: str, row: int, place: str) -> None:
        self.planted.append({"kind": kind, "spelling": spelling, "planted": planted,
                             "canonical": canonical, "file": file, "column": column,
                             "row": row, "place": place})

    def spell_mobile(self, spelling: str, number: str) -> str:
        a, b, c = number[:3], number[3:7], number[7:]
        return MOBILE_SPELLINGS[spelling].format(
            n=number, a=a, b=b, c=c, fw=number.translate(_FULL), cn=number.translate(_CN),
            sp=" ".join(number))

    def spell_id(self, spelling: str, number: str) -> tuple[str, str]:
        if spelling == "legacy_15":
            legacy = number[:6] + number[8:17]
            return legacy, legacy
        written = number[:-1] + "x" if number.endswith("X") else number
        text = ID_SPELLINGS[spelling].format(
            p1=written[:6], p2=written[6:14], p3=written[14:],
            q=" ".join(written[i:i + 4] for i in range(0, 18, 4)),
            fw=written.translate(_FULL))
        return text, number


def _csv_row(index: int) -> int:
    return index + 2  # 1-based, after the header


def _plant(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> list[dict]:
    p = _Planter(rng)
    customers, orders, feedback = tables["customers"], tables["orders"], tables["feedback"]
    names = customers["Full Name"]
    three = [i for i, n in enumerate(names) if isinstance(n, str) and len(n) == 3]
    referrer, referrer2, mentor, city_name = (names[three[k]] for k in (3, 7, 11, 15))
    others = [names[three[k]] for k in (19, 23, 27, 31)]

    # channel: a frequent referral value naming a customer (not rare: name replacement)
    for i in range(40, 48):
        customers.loc[i, "Channel"] = f"老学员推荐-{referrer}"
        p.record("name", "referrer_in_frequent_channel", referrer, referrer, "customers.csv",
                 "Channel", _csv_row(i), "channel")
    number = p.mobile()
    text = p.spell_mobile("full_width", number)
    customers.loc[50, "Channel"] = f"{referrer2}介绍 ｔｅｌ：{text}"
    p.record("name", "referrer_in_rare_channel", referrer2, referrer2, "customers.csv",
             "Channel", _csv_row(50), "channel")
    p.record("mobile", "full_width", text, number, "customers.csv", "Channel", _csv_row(50),
             "channel")
    for row, spelling in ((51, "dots"), (52, "glued_wx")):
        number = p.mobile()
        text = p.spell_mobile(spelling, number)
        value = (f'<img src=x onerror="alert(1)">{text}' if spelling == "glued_wx"
                 else f"朋友圈 {text}")
        customers.loc[row, "Channel"] = value
        p.record("mobile", spelling, text, number, "customers.csv", "Channel", _csv_row(row),
                 "channel")

    # city
    number = p.mobile()
    text = p.spell_mobile("minus_sign", number)
    customers.loc[60, "City"] = f"上海 {text}"
    p.record("mobile", "minus_sign", text, number, "customers.csv", "City", _csv_row(60), "city")
    customers.loc[61, "City"] = "北京 li.na.city[at]163.com"
    p.record("email", "bracket_at", "li.na.city[at]163.com", "li.na.city@163.com",
             "customers.csv", "City", _csv_row(61), "city")
    customers.loc[62, "City"] = f"杭州（{city_name}）"
    p.record("name", "name_in_city", city_name, city_name, "customers.csv", "City",
             _csv_row(62), "city")

    # course and category
    orders.loc[10, "Course Name"] = f"{orders.loc[10, 'Course Name']} 导师微信号：mentor_wx2020"
    p.record("wechat", "labelled", "mentor_wx2020", "mentor_wx2020", "orders.csv",
             "Course Name", _csv_row(10), "course")
    orders.loc[11, "Course Name"] = f"{orders.loc[11, 'Course Name']} 答疑QQ：28471937"
    p.record("qq", "labelled", "28471937", "28471937", "orders.csv", "Course Name",
             _csv_row(11), "course")
    data_rows = orders.index[orders["Category"] == "data"]
    orders.loc[data_rows, "Category"] = f"data（导师{mentor}）"
    for row in data_rows[:3]:
        p.record("name", "mentor_in_frequent_category", mentor, mentor, "orders.csv",
                 "Category", _csv_row(row), "category")
    number = p.mobile()
    text = p.spell_mobile("0086_dash", number)
    orders.loc[12, "Category"] = f"cloud 联系 {text}"
    p.record("mobile", "0086_dash", text, number, "orders.csv", "Category", _csv_row(12),
             "category")
    number = p.mobile()
    orders.loc[13, "Order No"] = f"OS-{number}"
    p.record("mobile", "in_order_number", number, number, "orders.csv", "Order No",
             _csv_row(13), "order number")

    # feedback: every spelling, one a row, with other customers' names
    row = 0
    for spelling in MOBILE_SPELLINGS:
        number = p.mobile()
        text = p.spell_mobile(spelling, number)
        feedback.loc[row, "Comment"] = f"课程不错，有问题联系我{text}，谢谢"
        p.record("mobile", spelling, text, number, "feedback.csv", "Comment", _csv_row(row),
                 "feedback")
        row += 1
    for spelling in ID_SPELLINGS:
        number = p.id_number(with_x=spelling in ("split_6_8_4_lower_x", "split_4s"))
        text, canonical = p.spell_id(spelling, number)
        feedback.loc[row, "Comment"] = f"发票抬头用身份证 {text} 开"
        p.record("id_number", spelling, text, canonical, "feedback.csv", "Comment",
                 _csv_row(row), "feedback")
        row += 1
    for k, spelling in enumerate(EMAIL_SPELLINGS):
        user = f"student{k}.fb"
        text = EMAIL_SPELLINGS[spelling].format(u=user, cn_local=f"学员{k}号")
        local = f"学员{k}号" if spelling == "chinese_local" else user
        domain = {"chinese_domain": "例子.中国", "bracket_at": "163.com",
                  "paren_at_dot": "qq.com", "spaced_at_dot": "126.com",
                  "cjk_bracket_at": "foxmail.com", "full_width_at": "sina.com",
                  "bracket_dot": "gmail.com", "chinese_local": "qq.com"}[spelling]
        feedback.loc[row, "Comment"] = f"资料请发我邮箱 {text} 谢谢"
        p.record("email", spelling, text, f"{local}@{domain}".lower(), "feedback.csv",
                 "Comment", _csv_row(row), "feedback")
        row += 1
    for text, kind, value in (("QQ：39481726", "qq", "39481726"),
                              ("扣扣 58392017", "qq", "58392017"),
                              ("微信号：study_buddy88", "wechat", "study_buddy88"),
                              ("wx: lina-2020x", "wechat", "lina-2020x")):
        feedback.loc[row, "Comment"] = f"加我 {text} 一起学习"
        p.record(kind, "labelled", text, value, "feedback.csv", "Comment", _csv_row(row),
                 "feedback")
        row += 1
    for name in others:
        feedback.loc[row, "Comment"] = f"{name}同学帮了我很多"
        p.record("name", "other_customer_in_feedback", name, name, "feedback.csv", "Comment",
                 _csv_row(row), "feedback")
        row += 1
    return p.planted


def display_names(rng_customer_name: str) -> list[dict]:
    """Params display names that must be refused (an identifier, or a customer's name)."""
    return [
        {"name": "码上学 wx：１３９ 8765 4321", "refused_by": "params", "kind": "mobile"},
        {"name": "码上学 contact boss[at]mashang.cn", "refused_by": "params", "kind": "email"},
        {"name": "码上学 QQ 19384756", "refused_by": "params", "kind": "qq"},
        {"name": f"码上学（{rng_customer_name}的学校）", "refused_by": "gate", "kind": "name"},
    ]


def _params_yaml() -> str:
    return """# Adversarial target (written by `valuation samples --adversarial`): identifiers planted
# in every spelling and place of issue 13; see planted.json. Work and outputs stay here.
target: adversarial
name: "Adversarial online school (test)"
as_of: 2025-06-30
calibration_end: 2024-12-31
time_unit: W
data:
  files:
    customers: exports/customers.csv
    orders: exports/orders.csv
    activity: exports/activity.csv
    feedback: exports/feedback.csv
  encoding: utf-8
economics:
  gross_margin: 0.65
  annual_discount_rate: 0.12
  horizon_years: 5
deal:
  side: buyer
  asking_price: 2000000
privacy:
  operator: analyst
  assessment_ref: "PIA-ADVERSARIAL-001"
paths:
  work_dir: work/adversarial
  output_dir: outputs/adversarial
report:
  lang: en
  formats: [html, ipynb, json]
"""


def write_adversarial(folder: str | Path, *, seed: int = DEFAULT_SEED,
                      customers: int = 600) -> Path:
    """Write the adversarial target into ``folder`` (created; existing exports replaced).

    Parameters
    ----------
    folder : str or Path
        The target folder: ``exports/``, ``planted.json``, ``display_names.json`` and
        ``adversarial.yaml`` are written there.
    seed : int
        Seed of the sample generator and of the planted identifiers.
    customers : int
        Natural customers of the underlying online school (at least 200).

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        (source,) = write_samples(tmp, seed=seed, targets=[SOURCE_TARGET], customers=customers,
                                  fmt="csv")
        tables = {t: pd.read_csv(source / f, dtype=str, keep_default_na=False, encoding="utf-8")
                  for t, f in FILES.items()}
    planted = _plant(tables, np.random.default_rng(seed))
    for table, name in FILES.items():
        write_text_atomic(exports / name, tables[table].to_csv(index=False, lineterminator="\n"))
    truth = {"target": "adversarial", "seed": seed, "customers": customers,
             "planted": planted,
             "counts": {k: sum(1 for p in planted if p["kind"] == k)
                        for k in sorted({p["kind"] for p in planted})}}
    write_text_atomic(folder / "planted.json", json.dumps(truth, ensure_ascii=False, indent=1))
    name = next(p["planted"] for p in planted if p["kind"] == "name")
    write_text_atomic(folder / "display_names.json",
                      json.dumps(display_names(name), ensure_ascii=False, indent=1))
    write_text_atomic(folder / "adversarial.yaml", _params_yaml())
    return folder
