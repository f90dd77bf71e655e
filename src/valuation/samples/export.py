"""How each sample target's exports look: headers, date, money and yes/no styles, file formats.

Headers are taken from the built-in aliases (:mod:`valuation.ingest.headers`), so the ingest's
defaults map every one of them. XLSX files are made byte-reproducible: openpyxl stamps the
save time into ``docProps/core.xml`` and into every zip entry, so both are pinned afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

HEADERS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "customers": {"customer_id": "Student ID", "name": "Full Name", "mobile": "Mobile",
                      "id_number": "ID Card No", "email": "Email", "city": "City",
                      "signup_date": "Registration Date", "channel": "Channel",
                      "consent_transfer": "Transfer Consent",
                      "consent_marketing": "Marketing Consent",
                      "guardian_consent": "Guardian Consent"},
        "orders": {"order_id": "Order No", "customer_id": "Student ID", "course": "Course Name",
                   "category": "Category", "order_date": "Paid At", "amount": "Paid Amount",
                   "refund_amount": "Refund", "payment_plan": "Payment Plan"},
        "activity": {"customer_id": "Student ID", "event_date": "Activity Date",
                     "event_type": "Activity Type", "count": "Count"},
        "feedback": {"customer_id": "Student ID", "feedback_date": "Date", "score": "Rating",
                     "text": "Comment"},
    },
    "zh_bootcamp": {
        "customers": {"customer_id": "学员编号", "name": "姓名", "mobile": "手机号",
                      "id_number": "身份证号", "email": "邮箱", "city": "城市",
                      "signup_date": "报名日期", "channel": "报名渠道", "consent_transfer": "同意转移",
                      "consent_marketing": "同意营销", "guardian_consent": "监护人同意"},
        "orders": {"order_id": "订单号", "customer_id": "学员编号", "course": "课程名称",
                   "category": "课程类别", "order_date": "支付日期", "amount": "实付金额",
                   "refund_amount": "退款金额", "payment_plan": "付款方式"},
        "activity": {"customer_id": "学员编号", "event_date": "日期", "event_type": "类型",
                     "count": "次数"},
        "feedback": {"customer_id": "学员编号", "feedback_date": "评价日期", "score": "评分",
                     "text": "评价内容"},
    },
    "zh_cert": {
        "customers": {"customer_id": "会员编号", "name": "学员姓名", "mobile": "手机号码",
                      "id_number": "身份证号码", "email": "电子邮箱", "city": "所在城市",
                      "signup_date": "注册日期", "channel": "来源渠道",
                      "consent_transfer": "同意数据转移", "consent_marketing": "同意接收营销",
                      "guardian_consent": "监护人同意书"},
        "orders": {"order_id": "订单编号", "customer_id": "会员编号", "course": "产品名称",
                   "category": "课程分类", "order_date": "付款日期", "amount": "订单金额",
                   "refund_amount": "退款", "payment_plan": "支付方式"},
        "activity": {"customer_id": "会员编号", "event_date": "学习日期", "event_type": "活动类型",
                     "count": "次数"},
        "feedback": {"customer_id": "会员编号", "feedback_date": "反馈日期", "score": "满意度",
                     "text": "留言"},
    },
}

SHEETS = {"customers": "学员", "orders": "订单", "activity": "学习记录", "feedback": "评价"}
EVENT_TYPES_ZH = {"attendance": "出勤", "login": "登录"}
DATE_COLUMNS = ("signup_date", "order_date", "event_date", "feedback_date")
MONEY_COLUMNS = ("amount", "refund_amount")
BOOL_COLUMNS = ("consent_transfer", "consent_marketing", "guardian_consent")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
PINNED_TIME = (2025, 1, 1, 0, 0, 0)
ISO = "{y:04d}-{m:02d}-{d:02d}"
CHINESE = "{y}年{m}月{d}日"

STYLE_OF_TARGET = {"online_school": "en", "bootcamp": "zh_bootcamp", "cert_school": "zh_cert"}


def date_strings(values: pd.Series, fmt: str) -> np.ndarray:
    """Dates as text, fast: each distinct day is formatted once (``fmt`` as in str.format
    with fields y, m, d), then spread by index. Large targets have millions of rows but only
    a few thousand distinct days."""
    days = values.to_numpy(dtype="datetime64[D]").astype(np.int64)
    uniq, inverse = np.unique(days, return_inverse=True)
    stamps = pd.DatetimeIndex(uniq.astype("datetime64[D]"))
    text = np.array([fmt.format(y=t.year, m=t.month, d=t.day) for t in stamps], dtype=object)
    return text[inverse]


def _bools(values: pd.Series, yes: str, no: str) -> pd.Series:
    return values.map({True: yes, False: no}).astype(object).where(values.notna(), None)


def _money_text(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """``¥1,200.00`` (style 0) or ``1200元`` / ``1234.5元`` (style 1)."""
    yen = np.array([f"¥{v:,.2f}" for v in values], dtype=object)
    yuan = np.array([f"{v:.2f}".rstrip("0").rstrip(".") + "元" for v in values], dtype=object)
    return np.where(style == 0, yen, yuan)


def format_csv(table: str, frame: pd.DataFrame, style: str, rng: np.random.Generator) -> pd.DataFrame:
    """An export-looking copy of a raw table (text cells) for a CSV in the given style."""
    out = frame.copy()
    for col in out.columns:
        if col in DATE_COLUMNS:
            if style == "en":
                out[col] = date_strings(out[col], ISO)
            elif style == "zh_bootcamp":
                out[col] = date_strings(out[col], "{y}/{m}/{d}")
            else:
                text, iso = date_strings(out[col], CHINESE), date_strings(out[col], ISO)
                out[col] = np.where(rng.random(len(out)) < 0.6, text, iso)
        elif col in BOOL_COLUMNS:
            out[col] = _bools(out[col], "true", "false") if style == "en" else _bools(out[col], "是", "否")
        elif col in MONEY_COLUMNS:
            values = out[col].to_numpy(dtype=float)
            if style == "zh_cert":
                text = _money_text(values, rng.integers(0, 2, len(out)))
                out[col] = np.where(values > 0, text, np.array([f"{v:.2f}" for v in values], dtype=object))
            else:
                out[col] = np.char.mod("%.2f", values)
        elif col == "score":
            out[col] = out[col].astype("Int64")
        elif col == "event_type" and style != "en":
            out[col] = out[col].map(EVENT_TYPES_ZH)
    return out.rename(columns=HEADERS[style][table])


def _xlsx_cells(table: str, frame: pd.DataFrame, rng: np.random.Generator) -> list[list]:
    """Rows of typed cells: dates as "2024年1月5日" text, real dates or serial numbers; money as
    "¥1,200.00", "1200元" or numbers (non-positive amounts always numbers); yes/no as 是/否."""
    columns: list[np.ndarray] = []
    n = len(frame)
    for col in frame.columns:
        values = frame[col]
        if col in DATE_COLUMNS:
            style = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
            text = date_strings(values, CHINESE)
            dates = values.dt.date.to_numpy(dtype=object)
            serial = ((values - pd.Timestamp(EXCEL_EPOCH)).dt.days).to_numpy()
            cells = np.where(style == 0, text, np.where(style == 1, dates, serial.astype(object)))
        elif col in MONEY_COLUMNS:
            v = values.to_numpy(dtype=float)
            style = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
            text = _money_text(v, np.minimum(style, 1))
            cells = np.where((style == 2) | (v <= 0), v.astype(object), text)
        elif col in BOOL_COLUMNS:
            cells = _bools(values, "是", "否").to_numpy(dtype=object)
        elif col == "event_type":
            cells = values.map(EVENT_TYPES_ZH).to_numpy(dtype=object)
        elif col in ("score", "count"):
            cells = values.astype(int).to_numpy(dtype=object)
        else:
            cells = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
        columns.append(cells)
    return [list(row) for row in zip(*columns)] if n else []


def write_xlsx(path: Path, tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """One workbook, one sheet per table (学员, 订单, 学习记录, 评价), byte-reproducible."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for table, frame in tables.items():
        ws = wb.create_sheet(SHEETS[table])
        ws.append([HEADERS["zh_cert"][table][c] for c in frame.columns])
        for row in _xlsx_cells(table, frame, rng):
            cells = []
            for value in row:
                if isinstance(value, dt.date):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(pin_zip_times(buffer.getvalue()))


def pin_zip_times(data: bytes) -> bytes:
    """Rewrite an OOXML zip with fixed entry times and fixed created/modified properties."""
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*PINNED_TIME)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp + m.group(3), text)
                body = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=PINNED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def parquet_frame(table: str, frame: pd.DataFrame, style: str) -> pd.DataFrame:
    """A typed export (dates as dates, money as numbers) with the target's headers."""
    return frame.rename(columns=HEADERS[style][table])
