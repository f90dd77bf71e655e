"""Every narrative string of the brief and its figures, one table per language.

Keep wording here, never in the notebook or in :mod:`valuation.plots`: a translator or a deal
lead edits one file. Strings are :meth:`str.format` templates; :func:`text` fills them.
The Chinese text is written for a Chinese deal team (not a word-for-word translation).
"""

from __future__ import annotations

import math

from valuation.errors import ReportError

LANGS: tuple[str, ...] = ("en", "zh")

SECTION_KEYS: tuple[str, ...] = (
    "executive_summary",
    "scope_compliance",
    "data_review",
    "activity",
    "churn",
    "clv_segments",
    "valuation",
    "validation",
    "method_notes",
    "handover",
)
"""The sections of every brief, in order."""

SECTIONS: dict[str, dict[str, str]] = {
    "en": {
        "executive_summary": "Executive summary",
        "scope_compliance": "Scope and compliance (PIPL)",
        "data_review": "Data review",
        "activity": "Activity",
        "churn": "Churn and its drivers",
        "clv_segments": "Customer lifetime value and segments",
        "valuation": "Valuation bridge, range and sensitivities",
        "validation": "Model validation",
        "method_notes": "Method notes",
        "handover": "Handover checklist (交接清单)",
    },
    "zh": {
        "executive_summary": "执行摘要",
        "scope_compliance": "范围与合规（个人信息保护法）",
        "data_review": "数据核查",
        "activity": "客户活跃情况",
        "churn": "流失及其驱动因素",
        "clv_segments": "客户终身价值与客户分层",
        "valuation": "估值桥、估值区间与敏感性分析",
        "validation": "模型验证",
        "method_notes": "方法说明",
        "handover": "交接清单",
    },
}

NARRATIVE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Negotiation brief: {name}",
        "subtitle": "Customer base valuation as of {as_of} · advising the {side} · generated {generated}",
        "side_buyer": "buyer",
        "side_seller": "seller",
        "confidential": "Confidential. Aggregates only: no table cell describes fewer than {k} customers.",
        "range_sentence": (
            "The transferable customer base is worth **{p50}** (P50), with an 80% range of "
            "**{p10} – {p90}** (P10 – P90); the point estimate is {point}."
        ),
        "position_sentence": (
            "Recommended position for the {side}: anchor at **{anchor}**, aim for **{target}**, "
            "walk away at **{walk_away}**."
        ),
        "asking_sentence": "The counterparty asks {asking}, which sits at the {pct} percentile of our range.",
        "no_asking": "No asking price is known yet.",
        "per_customer_sentence": (
            "That is {per_active} per active customer ({active} active customers), against "
            "{multiple_price} implied by a {multiple:g}× trailing-revenue multiple."
        ),
        "risks_heading": "The three biggest risks",
        "risk_line": "{name}: {effect}",
        "earn_out_heading": "Earn-out proposal",
        "earn_out_sentence": (
            "Make {share} of the price ({amount}) contingent on customers retained 12 months "
            "after transfer: expected {expected} retained (P10 {p10}, P90 {p90})."
        ),
        "scope_sentence": (
            "{customers} customer records, {orders} orders, {events} activity records and "
            "{feedback} feedback records; data from {first} to {last}."
        ),
        "cohort_heading": "Consent cohorts",
        "minors_sentence": (
            "{minors} customers were under 14 at signup; {minors_no_guardian} of them lack "
            "guardian consent and are excluded from the transferable base."
        ),
        "pseudonymised_sentence": (
            "Names, mobile numbers, ID numbers and e-mail addresses were replaced by keyed "
            "pseudonyms (HMAC-SHA256, per-deal key) before any analysis; feedback text was "
            "redacted. Only birth-year band, sex, province and a minor flag were derived."
        ),
        "log_sentence": "Processing log reference: {log_ref}.",
        "pipl_heading": "PIPL points to settle in the contract",
        "pipl_art22": (
            "Art. 22 notification: the buyer must tell every transferred customer its name and "
            "contact details; the cost is budgeted in the bridge ({cost})."
        ),
        "pipl_purpose": (
            "Purpose limitation: the buyer continues to process the data only within the "
            "original purpose ({purpose}); any new purpose needs fresh consent."
        ),
        "pipl_destruction": (
            "Destruction: data of customers who cannot be transferred, and all deal copies, are "
            "destroyed at closing with a certificate; the deal key is destroyed last."
        ),
        "quality_sentence": (
            "Quality score {score}/100. The valuation applies a haircut of {haircut}: "
            "records failing authenticity checks are excluded, the others are kept with a flag."
        ),
        "no_findings": "No check found a problem.",
        "activity_sentence": (
            "{active} customers were active in the last 12 months; the purchase model expects "
            "{expected_active} to still be active in 12 months."
        ),
        "churn_sentence": (
            "A customer counts as churned after {days} days without an order or activity. "
            "Median lifetime: {median}. Share churned within 12 months of first purchase: {churn_12m}."
        ),
        "drivers_sentence": "Hazard ratios above 1 shorten lifetimes; below 1 lengthen them.",
        "clv_sentence": (
            "The top 10% of customers carry {top10} of the value; the top 1% carry {top1}."
        ),
        "bridge_sentence": (
            "The bridge goes from the gross equity of all customers to the value of the "
            "transferable base; every step is an amount in CNY and the steps add up exactly."
        ),
        "tornado_sentence": "The assumptions that move the value most are at the top.",
        "validation_sentence": (
            "The purchase model was fitted up to {calibration_end} and checked on the holdout "
            "up to {as_of}: {metrics}."
        ),
        "figure_notice": "Note on figures: {notice}",
        "suppressed_note": "Cells below the minimum size ({k}) are suppressed (shown as –).",
        "handover_intro": (
            "Data to be delivered at closing and confirmed by both sides. Tick each line only "
            "when the recipient has checked the checksum."
        ),
        "handover_item": "Item",
        "handover_detail": "Detail",
        "handover_delivered": "Delivered",
        "handover_confirmed": "Confirmed",
        "timing_sentence": "Timing: kernel start {kernel:.1f} s, compute {compute:.1f} s, export {export:.1f} s.",
        "missing_value": "n/a",
    },
    "zh": {
        "title": "谈判简报：{name}",
        "subtitle": "客户资产估值基准日 {as_of} · 我方为{side} · 生成于 {generated}",
        "side_buyer": "买方",
        "side_seller": "卖方",
        "confidential": "保密文件。仅含汇总数据：任何单元格所涉客户均不少于 {k} 人。",
        "range_sentence": (
            "可转让客户资产的估值中位数为 **{p50}**（P50），80% 区间为 **{p10} – {p90}**"
            "（P10 – P90）；点估计为 {point}。"
        ),
        "position_sentence": (
            "作为{side}，建议开价 **{anchor}**，目标成交价 **{target}**，"
            "底线（超出即放弃）**{walk_away}**。"
        ),
        "asking_sentence": "对方报价 {asking}，位于我方估值区间的第 {pct} 百分位。",
        "no_asking": "目前尚无对方报价。",
        "per_customer_sentence": (
            "折合每位活跃客户 {per_active}（活跃客户 {active} 人）；"
            "若按 {multiple:g} 倍近 12 个月营收估值，则为 {multiple_price}。"
        ),
        "risks_heading": "三大风险",
        "risk_line": "{name}：{effect}",
        "earn_out_heading": "对赌（业绩对价）方案",
        "earn_out_sentence": (
            "建议将价款的 {share}（{amount}）与交割后 12 个月的客户留存挂钩："
            "预计留存 {expected} 人（P10 {p10}，P90 {p90}）。"
        ),
        "scope_sentence": (
            "共 {customers} 条客户记录、{orders} 笔订单、{events} 条学习记录、{feedback} 条评价；"
            "数据期间 {first} 至 {last}。"
        ),
        "cohort_heading": "同意转让情况",
        "minors_sentence": (
            "注册时未满 14 周岁的学员 {minors} 人，其中 {minors_no_guardian} 人缺少监护人同意，"
            "已排除在可转让客户之外。"
        ),
        "pseudonymised_sentence": (
            "分析前，姓名、手机号、身份证号和电子邮箱均已替换为带密钥的假名（HMAC-SHA256，"
            "每个交易一把密钥）；评价文本已脱敏。仅保留出生年份段、性别、省份和未成年标记。"
        ),
        "log_sentence": "处理记录编号：{log_ref}。",
        "pipl_heading": "合同中需约定的个人信息保护事项",
        "pipl_art22": (
            "第二十二条告知义务：买方须向每位被转让的客户告知其名称和联系方式；"
            "告知成本已计入估值桥（{cost}）。"
        ),
        "pipl_purpose": (
            "目的限制：买方只能在原处理目的范围内继续处理（{purpose}）；"
            "变更目的须重新取得同意。"
        ),
        "pipl_destruction": (
            "删除销毁：不能转让的客户数据及交易过程中的全部副本于交割时销毁并出具证明；"
            "交易密钥最后销毁。"
        ),
        "quality_sentence": (
            "数据质量得分 {score}/100。估值相应扣减 {haircut}：未通过真实性核查的记录予以剔除，"
            "其余问题记录保留并标注。"
        ),
        "no_findings": "各项核查均未发现问题。",
        "activity_sentence": (
            "近 12 个月有 {active} 位客户保持活跃；按购买模型预计，12 个月后仍活跃的客户约 "
            "{expected_active} 人。"
        ),
        "churn_sentence": (
            "连续 {days} 天无订单、无学习记录即视为流失。客户生命周期中位数：{median}；"
            "首次购买后 12 个月内流失的比例：{churn_12m}。"
        ),
        "drivers_sentence": "风险比大于 1 表示流失更快，小于 1 表示留存更久。",
        "clv_sentence": "价值最高的 10% 客户贡献了 {top10} 的价值，最高的 1% 贡献了 {top1}。",
        "bridge_sentence": (
            "估值桥从全部客户的总价值出发，逐项扣减至可转让客户的价值；"
            "每一步均以人民币计，各步骤合计完全吻合。"
        ),
        "tornado_sentence": "对估值影响最大的假设排在最上方。",
        "validation_sentence": (
            "购买模型以截至 {calibration_end} 的数据拟合，并用 {as_of} 之前的留出期数据检验：{metrics}。"
        ),
        "figure_notice": "图表说明：{notice}",
        "suppressed_note": "涉及客户少于 {k} 人的单元格已隐去（显示为 –）。",
        "handover_intro": "交割时须移交并经双方确认的数据。接收方核对校验值后方可勾选。",
        "handover_item": "项目",
        "handover_detail": "说明",
        "handover_delivered": "已移交",
        "handover_confirmed": "已确认",
        "timing_sentence": "耗时：内核启动 {kernel:.1f} 秒，计算 {compute:.1f} 秒，导出 {export:.1f} 秒。",
        "missing_value": "无",
    },
}

HANDOVER_ITEMS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("Customer master data", "consented, contactable customers only; fields as in the data dictionary"),
        ("Orders and refunds", "full history of the transferred customers"),
        ("Consent evidence", "transfer and marketing consent per customer, with date and channel"),
        ("Guardian consent", "evidence for every pupil under 14 who is transferred"),
        ("Notification roster", "PIPL Art. 22 notice: who is told, when, through which channel"),
        ("Processing log", "hash-chained log of every processing run, verified"),
        ("Data dictionary", "columns, units, code lists of every delivered table"),
        ("Checksums", "SHA-256 manifest of every delivered file"),
        ("Destruction certificate", "data not transferred and all deal copies destroyed"),
        ("Deal key", "destroyed after closing; destruction confirmed in writing"),
    ],
    "zh": [
        ("客户主数据", "仅限已同意转让且可联系的客户；字段以数据字典为准"),
        ("订单与退款记录", "被转让客户的全部历史订单"),
        ("同意证明", "每位客户的转让同意及营销同意，含时间和渠道"),
        ("监护人同意", "每位被转让的未满 14 周岁学员的监护人同意材料"),
        ("告知名单", "第二十二条告知：告知对象、时间、方式"),
        ("处理记录", "全部处理活动的哈希链记录，已核验"),
        ("数据字典", "各数据表的字段、单位和代码表"),
        ("校验清单", "全部移交文件的 SHA-256 清单"),
        ("销毁证明", "未转让数据及交易副本均已销毁"),
        ("交易密钥", "交割后销毁，并书面确认"),
    ],
}

REFERENCES: tuple[str, ...] = (
    "Schmittlein, D. C., Morrison, D. G., & Colombo, R. (1987). Counting your customers: "
    "Who are they and what will they do next? Management Science, 33(1), 1–24.",
    "Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). “Counting your customers” the easy "
    "way: An alternative to the Pareto/NBD model. Marketing Science, 24(2), 275–284.",
    "Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value curves "
    "for customer base analysis. Journal of Marketing Research, 42(4), 415–430.",
    "Fader, P. S., & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value. "
    "Note, brucehardie.com.",
    "Fader, P. S., & Hardie, B. G. S. (2007). How to project customer retention. Journal of "
    "Interactive Marketing, 21(1), 76–90.",
    "Gupta, S., Lehmann, D. R., & Stuart, J. A. (2004). Valuing customers. Journal of "
    "Marketing Research, 41(1), 7–18.",
    "McCarthy, D. M., & Fader, P. S. (2018). Customer-based corporate valuation for publicly "
    "traded non-subscription firms. Journal of Marketing Research, 55(5), 617–635.",
    "Kaplan, E. L., & Meier, P. (1958). Nonparametric estimation from incomplete "
    "observations. Journal of the American Statistical Association, 53(282), 457–481.",
    "Cox, D. R. (1972). Regression models and life-tables. Journal of the Royal Statistical "
    "Society, Series B, 34(2), 187–220.",
    "Efron, B. (1979). Bootstrap methods: Another look at the jackknife. The Annals of "
    "Statistics, 7(1), 1–26.",
)

METHOD_NOTES: dict[str, list[str]] = {
    "en": [
        "Repeat purchases: BG/NBD (Fader, Hardie & Lee 2005) with Pareto/NBD (Schmittlein et al. "
        "1987) as a check; spend per order: Gamma-Gamma (Fader & Hardie 2013); memberships: "
        "shifted-beta-geometric renewals (Fader & Hardie 2007).",
        "Customer lifetime value: discounted expected transactions × expected spend × gross "
        "margin over the deal horizon (Fader, Hardie & Lee 2005; Gupta, Lehmann & Stuart 2004).",
        "Churn: Kaplan-Meier curves (Kaplan & Meier 1958) and Cox proportional hazards "
        "(Cox 1972), with a Weibull model to extrapolate beyond the observed window.",
        "Range: bootstrap of customers with model refits (Efron 1979); sensitivities move one "
        "assumption at a time over the ranges in the params file.",
        "Customer-based corporate valuation (McCarthy & Fader 2018) is the frame; future "
        "acquisitions are excluded unless the params say otherwise.",
    ],
    "zh": [
        "复购：采用 BG/NBD 模型（Fader、Hardie 和 Lee，2005），并以 Pareto/NBD 模型"
        "（Schmittlein 等，1987）交叉检验；客单价：Gamma-Gamma 模型（Fader 和 Hardie，2013）；"
        "会员续费：移位贝塔几何模型（Fader 和 Hardie，2007）。",
        "客户终身价值：交易期内预期交易次数的折现值 × 预期客单价 × 毛利率"
        "（Fader、Hardie 和 Lee，2005；Gupta、Lehmann 和 Stuart，2004）。",
        "流失：Kaplan-Meier 生存曲线（Kaplan 和 Meier，1958）与 Cox 比例风险模型（Cox，1972），"
        "并以 Weibull 模型外推观察期之后的剩余生命周期。",
        "估值区间：对客户进行自助抽样（bootstrap）并重新拟合模型（Efron，1979）；"
        "敏感性分析在参数文件给定的范围内逐一调整各项假设。",
        "整体框架为基于客户的企业估值（McCarthy 和 Fader，2018）；"
        "除非参数文件另有规定，不计入未来新增客户的价值。",
    ],
}

FIGURE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "cny": "CNY",
        "bridge_title": "Value bridge",
        "bridge_total": "Transferable value",
        "range_title": "Range of the equity value",
        "equity_cny": "Customer equity (CNY)",
        "replicates": "Bootstrap replicates",
        "point_estimate": "Point estimate",
        "asking_price": "Asking price",
        "tornado_title": "Sensitivity of the equity value",
        "low_end": "Assumption at its low end",
        "high_end": "Assumption at its high end",
        "km_title": "Share of customers still active",
        "days_since_first_purchase": "Days since first purchase",
        "share_still_active": "Still active",
        "forest_title": "Churn drivers (hazard ratios, 95% CI)",
        "hazard_ratio": "Hazard ratio (log scale)",
        "cohort_title": "Retention by signup cohort",
        "months_since_signup": "Months since signup",
        "signup_cohort": "Signup cohort",
        "share_active": "Share active",
        "tracking_title": "Model tracking: actual vs predicted",
        "actual": "Actual",
        "predicted": "Model",
        "holdout_starts": "holdout",
        "period": "Period",
        "cum_transactions": "Cumulative repeat transactions",
        "transactions": "Repeat transactions",
        "clv_tier_title": "CLV by value tier",
        "clv_total_cny": "Total CLV (CNY)",
        "concentration_title": "Customers vs value",
        "share_customers": "Share of customers",
        "share_value": "Share of value",
        "activity_title": "Monthly active customers",
        "returning": "Returning",
        "new": "New",
        "lapsed": "Lapsed",
        "customers": "Customers",
    },
    "zh": {
        "cny": "人民币（元）",
        "bridge_title": "估值桥",
        "bridge_total": "可转让价值",
        "range_title": "客户资产价值分布",
        "equity_cny": "客户资产价值（元）",
        "replicates": "自助抽样次数",
        "point_estimate": "点估计",
        "asking_price": "对方报价",
        "tornado_title": "估值敏感性",
        "low_end": "假设取低值",
        "high_end": "假设取高值",
        "km_title": "仍活跃客户比例",
        "days_since_first_purchase": "首次购买后天数",
        "share_still_active": "仍活跃",
        "forest_title": "流失驱动因素（风险比，95% 置信区间）",
        "hazard_ratio": "风险比（对数刻度）",
        "cohort_title": "按注册月份的留存",
        "months_since_signup": "注册后月数",
        "signup_cohort": "注册月份",
        "share_active": "活跃比例",
        "tracking_title": "模型跟踪：实际与预测",
        "actual": "实际",
        "predicted": "模型",
        "holdout_starts": "留出期",
        "period": "期间",
        "cum_transactions": "累计复购次数",
        "transactions": "复购次数",
        "clv_tier_title": "各价值层级的客户终身价值",
        "clv_total_cny": "客户终身价值合计（元）",
        "concentration_title": "客户占比与价值占比",
        "share_customers": "客户占比",
        "share_value": "价值占比",
        "activity_title": "月度活跃客户",
        "returning": "老客户",
        "new": "新客户",
        "lapsed": "流失",
        "customers": "客户数",
    },
}


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ReportError(f"unknown brief language {lang!r}; use one of: {', '.join(LANGS)}")
    return lang


def text(lang: str, key: str, **values: object) -> str:
    """The narrative string ``key`` in ``lang``, filled with ``values``.

    Raises
    ------
    ReportError
        For an unknown language or key.
    """
    table = NARRATIVE[_check_lang(lang)]
    if key not in table:
        raise ReportError(f"no narrative text {key!r} (see valuation/report/text.py)")
    return table[key].format(**values) if values else table[key]


def section_title(lang: str, key: str) -> str:
    """The heading of section ``key`` (one of :data:`SECTION_KEYS`) in ``lang``."""
    return SECTIONS[_check_lang(lang)][key]


def figure_labels(lang: str) -> dict[str, str]:
    """Axis labels and titles of the figures in ``lang``."""
    return dict(FIGURE_LABELS[_check_lang(lang)])


def format_money(value: float | None, lang: str) -> str:
    """Money as a deal team writes it: ``CNY 12.35m`` in English, ``1,234.5万元`` in Chinese."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text(lang, "missing_value")
    if _check_lang(lang) == "zh":
        if abs(value) >= 1e8:
            return f"{value / 1e8:,.2f}亿元"
        if abs(value) >= 1e4:
            return f"{value / 1e4:,.1f}万元"
        return f"{value:,.0f}元"
    if abs(value) >= 1e6:
        return f"CNY {value / 1e6:,.2f}m"
    if abs(value) >= 1e4:
        return f"CNY {value / 1e3:,.0f}k"
    return f"CNY {value:,.0f}"


def format_share(value: float | None, lang: str) -> str:
    """A share 0..1 as a percentage with one decimal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text(lang, "missing_value")
    return f"{100 * value:.1f}%"


def format_count(value: float | None, lang: str) -> str:
    """A count with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text(lang, "missing_value")
    return f"{value:,.0f}"
