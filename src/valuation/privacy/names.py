"""Customers' names found anywhere else: in a channel value, a course category, free text.

The gate knows every customer's name (secure zone). :class:`NameMatcher` replaces any of
them found inside another text, so a referrer's name in a channel value (``转介绍-张伟明``)
or a mentor's name in a category (``Python（李娜老师）``) never reaches the analysis zone.

Which names are looked for
--------------------------
* **Chinese names** (2 or more CJK characters, ``·`` allowed): the full name, anywhere in
  the text (Chinese has no spaces between words). Two-character names that are also
  common words (高兴, 平安, 文明 ... :data:`COMMON_WORDS`) are not looked for, so they do
  not wipe ordinary text; they are still redacted in their writer's own feedback.
* **Latin names** with two or more words (``Zhang Wei``, ``Wei ZHANG``): the words in that
  order, case-insensitively, between word boundaries; also written together
  (``ZhangWei``) when that is 6 letters or more. Single-word Latin names (``May``, ``Will``)
  are not looked for: they are ordinary words too often.

Names of people who are not customers (teachers, referrers from outside the base) cannot be
known; rare categorical values are grouped into ``other`` by the gate, which catches most
of them (see ``docs/privacy.md``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

from valuation.privacy.normalize import is_invisible

_CJK_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff][\u3400-\u9fff\uf900-\ufaff·•]{1,9}$")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-]+(?: [A-Za-z][A-Za-z'\-]+)+$")
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z'\-]*(?![A-Za-z0-9])")
COMMON_WORDS: frozenset[str] = frozenset(
    "高兴 平安 文明 金融 安全 方便 明白 江南 海洋 高山 白云 平常 安心 向阳 建设 国庆 春华 秋实 "
    "和平 胜利 光明 成功 华丽 文化 黄金 马上 金山 石油 高手 高级 方向 方法 白色 林业 江山 "
    "海南 云南 湖南 湖北 河南 河北 山东 山西 广东 广西 东方 南方 北方 西安 宁波 常州 温州 "
    "万达 夏天 冬天 春天 秋天 易学 孔雀 龙飞 于是 高中 程序 编程 项目 课程 老师 学员 同学 "
    "周末 周一 周二 周三 周四 周五 周六 周日 周年 周期 余额 钱包 邓丽 付款 付费 任务 任何 "
    "石头 沈阳 史记 简单 张开 张贴 李子 王者 王牌 陈述 杨柳 黄色 赵州 吴江 徐州 孙子 马路 "
    "朱红 胡说 郭子 何必 林木 罗马 高度 郑州 梁子 谢谢 宋体 唐朝 许多 韩国 冯氏 曹操 彭湃 "
    "曾经 肖像 田园 董事 袁大 潘多 于今 蒋介 蔡伦 余下 杜绝 叶子 程度 苏州 魏晋 吕梁 丁香 "
    "任性 沈从 姚明 卢沟 姜汤 崔巍 钟表 谭家 陆地 汪洋 范围 金额 石家 廖化 贾宝 夏季 韦小 "
    "付出 方式 白天 邹城 孟子 熊猫 秦朝 邱比 江西 尹天 薛定 安顺 文字 常见 海量".split()
)
"""Two-character words that are also plausible names; not looked for outside their
writer's own text."""
_MAX_CJK = 10


def _clean(name: object) -> str | None:
    if name is None or name is pd.NA or (isinstance(name, float) and pd.isna(name)):
        return None
    text = unicodedata.normalize("NFKC", str(name))
    text = "".join(c for c in text if not is_invisible(c))
    return re.sub(r"\s+", " ", text).strip() or None


class NameMatcher:
    """Finds and replaces known people's names inside other texts.

    Parameters
    ----------
    names : iterable of str
        Every customer's name (NA and empty entries are skipped).

    Examples
    --------
    >>> m = NameMatcher(["张伟明", "Zhang Wei", "高兴"])
    >>> m.replace("转介绍-张伟明", "[姓名]"), m.replace("ref: zhang  WEI", "[姓名]")
    ('转介绍-[姓名]', 'ref: [姓名]')
    >>> m.replace("很高兴", "[姓名]")  # a common word is not wiped
    '很高兴'
    """

    def __init__(self, names: Iterable[object]) -> None:
        self.cjk: set[str] = set()
        self.latin: set[tuple[str, ...]] = set()
        self.joined: set[str] = set()
        for raw in names:
            name = _clean(raw)
            if not name:
                continue
            compact = name.replace(" ", "")
            if _CJK_NAME.match(compact):
                if len(compact) > 2 or compact not in COMMON_WORDS:
                    self.cjk.add(compact)
            elif _LATIN_NAME.match(name):
                words = tuple(w.lower() for w in name.split(" "))
                self.latin.add(words)
                if len(compact) >= 6:
                    self.joined.add(compact.lower())
        self.first_chars = {n[0] for n in self.cjk}
        self.lengths = sorted({len(n) for n in self.cjk}, reverse=True)
        self.max_words = max((len(w) for w in self.latin), default=0)

    def __len__(self) -> int:
        return len(self.cjk) + len(self.latin)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of every known name in ``text`` (longest first at each position)."""
        found: list[tuple[int, int]] = []
        if self.cjk:
            i = 0
            while i < len(text):
                if text[i] in self.first_chars:
                    hit = next((n for n in self.lengths
                                if text[i:i + n] in self.cjk), 0)
                    if hit:
                        found.append((i, i + hit))
                        i += hit
                        continue
                i += 1
        if self.latin or self.joined:
            words = list(_LATIN_WORD.finditer(text))
            lowered = [w.group(0).lower() for w in words]
            j = 0
            while j < len(words):
                width = next((n for n in range(self.max_words, 1, -1)
                              if tuple(lowered[j:j + n]) in self.latin), 0)
                if width:
                    found.append((words[j].start(), words[j + width - 1].end()))
                    j += width
                    continue
                if lowered[j] in self.joined:
                    found.append(words[j].span())
                j += 1
        return sorted(found)

    def replace(self, text: object, placeholder: str) -> object:
        """``text`` with every known name replaced by ``placeholder`` (NA unchanged)."""
        if text is None or text is pd.NA or (isinstance(text, float) and pd.isna(text)):
            return text
        text = str(text)
        if not self:
            return text
        spans = self.spans(text)
        if not spans and not text.isascii():
            source = _clean(text)  # a name written with invisible or full-width characters
            if source and source != text and self.spans(source):
                text, spans = source, self.spans(source)
        if not spans:
            return text
        pieces, last = [], 0
        for start, end in spans:
            pieces += [text[last:start], placeholder]
            last = end
        return "".join(pieces) + text[last:]

    def __bool__(self) -> bool:
        return bool(self.cjk or self.latin)


PARAMS_TEXT_FIELDS: tuple[str, ...] = (
    "name", "privacy.operator", "privacy.purpose", "privacy.legal_basis",
    "privacy.assessment_ref", "handover.new_owner_name",
)
"""Params text that is published (brief, results, processing log)."""


def names_in_params(params: object, matcher: NameMatcher) -> list[str]:
    """Params fields of :data:`PARAMS_TEXT_FIELDS` that hold a known customer's name."""
    found = []
    for field in PARAMS_TEXT_FIELDS:
        value: object = params
        for part in field.split("."):
            value = getattr(value, part, None)
        if isinstance(value, str) and matcher.replace(value, "\x00") != value:
            found.append(field)
    return found
