"""Built-in header aliases: the names real exports give to each canonical column.

Matching is done on a normalised header (NFKC, lower case, spaces/underscores/dashes and
brackets removed), so "Customer ID", "customer_id" and "客户编号（ID）" need one alias each at
most. Params can add or override mappings per table (``data.columns``).
"""

from __future__ import annotations

import re
import unicodedata

HEADER_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "customer_id": ("customer_id", "customer_no", "customer number", "student_id",
                        "学员编号", "学员id", "客户编号", "客户id", "用户id", "会员编号"),
        "name": ("name", "full_name", "student_name", "姓名", "学员姓名", "客户姓名"),
        "mobile": ("mobile", "mobile_phone", "phone", "cell", "手机号", "手机号码", "联系电话", "手机"),
        "id_number": ("id_number", "id_card", "id_card_no", "resident_id", "身份证号",
                      "身份证号码", "证件号码", "身份证"),
        "email": ("email", "e-mail", "mail", "邮箱", "电子邮箱", "电子邮件"),
        "city": ("city", "城市", "所在城市"),
        "signup_date": ("signup_date", "registration_date", "register_date", "joined",
                        "报名日期", "注册日期", "注册时间", "报名时间"),
        "channel": ("channel", "signup_channel", "source", "渠道", "报名渠道", "来源渠道", "来源"),
        "consent_transfer": ("consent_transfer", "transfer_consent", "同意转移", "同意数据转移",
                             "转移同意"),
        "consent_marketing": ("consent_marketing", "marketing_consent", "同意营销", "营销同意",
                              "同意接收营销"),
        "guardian_consent": ("guardian_consent", "监护人同意", "监护人同意书"),
    },
    "orders": {
        "order_id": ("order_id", "order_no", "order number", "订单号", "订单编号"),
        "customer_id": ("customer_id", "customer_no", "student_id", "学员编号", "学员id",
                        "客户编号", "客户id", "用户id", "会员编号"),
        "course": ("course", "course_name", "product", "课程", "课程名称", "产品名称"),
        "category": ("category", "course_category", "类别", "课程类别", "课程分类"),
        "order_date": ("order_date", "paid_at", "payment_date", "date", "下单日期", "支付日期",
                       "付款日期", "订单日期"),
        "amount": ("amount", "paid_amount", "price", "实付金额", "支付金额", "金额", "订单金额"),
        "refund_amount": ("refund_amount", "refund", "refunded", "退款金额", "退款"),
        "payment_plan": ("payment_plan", "plan", "付款方式", "支付方式"),
    },
    "activity": {
        "customer_id": ("customer_id", "customer_no", "student_id", "学员编号", "学员id",
                        "客户编号", "客户id", "用户id", "会员编号"),
        "event_date": ("event_date", "date", "activity_date", "日期", "活动日期", "学习日期"),
        "event_type": ("event_type", "type", "activity_type", "类型", "活动类型"),
        "count": ("count", "events", "times", "次数"),
    },
    "feedback": {
        "customer_id": ("customer_id", "customer_no", "student_id", "学员编号", "学员id",
                        "客户编号", "客户id", "用户id", "会员编号"),
        "feedback_date": ("feedback_date", "date", "评价日期", "日期", "反馈日期"),
        "score": ("score", "rating", "评分", "满意度"),
        "text": ("text", "comment", "feedback", "评价内容", "评价", "反馈内容", "留言"),
    },
}

EVENT_TYPE_ALIASES: dict[str, str] = {
    "attendance": "attendance", "出勤": "attendance", "上课": "attendance", "签到": "attendance",
    "login": "login", "登录": "login", "登陆": "login",
}

PAYMENT_PLAN_ALIASES: dict[str, str] = {
    "full": "full", "全款": "full", "一次性": "full", "一次性付款": "full", "全额": "full",
    "instalment": "instalment", "installment": "instalment", "分期": "instalment",
    "分期付款": "instalment",
}
"""Export spellings of ``orders.payment_plan`` -> canonical ``full`` | ``instalment``."""

SHEET_ALIASES: dict[str, tuple[str, ...]] = {
    "customers": ("customers", "学员", "学员信息", "客户", "会员"),
    "orders": ("orders", "订单", "订单明细", "缴费记录"),
    "activity": ("activity", "学习记录", "活动", "出勤记录", "学习"),
    "feedback": ("feedback", "评价", "反馈", "学员评价"),
}
"""Sheet names tried, in order, when ``data.sheets`` does not name a table's sheet."""

_BRACKETED = re.compile(r"[(\[{<][^)\]}>]*[)\]}>]")
_SEPARATORS = re.compile(r"[\s_\-()\[\]{}<>:：/]+")


def normalise_header(header: object, *, drop_bracketed: bool = False) -> str:
    """Normalise an export header for alias matching.

    NFKC (full-width to half-width), lower case, spaces, underscores, dashes, slashes,
    colons and bracket characters removed. With ``drop_bracketed`` the text inside brackets
    is dropped too, so "金额（元）" matches "金额".

    Examples
    --------
    >>> normalise_header("Customer ID")
    'customerid'
    >>> normalise_header("客户编号（ID）", drop_bracketed=True)
    '客户编号'
    """
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    if drop_bracketed:
        text = _BRACKETED.sub("", text)
    return _SEPARATORS.sub("", text)


def alias_index(table: str) -> dict[str, str]:
    """Map each normalised built-in alias of ``table`` to its canonical column."""
    index: dict[str, str] = {}
    for column, aliases in HEADER_ALIASES[table].items():
        for alias in (column, *aliases):
            index.setdefault(normalise_header(alias), column)
    return index
