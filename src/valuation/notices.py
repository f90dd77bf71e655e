"""Customer notices (告知书) of a transfer: SMS, e-mail and letter for every customer in scope.

PIPL Art. 22: when personal information is transferred in a merger or acquisition, the
customer is told the new handler's name and contact; the new handler continues the same
purpose and processing, and anything new needs fresh consent. Each notice states the new
handler and its contact, that purpose and processing are unchanged, the categories of this
customer's data transferred, the rights to access, copy, correct, delete and object
(Art. 44-47), and a deadline to object. Customers under 14 are addressed through their
guardian (Art. 31).

The notices are rendered from the Jinja2 templates in ``valuation/notice_templates/``
(e-mail with autoescape: every value from data or params is escaped) and written **only inside
the encrypted payload** of the transfer package (``data/notices/*.csv``): they hold names and
contacts. Each row carries the customer's token as the notice reference, which the SMS or
mail gateway's returns file quotes back (``valuation handover status --returns``).

SMS length: Chinese text is sent in UCS-2, 70 characters (UTF-16 code units) in one segment,
67 per segment when concatenated. The full SMS must fit two segments (134 units); a longer one
falls back to the short template, and if that is still too long the build stops and names the
params to shorten.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from valuation.errors import HandoverError
from valuation.handover_docs import CATEGORY_ZH
from valuation.params import DealParams
from valuation.tables import TABLES

SMS_SINGLE, SMS_PART, SMS_MAX_SEGMENTS = 70, 67, 2
TEMPLATES = Path(__file__).with_name("notice_templates")


def sms_segments(text: str) -> int:
    """Segments of a UCS-2 SMS: 1 up to 70 UTF-16 code units, else 67 units per segment.

    Examples
    --------
    >>> sms_segments("好" * 70), sms_segments("好" * 71), sms_segments("好" * 134)
    (1, 2, 2)
    >>> sms_segments("好" * 135)
    3
    """
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= SMS_SINGLE else -(-units // SMS_PART)


def _environments() -> tuple[Environment, Environment]:
    loader = FileSystemLoader(TEMPLATES)
    text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined,
                       keep_trailing_newline=True)
    html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined)
    return text, html


def _categories(customer_ids: pd.Series, tables: dict[str, pd.DataFrame]) -> pd.Series:
    """Per customer, the 、-joined Chinese names of the categories holding their records."""
    present = {t: set(tables[t]["customer_id"].dropna()) for t in TABLES[1:]}
    return customer_ids.map(lambda cid: "、".join(
        [CATEGORY_ZH["customers"] + "（姓名、联系方式、身份证件号码等）"]
        + [CATEGORY_ZH[t] for t in TABLES[1:] if cid in present[t]]))


def build_notices(params: DealParams, raw_customers: pd.DataFrame, tokens: pd.Series,
                  minors: pd.Series, channels: pd.Series, tables: dict[str, pd.DataFrame],
                  *, notice_date: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """The notices of every customer in scope, per channel (personal data: payload only).

    Parameters
    ----------
    params : DealParams
        ``name`` (the seller), ``handover.new_owner_name`` / ``new_owner_contact`` and
        ``handover.notice_deadline_days``.
    raw_customers : DataFrame
        The raw customers in scope (``customer_id``, ``name``, ``mobile``, ``email``).
    tokens, minors, channels : Series
        Aligned by position with ``raw_customers``: token (the notice reference), under-14
        flag, and the reachable channel (``mobile``, ``email`` or ``none``).
    tables : dict of DataFrame
        The tables in scope (for the categories of each customer).
    notice_date : date, optional
        Date of the notices (default today); the deadline is ``notice_deadline_days`` later.

    Returns
    -------
    dict of DataFrame
        ``sms`` (customers reachable by mobile), ``email`` (by e-mail), ``letter`` (all),
        each with ``notice_ref`` (the token), the addressee and the rendered text.
    """
    text_env, html_env = _environments()
    notice_date = notice_date or dt.date.today()
    deadline = notice_date + dt.timedelta(days=params.handover.notice_deadline_days)
    h = params.handover
    common = {"seller": params.name, "new_owner": h.new_owner_name,
              "contact": h.new_owner_contact or "（见随附联系方式）",
              "deadline": f"{deadline.year}年{deadline.month}月{deadline.day}日",
              "notice_date": f"{notice_date.year}年{notice_date.month}月{notice_date.day}日",
              "subject": f"关于您的个人信息转移至{h.new_owner_name}的告知书"}
    def column(name: str) -> "pd.Series":
        if name not in raw_customers:
            return pd.Series("", index=raw_customers.index)
        return raw_customers[name].astype("string").fillna("").str.strip()

    frame = pd.DataFrame({
        "notice_ref": tokens.to_numpy(),
        "name": column("name").to_numpy(),
        "mobile": column("mobile").to_numpy(),
        "email": column("email").to_numpy(),
        "guardian": minors.fillna(False).astype(bool).to_numpy(),
        "channel": channels.to_numpy(),
        "categories": _categories(raw_customers["customer_id"], tables).to_numpy(),
    })
    sms, email, letter = [], [], []
    templates = {n: text_env.get_template(n) for n in
                 ("sms.zh.txt.j2", "sms_short.zh.txt.j2", "body.zh.j2", "letter.zh.txt.j2")}
    email_template = html_env.get_template("email.zh.html.j2")
    for row in frame.itertuples(index=False):
        values = {**common, "name": row.name or "学员", "guardian": bool(row.guardian),
                  "categories": row.categories, "reference": row.notice_ref}
        body = templates["body.zh.j2"].render(values).strip()
        addressee = f"{values['name']}的监护人" if row.guardian else values["name"]
        letter.append((row.notice_ref, addressee,
                       templates["letter.zh.txt.j2"].render(values, body=body).strip()))
        if row.channel == "mobile":
            text = templates["sms.zh.txt.j2"].render(values).strip()
            if sms_segments(text) > SMS_MAX_SEGMENTS:
                text = templates["sms_short.zh.txt.j2"].render(values).strip()
            if sms_segments(text) > SMS_MAX_SEGMENTS:
                raise HandoverError(
                    "the customer SMS needs more than two 70-character segments even in its "
                    "short form: shorten name (the seller), handover.new_owner_name or "
                    "handover.new_owner_contact in the params")
            sms.append((row.notice_ref, row.mobile, text, len(text.encode("utf-16-le")) // 2,
                        sms_segments(text)))
        if row.email and row.channel != "none":
            email.append((row.notice_ref, row.email, common["subject"],
                          email_template.render(values, body=body)))
    return {
        "sms": pd.DataFrame(sms, columns=["notice_ref", "mobile", "text", "characters",
                                          "segments"]),
        "email": pd.DataFrame(email, columns=["notice_ref", "email", "subject", "html"]),
        "letter": pd.DataFrame(letter, columns=["notice_ref", "addressee", "text"]),
    }
