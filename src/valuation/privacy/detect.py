"""The one identifier detector: mobiles, resident ID numbers, e-mails, QQ and WeChat IDs.

Used by redaction (:mod:`~valuation.privacy.redact`), the scanner, the processing-log guard,
message masking and the params check, so every part of the workbench sees the same
identifiers. Text is normalised first (:mod:`~valuation.privacy.normalize`: NFKC, invisible
characters removed, dashes unified, long runs of Chinese numerals read as digits); every
:class:`Detection` carries the span of the **original** text.

What is found
-------------
``mobile``
    ``1[3-9]`` + 9 digits, with one space or one or two of ``. - ( ) /`` between any digits,
    an optional ``+86`` / ``0086`` / ``86`` / ``(+86)`` prefix, glued to letters or labels
    (``wx13812345678``, ``tel:``, ``微信``, ``手机``) but never to other digits, nor followed
    directly by a Latin letter (serial numbers such as ``INV-13912345678X``). No digit kind
    is found inside a hexadecimal run of 16 or more characters (the workbench's own tokens,
    hashes). Numbers
    grouped in thousands (``13 800 000 000``), date-shaped runs, decimals (``0.13812345678``,
    ``15055.021857``, ``1745 0.853301``: a dot with another separator)
    and runs inside a 16+ character hexadecimal token are not mobiles.
``id_number``
    17 digits + a digit or ``X``/``x`` (separators allowed as for mobiles) whose first digit
    is 1-8 and whose characters 7-14 are a real date in 1900-2099; 15-digit legacy numbers
    with a real ``YYMMDD`` date. ``certain`` when the MOD 11-2 check character is right.
``email``
    ``local@domain.tld`` with non-ASCII (e.g. Chinese) local parts and IDN domains
    (``张伟@例子.中国``), and the spellings ``[at]``, ``(at)``, ``【at】``, `` at ``,
    ``#`` between words is not an e-mail; ``[dot]``, ``(dot)``, `` dot `` for dots (spelled-out
    forms need a known top-level domain). File names such as ``logo@2x.png`` are not.
``qq``
    5-11 digits after a QQ label (``QQ``, ``qq号``, ``扣扣``, ``企鹅号``).
``wechat``
    A WeChat ID (a letter then 5-19 letters, digits, ``_`` or ``-``) after a WeChat label
    (``微信``, ``微信号``, ``v信``, glued or not; ``wx``, ``vx``, ``wechat``, ``weixin``,
    ``V`` as a word followed by a colon or a space, so that base64 or words such as
    ``wxWidgets`` are not labels).

``certain`` is False for shapes that identify nobody for sure: a dummy mobile
(13800000000), an ID number with a wrong check character. Redaction replaces every
detection; the scanner reports the certain ones.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from valuation.privacy.normalize import normalize

KINDS: tuple[str, ...] = ("mobile", "id_number", "email", "qq", "wechat")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_DUMMIES = frozenset({"13800000000", "13888888888", "13800138000", "13012345678",
                      "13123456789"})

_S = r"(?: ?[.\-/()]{1,2} ?| )?"
"""Between two digits: nothing, one space, or one or two of ``. - / ( )`` with at most one
space beside them (two spaces apart are columns of a text table, not one number)."""
_NOT_DIGIT_BEFORE = r"(?<![0-9])(?<![0-9]\.)"
_NOT_DIGIT_AFTER = r"(?![0-9])(?!\.[0-9])"
_PREFIX = r"(?:(?:\+|00|\(\+?|\+\()? ?86 ?\)?[ \-.]{0,2})?"
MOBILE = re.compile(_NOT_DIGIT_BEFORE + "(" + _PREFIX + r")(1" + _S + "[3-9]" + rf"(?:{_S}[0-9]){{9}})"
                    + _NOT_DIGIT_AFTER + "(?![A-Za-z])")
ID18 = re.compile(_NOT_DIGIT_BEFORE + rf"([1-8](?:{_S}[0-9]){{16}}{_S}[0-9Xx])"
                  + r"(?![0-9])(?:(?<=[0-9])|(?![A-Za-z]))")
ID15 = re.compile(_NOT_DIGIT_BEFORE + rf"([1-8](?:{_S}[0-9]){{14}})" + _NOT_DIGIT_AFTER)

_CJK_TLDS = "中国|中國|公司|网络|網絡|在线|集团|我爱你|商城|网店|网址|移动|手机|香港|台湾|台灣|新加坡"
_SPELLED_TLDS = ("com|cn|net|org|edu|gov|io|me|co|info|biz|top|xyz|cc|hk|tw|mo|us|uk|jp|de|"
                 "site|vip|club|online|ai|app|dev|" + _CJK_TLDS)
_AT = (r"(?:@|\s*[\[(【{<（]\s*(?:at|AT|At|艾特)\s*[\])】}>）]\s*|\s+(?:at|AT)\s+|\s*艾特\s*)")
_DOT = r"(?:\.|\s*[\[(【{<（]\s*(?:dot|DOT|Dot|点)\s*[\])】}>）]\s*|\s+(?:dot|DOT)\s+)"
_LOCAL = (r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+)*"
          r"|[^\W\d_][\w.\-]{0,30})")
_LABEL = r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?|[^\W\x00-\x7f_]{1,20})"
EMAIL = re.compile(
    r"(?<![\w.+\-])(" + _LOCAL + ")(" + _AT + ")(" + _LABEL + r"(?:" + _DOT + _LABEL + ")*)"
    + _DOT + r"([A-Za-z]{2,24}|" + _CJK_TLDS + r")(?![A-Za-z0-9\-])"
)
_AFTER_AT = re.compile(_AT + _LABEL + r"(?:" + _DOT + _LABEL + ")*" + _DOT
                       + r"(?:[A-Za-z]{2,24}|" + _CJK_TLDS + r")(?![A-Za-z0-9\-])")
_LOCAL_LABELS = re.compile(r"^(?:电子邮箱|邮箱地址|电子邮件|邮箱|电邮|邮件|联系方式|联系|我的|地址|是|为|：|:)+")
QQ = re.compile(r"(?:(?<![A-Za-z0-9])(?:QQ|qq|Qq)|扣扣|企鹅)(?:号码|号|账号|帐号)?\s*[:：=]?\s*"
                + rf"([1-9](?:{_S}[0-9]){{4,10}})" + _NOT_DIGIT_AFTER)
WECHAT = re.compile(
    r"(?:微信|威信|薇信|徽信|[vV]信)(?:号码|号|账号|帐号|ID|id)?\s*[:：=]?\s*"
    r"|(?<![A-Za-z0-9])(?:wechat|WeChat|WECHAT|weixin|WeiXin|[wWvV][xX])"
    r"(?:\s*(?:ID|Id|id|号码|号|账号|帐号))?(?:\s*[:：=]\s*|\s+|(?<=[号码]))"
    r"|(?<![A-Za-z0-9])[vV]\s*[:：]\s*"
)
_WECHAT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{5,19}(?![A-Za-z0-9_\-])")
FILE_EXTENSION_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "js", "mjs", "css", "py",
     "ipynb", "html", "htm", "json", "csv", "txt", "md", "pdf", "parquet", "xlsx", "map"}
)
_PREFILTER = re.compile(r"[0-9@\uff10-\uff19\uff20〇零一二三四五六七八九壹贰叁肆伍陆柒捌玖幺"
                        r"①-⑳⑴-⒇⒈-⒛]|at|AT|At|艾特|信|[wWvV][xX]|wechat|weixin|[vV]\s*[:：]")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")
_AT_ANCHOR = re.compile(r"[@\[(【{<（]|\s(?:at|AT)\s|艾特")
_WECHAT_HINTS = ("信", "wx", "WX", "Wx", "wX", "vx", "VX", "Vx", "vX", "wechat", "WeChat",
                 "WECHAT", "weixin", "WeiXin")
_V_LABEL = re.compile(r"[vV]\s*[:：]")
_QQ_HINTS = ("QQ", "qq", "Qq", "扣扣", "企鹅")
_CLUSTER = re.compile(r"[0-9](?:" + _S + r"[0-9])*+")
"""A maximal run of digits with separators; those of 11+ digits are the only places a
mobile or ID number can be."""
_THOUSANDS = re.compile(r"^\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})+$")
_DATE = re.compile(r"(?:19|20)\d{2}[-./]\d{1,2}[-./]\d{1,2}")


@dataclass(frozen=True)
class Detection:
    """One identifier found in a text.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    start, end : int
        Span in the original text (``text[start:end]`` is what was written).
    raw : str
        The original characters of the span.
    value : str
        The canonical value: digits (``X`` upper case) or the e-mail in lower case with
        ``@`` and dots, WeChat IDs as written.
    certain : bool
        True unless the shape identifies nobody for sure (dummy mobile, ID with a wrong
        check character).
    """

    kind: str
    start: int
    end: int
    raw: str
    value: str
    certain: bool = True


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character of 17 digits."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text).upper()


def _real_date(year: int, month: int, day: int) -> bool:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return day <= (29 if leap else 28)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


def _hex_token_around(text: str, start: int, end: int) -> bool:
    """Whether the digits ``text[start:end]`` sit inside a hexadecimal token of 16+ chars."""
    if not text[start:end].isdigit():
        return False
    a, b = start, end
    while a > 0 and text[a - 1] in "0123456789abcdefABCDEF":
        a -= 1
    while b < len(text) and text[b] in "0123456789abcdefABCDEF":
        b += 1
    return b - a >= 16 and not text[a:b].isdigit()


def _separated_like_number(raw: str) -> bool:
    """Thousands-grouped amounts and date-shaped runs are not identifiers."""
    stripped = raw.strip(" ()")
    others = re.search(r"[ \t\-()/]", stripped)
    decimal = "." in stripped and (stripped.count(".") == 1 or others)
    return bool(decimal or _THOUSANDS.match(stripped) or _DATE.search(raw))


def _clusters(text: str) -> list[tuple[int, int]]:
    """Windows around every run of 11 or more digits (separators allowed between them)."""
    windows = []
    for cluster in _CLUSTER.finditer(text):
        a, b = cluster.span()
        if b - a >= 11 and sum(c.isdigit() for c in cluster.group(0)) >= 11:
            windows.append((max(0, a - 8), min(len(text), b + 3)))
    return windows


def _in_clusters(pattern: re.Pattern, text: str,
                 windows: list[tuple[int, int]]) -> Iterator[re.Match]:
    """``pattern`` matches inside digit clusters only (the patterns are slow on long text)."""
    for a, b in windows:
        yield from pattern.finditer(text, a, b)


def _find_ids(text: str, windows) -> list[tuple[int, int, str, str, bool]]:
    found = []
    for match in _in_clusters(ID18, text, windows):
        value = _digits(match.group(1))
        if "X" in value[:17] or not _real_date(int(value[6:10]), int(value[10:12]),
                                                 int(value[12:14])):
            continue
        if value[6:8] not in ("19", "20") or _DATE.search(match.group(1)) or \
                _hex_token_around(text, *match.span(1)):
            continue
        found.append((*match.span(1), "id_number", value, id_check_char(value[:17]) == value[17]))
    for match in _in_clusters(ID15, text, windows):
        value = _digits(match.group(1))
        if _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12])) and \
                not _separated_like_number(match.group(1)) and \
                not _hex_token_around(text, *match.span(1)):
            found.append((*match.span(1), "id_number", value, True))
    return found


def _find_mobiles(text: str, windows) -> list[tuple[int, int, str, str, bool]]:
    found = []
    for match in _in_clusters(MOBILE, text, windows):
        number = match.group(2)
        if _separated_like_number(number) or _hex_token_around(text, *match.span(2)):
            continue
        value = _digits(number)
        start = match.start(1) if match.group(1) else match.start(2)
        found.append((start, match.end(2), "mobile", value, value not in _DUMMIES))
    return found


def _email_matches(text: str) -> Iterator[re.Match]:
    """EMAIL matches, searched only where an ``@`` (or a spelled one) is followed by a
    domain: the full pattern is slow on long text."""
    seen: set[int] = set()
    for anchor in _AT_ANCHOR.finditer(text):
        a = anchor.start()
        after = _AFTER_AT.match(text, a)
        if not after:
            continue
        for match in EMAIL.finditer(text, max(0, a - 70), after.end()):
            if match.start(2) <= a < match.end(2) and match.start() not in seen:
                seen.add(match.start())
                yield match


def _find_emails(text: str) -> list[tuple[int, int, str, str, bool]]:
    found = []
    for match in _email_matches(text):
        local, at, domain, tld = match.group(1, 2, 3, 4)
        spelled = at != "@" or not re.fullmatch(r"[^\s\[\]()【】{}<>（）]*", domain + ".")
        if tld.lower() in FILE_EXTENSION_TLDS and at == "@":
            continue
        if spelled and tld.lower() not in _SPELLED_TLDS.split("|"):
            continue
        start = match.start(1)
        label = _LOCAL_LABELS.match(local)
        if label and label.end() < len(local):
            start += label.end()
            local = local[label.end():]
        domain_text = re.sub(_DOT, ".", domain)
        value = f"{local}@{domain_text}.{tld}".lower()
        found.append((start, match.end(), "email", value, True))
    return found


def _find_labelled(text: str) -> list[tuple[int, int, str, str, bool]]:
    found = []
    for match in QQ.finditer(text) if any(h in text for h in _QQ_HINTS) else ():
        if _hex_token_around(text, *match.span(1)):
            continue
        found.append((*match.span(1), "qq", _digits(match.group(1)), True))
    hinted = any(h in text for h in _WECHAT_HINTS) or _V_LABEL.search(text)
    for match in WECHAT.finditer(text) if hinted else ():
        wechat_id = _WECHAT_ID.match(text, match.end())
        if wechat_id:
            found.append((*wechat_id.span(), "wechat", wechat_id.group(0), True))
    return found


def detect(text: object) -> list[Detection]:
    """Every identifier in ``text``, in text order, spans in the original text.

    Overlaps are resolved longest first (an e-mail holding a mobile is one e-mail; an ID
    number is not also a mobile).

    Examples
    --------
    >>> [(d.kind, d.value) for d in detect("wx：１３８ 1234\u200b5678 or zhang[at]qq.com")]
    [('mobile', '13812345678'), ('email', 'zhang@qq.com')]
    """
    if text is None:
        return []
    original = str(text)
    if not original or not _PREFILTER.search(original):
        return []
    norm = normalize(original)
    # hexadecimal tokens (the workbench's pseudonyms, hashes) hold no identifier: blank
    # them (same length, so offsets stay) before the slower patterns run
    text = _HEX_RUN.sub(lambda m: m.group(0) if m.group(0).isdigit() else "\x00" * len(m.group(0)),
                        norm.text)
    windows = _clusters(text)
    candidates = (_find_emails(text) + _find_ids(text, windows) + _find_mobiles(text, windows)
                  + _find_labelled(text))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    starts: list[int] = []  # kept spans, sorted and disjoint, so their ends are sorted too
    ends: list[int] = []
    out = []
    for start, end, kind, value, certain in candidates:
        k = bisect.bisect_left(starts, end)
        if k and ends[k - 1] > start:
            continue
        starts.insert(k, start)
        ends.insert(k, end)
        a, b = norm.span(start, end)
        out.append(Detection(kind, a, b, original[a:b], value, certain))
    return sorted(out, key=lambda d: d.start)


def has_identifier(text: object) -> bool:
    """Whether ``text`` holds any identifier (certain or not)."""
    return bool(detect(text))


def replace_detections(text: str, detections: Iterable[Detection], replacement) -> str:
    """``text`` with each detection replaced by ``replacement(detection)`` (a str)."""
    pieces = []
    last = 0
    for found in sorted(detections, key=lambda d: d.start):
        if found.start < last:
            continue
        pieces.append(text[last:found.start])
        pieces.append(replacement(found))
        last = found.end
    pieces.append(text[last:])
    return "".join(pieces)


BATCH_CHARS = 20_000_000
"""Characters of joined values detected in one pass by :func:`detect_many`."""


def detect_many(values: list[str]) -> Iterator[tuple[int, Detection]]:
    """Detections in many short strings, in few passes: ``(index of the value, detection)``.

    The values are joined with NUL (never part of an identifier, so nothing spans two
    values) and detected in batches of about :data:`BATCH_CHARS` characters; spans are
    relative to their own value.

    Examples
    --------
    >>> [(i, d.kind) for i, d in detect_many(["ok", "tel 13812345678", "a@b.cn"])]
    [(1, 'mobile'), (2, 'email')]
    """
    start = 0
    while start < len(values):
        stop, size = start, 0
        while stop < len(values) and (size == 0 or size < BATCH_CHARS):
            size += len(values[stop]) + 1
            stop += 1
        batch = [str(v).replace("\x00", " ") for v in values[start:stop]]
        joined = "\x00".join(batch)
        if _PREFILTER.search(joined):
            offsets = np.cumsum([0] + [len(v) + 1 for v in batch[:-1]])
            for found in detect(joined):
                i = int(np.searchsorted(offsets, found.start, side="right") - 1)
                base = int(offsets[i])
                yield start + i, Detection(found.kind, found.start - base, found.end - base,
                                           found.raw, found.value, found.certain)
        start = stop
