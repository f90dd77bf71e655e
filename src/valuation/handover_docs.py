"""The documents of a transfer package: the 交接清单 checklist (JSON and Markdown) and the
confirmation form both parties sign (quoting the tag-manifest digest)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from valuation.params import DealParams
from valuation.tables import TABLES

DATE_COLUMNS: dict[str, str] = {
    "customers": "signup_date",
    "orders": "order_date",
    "activity": "event_date",
    "feedback": "feedback_date",
}
CATEGORY_ZH: dict[str, str] = {
    "customers": "学员信息",
    "orders": "订单记录",
    "activity": "学习记录",
    "feedback": "评价反馈",
}


def date_range(frame: pd.DataFrame, table: str) -> tuple[str | None, str | None]:
    """First and last date of a table (ISO text), or (None, None) when it has none."""
    dates = pd.to_datetime(frame[DATE_COLUMNS[table]], errors="coerce").dropna()
    if dates.empty:
        return None, None
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def checklist(params: DealParams, scope: str, tables: dict[str, pd.DataFrame],
               excluded: dict[str, int], totals: dict[str, int]) -> dict[str, Any]:
    """The 交接清单 as a JSON-ready mapping: one item per data category, exclusions."""
    items = []
    for table in TABLES:
        first, last = date_range(tables[table], table)
        items.append({
            "category": table,
            "category_zh": CATEGORY_ZH[table],
            "file": f"data/{table}.csv",
            "records": int(len(tables[table])),
            "records_in_export": int(totals[table]),
            "date_from": first,
            "date_to": last,
            "state": "delivered, to be confirmed by the buyer",
            "state_zh": "已交付，待受让方确认",
        })
    return {
        "target": params.target,
        "company": params.name,
        "as_of": params.as_of.isoformat(),
        "scope": scope,
        "scope_statement": (
            "customers who consented to the transfer, excluding minors without guardian "
            "consent" if scope == "transferable" else
            "customers who consented to the transfer and can be contacted"
            if scope == "transferable_contactable" else "all customers (no consent filter)"
        ),
        "new_owner": params.handover.new_owner_name,
        "new_owner_contact": params.handover.new_owner_contact,
        "items": items,
        "excluded_customers": excluded,
    }


def checklist_markdown(checklist: dict[str, Any]) -> str:
    """The 交接清单 as Markdown (bilingual table)."""
    lines = [
        f"# 交接清单 Handover checklist: {checklist['company']}",
        "",
        f"- 范围 Scope: {checklist['scope']} — {checklist['scope_statement']}",
        f"- 基准日 As of: {checklist['as_of']}",
        f"- 受让方 New owner: {checklist['new_owner']} {checklist['new_owner_contact']}",
        "",
        "| 数据类别 Category | 文件 File | 记录数 Records (of export) | 起 From | 止 To | 状态 State |",
        "|---|---|---|---|---|---|",
    ]
    for item in checklist["items"]:
        lines.append(
            f"| {item['category_zh']} {item['category']} | {item['file']} | "
            f"{item['records']} ({item['records_in_export']}) | {item['date_from'] or '-'} | "
            f"{item['date_to'] or '-'} | {item['state_zh']} |"
        )
    route = checklist.get("cross_border")
    if route:
        lines += ["", "## 数据出境 Cross-border route (PIPL Art. 38-40)", "",
                  f"- 接收方所在地 Destination: {route['destination']}",
                  f"- 路径 Route: {route['label_zh']} / {route['label']}",
                  f"- 依据 Basis: {route['basis']}; {route['reason']}",
                  f"- 人数 People: {route['people']:,}; 敏感个人信息 sensitive: "
                  f"{route['sensitive_people']:,}",
                  f"- 预计周期 Lead time: {route['lead_time']}",
                  f"- 编号 Reference: {route['reference'] or '-'}"]
    notices = checklist.get("notices")
    if notices:
        lines += ["", "## 告知书 Customer notices (PIPL Art. 22; inside the encrypted payload)", "",
                  *(f"- {channel}: {count}" for channel, count in notices.items()),
                  "- 回执 Returns: `valuation handover status PARAMS --returns CSV` "
                  "(customer_ref,status); objectors go to buyer-exclusions.csv"]
    encryption = checklist.get("encryption")
    if encryption:
        lines += ["", "## 加密 Encryption", "",
                  f"- {encryption['format']}: {encryption['payload']}",
                  *(f"- recipient: `{r}`" for r in encryption["recipients"])]
    lines += ["", "## 未交付记录 Excluded customers", ""]
    for reason, count in checklist["excluded_customers"].items() or {"none": 0}.items():
        lines.append(f"- {reason}: {count}")
    return "\n".join(lines) + "\n"


def confirmation(checklist: dict[str, Any], digest: str, oxum: str) -> str:
    """The confirmation form (Markdown) quoting the tag-manifest digest and Payload-Oxum."""
    return "\n".join([
        f"# 数据交接确认书 Data handover confirmation: {checklist['company']}",
        "",
        "The parties confirm that the transfer package identified below was delivered and "
        "received complete, and that its integrity was verified with `valuation handover "
        "verify`.",
        "",
        f"- Package: BagIt bag `bag/` of target `{checklist['target']}`",
        f"- Scope: {checklist['scope_statement']}",
        f"- SHA-256 of tagmanifest-sha256.txt: `{digest}`",
        f"- Payload-Oxum (bytes.files): `{oxum}`",
        "",
        "| 数据类别 Category | 记录数 Records |",
        "|---|---|",
        *(f"| {i['category_zh']} {i['category']} | {i['records']} |" for i in checklist["items"]),
        "",
        "转让方 Seller: ____________________  日期 Date: __________",
        "",
        "受让方 Buyer: _____________________  日期 Date: __________",
        "",
    ])
