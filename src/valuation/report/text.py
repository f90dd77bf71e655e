"""Every narrative string of the brief and its figures, one table per language.

Keep wording here, never in the notebook or in :mod:`valuation.plots`: a translator or a deal
lead edits one file. Strings are :meth:`str.format` templates; :func:`text` fills them.
The Chinese text is written for a Chinese deal team (not a word-for-word translation).
"""

from __future__ import annotations

from valuation.errors import ReportError
from valuation.report import formatting as F

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
        "confidential": (
            "Confidential. Aggregates only: any table cell describing fewer than {k} customers "
            "is suppressed (shown as “<{k}” or “–”)."
        ),
        "range_sentence": (
            "The transferable customer base is worth **{p50}** (P50), with an 80% range of "
            "**{p10} – {p90}** (P10 – P90); the point estimate is {point}."
        ),
        "position_sentence": (
            "Recommended position for the {side}: anchor at **{anchor}**, aim for **{target}**, "
            "walk away at **{walk_away}**."
        ),
        "asking_buyer": "The seller asks **{asking}**, {where}",
        "asking_seller": "The price on the table is **{asking}**, {where}",
        "asking_above": "above our whole range (P90 {p90}{ratio}).",
        "asking_below": "below our whole range (P10 {p10}{ratio}).",
        "asking_ratio": "; {ratio:.1f}× our P50",
        "asking_inside": "at about the P{pct} of our range.",
        "zone_buyer_yes": "An agreement is possible between {low} and {high}.",
        "zone_buyer_no": "It exceeds our walk-away by {gap}: the seller must come down.",
        "zone_seller_yes": "It reaches our walk-away: an agreement is possible between {low} and {high}.",
        "zone_seller_no": "It is {gap} below our walk-away: the buyer must come up.",
        "no_asking": "No asking price is known yet.",
        "per_customer_sentence": (
            "Our target price is {per_active} per active transferable customer ({active} "
            "customers); a {multiple:g}× trailing-revenue multiple would imply {multiple_price}."
        ),
        "risks_heading": "The three biggest risks",
        "risk_line": "**{name}**: {effect} of value at stake. {explanation}",
        "earn_out_heading": "Earn-out proposal",
        "earn_out_sentence": (
            "Make {share} of the price ({amount}) contingent on customers retained 12 months "
            "after transfer: expected {expected} retained (P10 {p10}, P90 {p90})."
        ),
        "scope_sentence": (
            "{customers} customer records, {orders} orders, {events} activity records and "
            "{feedback} feedback records, from {first} to {last}."
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
        "pipl_cross_border": (
            "Cross-border: the buyer will hold the data outside the mainland. For {people} "
            "people ({sensitive} with sensitive personal information: under 14, or a resident "
            "ID number where treated as sensitive) the route is: {route} ({basis}); typical "
            "lead time {lead_time}. Reference in params: {ref}."
        ),
        "pipl_mainland": (
            "Destination: the buyer holds the data in the mainland; no cross-border route is needed."
        ),
        "pipl_destruction": (
            "Destruction: data of customers who cannot be transferred, and all deal copies, are "
            "destroyed at closing with a certificate; the deal key is destroyed last."
        ),
        "quality_sentence": (
            "Quality score {score}/100. The valuation applies a haircut of {haircut}: "
            "records failing authenticity checks are excluded, the others are kept with a flag."
        ),
        "findings_intro": "The checks that found problems, worst first — the questions for the seller:",
        "no_findings": "No check found a problem.",
        "activity_sentence": (
            "{active} customers ordered or studied in the 12 months to {as_of}."
        ),
        "expected_active_sentence": (
            "The purchase model (BG/NBD) counts {alive} of today's customers as still 'alive' "
            "12 months from now, {buying} of them buying in that month. BG/NBD keeps every "
            "customer without a repeat purchase alive, so the churn section's survival "
            "estimate is the better count of who stays."
        ),
        "expected_active_missing": (
            "No purchase model is used for this target, so no 12-month outlook of active "
            "customers is given; see the churn section."
        ),
        "churn_sentence": (
            "A customer counts as churned after {days} days without an order or activity. "
            "Median lifetime: {median}. Share lost within 12 months of the first purchase "
            "(Kaplan-Meier): {churn_12m}."
        ),
        "km_note": "Curves by acquisition channel; channels with fewer than {n} customers are not drawn.",
        "drivers_sentence": (
            "Hazard ratios above 1 mean faster churn, below 1 longer lifetimes, each against "
            "the reference level ({reference}). The forest plot shows every hazard ratio with "
            "its 95% interval."
        ),
        "no_drivers": (
            "No driver passes both checks: significant after the Benjamini-Hochberg correction "
            "for testing many hazard ratios at once (q < 0.05) and again significant, in the same "
            "direction, among the customers who joined later (the out-of-time check)."
        ),
        "drivers_association_note": (
            "The table lists only drivers significant after the Benjamini-Hochberg correction "
            "(q < 0.05) that hold again among the customers who joined later. These are "
            "associations in the seller's data, not causes: customers were not assigned to "
            "channels, courses or scores, so a hazard ratio does not say what would happen if "
            "the buyer changed them."
        ),
        "data_availability_signal": (
            "{covariate} goes with faster churn (hazard ratio {hr}, 95% interval {ci}). This is a "
            "data-availability signal, not a behaviour: customers who leave early have fewer "
            "chances to leave a score, so it is not listed as a driver."
        ),
        "clv_sentence": (
            "The top 10% of customers carry {top10} of the value; the top 1% carry {top1}."
        ),
        "bridge_sentence": (
            "The bridge goes from the gross equity of all customers to the value of the "
            "transferable base; every step is an amount in CNY and the steps add up exactly."
        ),
        "tornado_sentence": "The assumptions that move the value most are at the top.",
        "validation_sentence": (
            "The purchase model was fitted on purchases up to {calibration_end} and then asked "
            "to predict the {weeks} weeks to {as_of} without seeing them: it expected "
            "{predicted} repeat purchases against {actual} actual ({error}). Per customer, "
            "predicted and actual holdout purchases correlate at {corr} (mean absolute error "
            "{mae} purchases)."
        ),
        "validation_table_note": (
            "Mean holdout purchases per customer, by repeat purchases in the calibration period."
        ),
        "validation_skipped": (
            "No purchase-model validation: {reason}. The valuation rests on the retention "
            "curves shown in the churn section."
        ),
        "figure_notice": "Note on figures: {notice}",
        "suppressed_note": "Cells describing fewer than {k} customers are suppressed (shown as “<{k}” or “–”).",
        "handover_intro": (
            "Data to be delivered at closing and confirmed by both sides. Tick each line only "
            "when the recipient has checked the checksum."
        ),
        "handover_item": "Item",
        "handover_detail": "Detail",
        "handover_delivered": "Delivered",
        "handover_confirmed": "Confirmed",
        "timing_sentence": "Timing: kernel start {kernel:.1f} s, compute {compute:.1f} s, export {export:.1f} s.",
        "days": "{n:,.0f} days",
        "median_not_reached": "not reached (more than half of the customers are still active at the end of the observed window)",
        "missing_value": "n/a",
        "references": "References",
        "fallback_note": (
            "Simplified method for this target: repeat purchases are valued at the empirical "
            "repeat-purchase rate times the Kaplan-Meier retention curve instead of "
            "BG/NBD + Gamma-Gamma, because {reason}."
        ),
    },
    "zh": {
        "title": "谈判简报：{name}",
        "subtitle": "客户资产估值基准日 {as_of} · 我方为{side} · 生成于 {generated}",
        "side_buyer": "买方",
        "side_seller": "卖方",
        "confidential": "保密文件，仅含汇总数据：涉及客户少于 {k} 人的单元格均已隐去（显示为“<{k}”或“–”）。",
        "range_sentence": (
            "可转让客户资产的估值中位数为 **{p50}**（P50），80% 区间为 **{p10} – {p90}**"
            "（P10 – P90）；点估计为 {point}。"
        ),
        "position_sentence": (
            "作为{side}，建议以 **{anchor}** 开价，以 **{target}** 为目标成交价，"
            "**{walk_away}** 为谈判底线。"
        ),
        "asking_buyer": "卖方报价 **{asking}**，{where}",
        "asking_seller": "买方出价 **{asking}**，{where}",
        "asking_above": "高于我方整个估值区间（P90 为 {p90}{ratio}）。",
        "asking_below": "低于我方整个估值区间（P10 为 {p10}{ratio}）。",
        "asking_ratio": "，为我方 P50 的 {ratio:.1f} 倍",
        "asking_inside": "约处于我方估值区间的 P{pct} 位置。",
        "zone_buyer_yes": "双方可在 {low} 至 {high} 之间达成一致。",
        "zone_buyer_no": "比我方底线高出 {gap}，需卖方让步。",
        "zone_seller_yes": "已达到我方底线，双方可在 {low} 至 {high} 之间达成一致。",
        "zone_seller_no": "比我方底线低 {gap}，需买方加价。",
        "no_asking": "目前尚无对方报价。",
        "per_customer_sentence": (
            "按目标价计，每位可转让活跃客户约 {per_active}（共 {active} 人）；"
            "若按近 12 个月营收的 {multiple:g} 倍估值，则为 {multiple_price}。"
        ),
        "risks_heading": "三大风险",
        "risk_line": "**{name}**：涉及价值 {effect}。{explanation}",
        "earn_out_heading": "或有对价（对赌）安排",
        "earn_out_sentence": (
            "建议将价款的 {share}（{amount}）与交割后 12 个月的客户留存挂钩："
            "预计留存 {expected} 人（P10 {p10} 人，P90 {p90} 人）。"
        ),
        "scope_sentence": (
            "共 {customers} 条客户记录、{orders} 笔订单、{events} 条学习记录、{feedback} 条评价，"
            "时间跨度 {first} 至 {last}。"
        ),
        "cohort_heading": "转让同意情况",
        "minors_sentence": (
            "注册时未满 14 周岁的学员 {minors} 人，其中 {minors_no_guardian} 人缺少监护人同意，"
            "已排除在可转让客户之外。"
        ),
        "pseudonymised_sentence": (
            "分析前，姓名、手机号、身份证号和电子邮箱均已替换为带密钥的假名（HMAC-SHA256，"
            "每个交易一把密钥）；评价文本已脱敏。仅保留出生年份段、性别、省份和未成年标记。"
        ),
        "log_sentence": "处理记录：{log_ref}。",
        "pipl_heading": "合同中需约定的个人信息保护事项",
        "pipl_art22": (
            "第二十二条告知义务：须向每位被转让的客户告知接收方的名称和联系方式；"
            "告知成本已计入估值桥（{cost}）。"
        ),
        "pipl_purpose": (
            "目的限制：接收方只能在原处理目的范围内继续处理（{purpose}）；"
            "变更处理目的须重新取得个人同意。"
        ),
        "pipl_cross_border": (
            "数据出境：接收方将在境外存储数据。涉及 {people} 人（其中敏感个人信息 {sensitive} 人："
            "未满 14 周岁，或按敏感信息处理的身份证号码），适用路径：{route}（{basis}）；"
            "通常所需时间 {lead_time}。参数中记录的编号：{ref}。"
        ),
        "pipl_mainland": "数据去向：接收方在境内存储数据，无需数据出境路径。",
        "pipl_destruction": (
            "删除与销毁：不能转让的客户数据及交易过程中的全部副本于交割时销毁并出具证明；"
            "交易密钥最后销毁。"
        ),
        "quality_sentence": (
            "数据质量得分 {score}/100，估值相应扣减 {haircut}：未通过真实性核查的记录予以剔除，"
            "其余问题记录保留并标注。"
        ),
        "findings_intro": "发现问题的核查项（按严重程度排列），即需向卖方核实的问题：",
        "no_findings": "各项核查均未发现问题。",
        "activity_sentence": "截至 {as_of} 的近 12 个月内，有 {active} 位客户下单或参加学习。",
        "expected_active_sentence": (
            "按购买模型（BG/NBD），现有客户中约 {alive} 人在 12 个月后仍处于“存活”状态，"
            "其中约 {buying} 人会在第 12 个月下单。BG/NBD 假设从未复购的客户始终“存活”，"
            "因此留存人数应以流失分析一节的生存估计为准。"
        ),
        "expected_active_missing": "该标的未采用购买模型，因此不预测 12 个月后的活跃客户数，请参阅流失分析一节。",
        "churn_sentence": (
            "连续 {days} 天既无订单也无学习记录即视为流失。客户生命周期中位数为 {median}；"
            "首次购买后 12 个月内流失的比例（Kaplan-Meier 估计）为 {churn_12m}。"
        ),
        "km_note": "按获客渠道分组；客户少于 {n} 人的渠道不单独绘制。",
        "drivers_sentence": (
            "风险比大于 1 表示流失更快，小于 1 表示留存更久，均相对于基准组（{reference}）。"
            "森林图展示每个风险比及其 95% 区间。"
        ),
        "no_drivers": (
            "没有因素同时通过两项检验：经 Benjamini-Hochberg 多重检验校正后显著（q < 0.05），"
            "并且在较晚加入的客户中再次以相同方向显著（跨时间稳定性检验）。"
        ),
        "drivers_association_note": (
            "下表仅列出经 Benjamini-Hochberg 多重检验校正后显著（q < 0.05）、且在较晚加入的客户中"
            "依然成立的因素。这些是卖方数据中的相关关系，而非因果关系：客户并非被随机分配到渠道、"
            "课程或评分，风险比不能说明买方改变这些因素后会发生什么。"
        ),
        "data_availability_signal": (
            "{covariate}与更快流失相关（风险比 {hr}，95% 区间 {ci}）。这是数据可得性信号，"
            "而非客户行为：较早离开的客户留下评分的机会更少，因此不列为流失驱动因素。"
        ),
        "clv_sentence": "价值最高的 10% 客户贡献了 {top10} 的价值，最高的 1% 贡献了 {top1}。",
        "bridge_sentence": (
            "估值桥从全部客户的客户资产总额出发，逐项扣减至可转让客户的价值；"
            "每一步均以人民币计，各项合计完全吻合。"
        ),
        "tornado_sentence": "对估值影响最大的假设排在最上方。",
        "validation_sentence": (
            "购买模型仅用 {calibration_end} 之前的订单拟合，再对截至 {as_of} 的 {weeks} 周留出期"
            "进行预测：预测复购 {predicted} 次，实际 {actual} 次（{error}）。"
            "逐个客户看，留出期预测与实际购买次数的相关系数为 {corr}，平均绝对误差 {mae} 次。"
        ),
        "validation_table_note": "按校准期复购次数分组的留出期人均购买次数（实际与预测）。",
        "validation_skipped": "未进行购买模型验证：{reason}。估值依据流失分析一节中的留存曲线。",
        "figure_notice": "图表说明：{notice}",
        "suppressed_note": "涉及客户少于 {k} 人的单元格已隐去（显示为“<{k}”或“–”）。",
        "handover_intro": "交割时须移交并经双方确认的数据。接收方核对校验值后方可勾选。",
        "handover_item": "项目",
        "handover_detail": "说明",
        "handover_delivered": "已移交",
        "handover_confirmed": "已确认",
        "timing_sentence": "耗时：内核启动 {kernel:.1f} 秒，计算 {compute:.1f} 秒，导出 {export:.1f} 秒。",
        "days": "{n:,.0f} 天",
        "median_not_reached": "尚未达到（观察期末仍有过半客户保持活跃）",
        "missing_value": "无",
        "references": "参考文献",
        "fallback_note": (
            "本标的采用简化方法：复购价值按经验复购率乘以 Kaplan-Meier 留存曲线估算，"
            "而非 BG/NBD + Gamma-Gamma 模型，原因是：{reason}。"
        ),
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
    "Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Customer-base analysis in a "
    "discrete-time noncontractual setting. Marketing Science, 29(6), 1086–1108.",
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
        "Data: the scope and consent counts describe the data as delivered; activity, churn, "
        "segments and the valuation use the cleaned tables (the records the data review "
        "excludes are removed, duplicate records of a person merged).",
        "Repeat purchases: BG/NBD (Fader, Hardie & Lee 2005) with Pareto/NBD (Schmittlein et al. "
        "1987) as a check; spend per order: Gamma-Gamma (Fader & Hardie 2013); memberships: "
        "shifted-beta-geometric renewals (Fader & Hardie 2007).",
        "Customer lifetime value: discounted expected transactions × expected spend × gross "
        "margin over the deal horizon (Fader, Hardie & Lee 2005; Gupta, Lehmann & Stuart 2004).",
        "Churn: Kaplan-Meier curves (Kaplan & Meier 1958) and Cox proportional hazards "
        "(Cox 1972) on every customer, with a Weibull model to extrapolate beyond the observed "
        "window; on large bases the proportional-hazards check and the Weibull fit use a "
        "fixed-seed sample that keeps the churn rate (20,000 and 50,000 customers).",
        "Range: bootstrap of customers with model refits (Efron 1979); sensitivities move one "
        "assumption at a time over the ranges in the params file.",
        "Customer-based corporate valuation (McCarthy & Fader 2018) is the frame; future "
        "acquisitions are excluded unless the params say otherwise.",
    ],
    "zh": [
        "数据：范围与同意情况按卖方交付的原始数据统计；活跃度、流失、分层与估值均基于清洗后的"
        "数据表（剔除数据审查排除的记录，合并同一人的重复记录）。",
        "复购：采用 BG/NBD 模型（Fader、Hardie 和 Lee，2005），并以 Pareto/NBD 模型"
        "（Schmittlein 等，1987）交叉检验；客单价：Gamma-Gamma 模型（Fader 和 Hardie，2013）；"
        "会员续费：移位贝塔几何模型（Fader 和 Hardie，2007）。",
        "客户终身价值：交易期内预期交易次数的折现值 × 预期客单价 × 毛利率"
        "（Fader、Hardie 和 Lee，2005；Gupta、Lehmann 和 Stuart，2004）。",
        "流失：Kaplan-Meier 生存曲线（Kaplan 和 Meier，1958）与 Cox 比例风险模型（Cox，1972），"
        "并以 Weibull 模型外推观察期之后的剩余生命周期；客户量较大时，比例风险检验与 Weibull "
        "拟合使用保持流失率的固定种子抽样（分别为 20,000 与 50,000 名客户）。",
        "估值区间：对客户进行自助法重抽样并重新拟合模型（Efron，1979）；"
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


# Numbers, money and dates: one module for both languages (re-exported here for the callers
# that format through this module)
format_money = F.format_money
format_share = F.format_share
format_count = F.format_count
format_date = F.format_date
format_timestamp = F.format_timestamp


LABELS: dict[str, dict[str, dict[str, str]]] = {
    # review checks (names of docs/contract.md)
    "check": {
        "en": {
            "invalid_id_checksum": "ID number with a wrong check digit",
            "impossible_birth_date": "Impossible birth date in the ID number",
            "dummy_phone": "Dummy mobile number",
            "repeated_phone": "Mobile shared by different people",
            "duplicate_person": "Same person under several records",
            "signup_burst": "Burst of signups on one day",
            "missing_fields": "Customer record with missing fields",
            "orphan_orders": "Order without a customer record",
            "missing_consent": "Transfer consent not recorded",
            "minor_without_guardian_consent": "Pupil under 14 without guardian consent",
            "payment_before_signup": "Payment before signup",
            "non_positive_amount": "Zero or negative payment",
            "refund_exceeds_payment": "Refund larger than the payment",
            "activity_after_full_refund": "Activity after a full refund",
            "future_dates": "Date after the valuation date",
            "before_opening": "Date before the school opened",
        },
        "zh": {
            "invalid_id_checksum": "身份证号校验位错误",
            "impossible_birth_date": "身份证号出生日期不合理",
            "dummy_phone": "虚假手机号",
            "repeated_phone": "不同人员共用手机号",
            "duplicate_person": "同一人重复建档",
            "signup_burst": "单日注册量异常激增",
            "missing_fields": "客户信息缺项",
            "orphan_orders": "订单无对应客户",
            "missing_consent": "未记录转让同意",
            "minor_without_guardian_consent": "未满 14 周岁且无监护人同意",
            "payment_before_signup": "付款早于注册",
            "non_positive_amount": "付款金额为零或负数",
            "refund_exceeds_payment": "退款金额超过付款",
            "activity_after_full_refund": "全额退款后仍有学习记录",
            "future_dates": "日期晚于估值基准日",
            "before_opening": "日期早于开业日",
        },
    },
    "group": {
        "en": {"authenticity": "Authenticity", "completeness": "Completeness",
               "consistency": "Consistency"},
        "zh": {"authenticity": "真实性", "completeness": "完整性", "consistency": "一致性"},
    },
    "unit": {
        "en": {"customers": "customers", "orders": "orders", "records": "records"},
        "zh": {"customers": "学员", "orders": "订单", "records": "记录"},
    },
    "severity": {
        "en": {"info": "none", "low": "low", "medium": "medium", "high": "high"},
        "zh": {"info": "无", "low": "低", "medium": "中", "high": "高"},
    },
    "treatment": {
        "en": {"exclude": "excluded", "flag": "kept, flagged"},
        "zh": {"exclude": "剔除", "flag": "标记保留"},
    },
    "cohort": {
        "en": {"all": "All customers", "transferable": "Transfer consent given",
               "transferable_contactable": "Consent given and contactable"},
        "zh": {"all": "全部客户", "transferable": "已同意转让",
               "transferable_contactable": "已同意转让且可联系"},
    },
    "bridge": {
        "en": {},  # the value module's own labels are used in English
        "zh": {
            "gross_equity": "客户资产总额（全部客户）",
            "quality_haircut": "数据质量扣减",
            "not_transferable": "不可转让客户",
            "change_of_owner_attrition": "控制权变更导致的流失",
            "notification_cost": "告知成本（第二十二条）",
            "integration_cost": "整合成本",
            "future_acquisitions": "未来新增客户（假设）",
            "value_with_acquisitions": "含未来新增客户的价值（假设）",
            "transferable_value": "可转让客户资产价值",
        },
    },
    "purpose": {
        "en": {},
        # the params' default purpose; a purpose written in the params is shown as written
        "zh": {"valuation of the customer base for an M&A transaction": "并购交易中的客户资产估值"},
    },
    "assumption": {
        "en": {},  # the value module's tornado labels are used in English
        "zh": {
            "annual_discount_rate": "折现率",
            "gross_margin": "毛利率",
            "one_off_loss": "转让时一次性流失率",
            "horizon_years": "估值期限（年）",
            "inactivity_days": "流失判定天数",
        },
    },
    "risk": {
        "en": {
            "consent_gap": "Consent gap",
            "data_quality": "Data quality",
            "churn_after_transfer": "Churn after the transfer",
            "concentration": "Concentration in a few customers",
            "assumption": "Assumption: {label}",
        },
        "zh": {
            "consent_gap": "转让同意缺口",
            "data_quality": "数据质量",
            "churn_after_transfer": "转让后的客户流失",
            "concentration": "价值集中于少数客户",
            "assumption": "假设：{label}",
        },
    },
    "risk_explanation": {
        "en": {},  # the value module's explanations are used in English
        "zh": {
            "consent_gap": "无法转让的客户价值，加上可转让但无法联系告知的客户价值。",
            "data_quality": "对保留但有质量标记记录的扣减。",
            "churn_after_transfer": "控制权变更时的一次性流失及其后流失风险的上升。",
            "concentration": "价值最高的 1% 客户所持有的价值，若其离开即告损失。",
            "assumption": "该假设在 {low} 至 {high} 之间变动时估值的变化幅度。",
        },
    },
    "position": {
        "en": {"anchor": "Anchor (opening offer)", "target": "Target", "walk_away": "Walk-away"},
        "zh": {"anchor": "开价", "target": "目标价", "walk_away": "底线"},
    },
    "covariate": {
        "en": {"channel": "Channel", "category": "Course category", "age_band": "Age band",
               "city_tier": "City tier", "first_order_value": "First order value (per ¥10,000)",
               "satisfaction": "Satisfaction score", "satisfaction_missing": "No satisfaction score",
               "minor": "Under 14 at signup"},
        "zh": {"channel": "渠道", "category": "课程类别", "age_band": "年龄段",
               "city_tier": "城市等级", "first_order_value": "首单金额（每万元）",
               "satisfaction": "满意度评分", "satisfaction_missing": "无满意度评分",
               "minor": "注册时未满 14 周岁"},
    },
    "level": {
        "en": {"tier1": "tier 1", "new_tier1": "new tier 1", "tier2": "tier 2", "other": "other",
               "unknown": "unknown"},
        "zh": {"search": "搜索", "wechat": "微信", "douyin": "抖音", "referral": "转介绍",
               "offline": "线下", "partner": "合作方", "unknown": "未知", "other": "其他",
               "tier1": "一线", "new_tier1": "新一线", "tier2": "二线",
               "programming": "编程开发", "data": "数据分析", "cloud": "云计算与运维",
               "design": "设计与产品", "security": "网络安全", "membership": "会员",
               "exam": "考试认证"},
    },
    "tier": {
        "en": {},
        "zh": {"A top 10%": "A 前 10%", "B next 20%": "B 其后 20%", "C next 30%": "C 其后 30%",
               "D bottom 40%": "D 末尾 40%"},
    },
    "column": {
        "en": {
            "cohort": "Cohort", "customers": "Customers", "share": "Share of all",
            "check": "Finding", "group": "Group", "failed": "Records", "unit": "Unit",
            "share_of_customers": "Customers affected", "share_of_revenue": "Revenue affected",
            "severity": "Severity", "treatment": "Treatment",
            "covariate": "Driver", "hazard_ratio": "Hazard ratio", "ci": "95% interval", "p": "p-value",
            "q": "q-value (BH)",
            "tier": "Value tier", "customer_share": "Share of customers", "revenue": "Revenue to date",
            "revenue_share": "Share of revenue", "clv": "CLV", "clv_share": "Share of CLV",
            "mean_clv": "CLV per customer",
            "step": "Step", "amount": "Amount",
            "frequency": "Repeat purchases (calibration)", "actual": "Actual (mean)",
            "predicted": "Predicted (mean)",
            "position": "Position", "price": "Price", "percentile": "Percentile",
            "active_customers": "Active", "equity": "Equity (current owner)",
            "equity_transferred": "Equity after transfer",
        },
        "zh": {
            "cohort": "客户群", "customers": "客户数", "share": "占全部客户",
            "check": "问题", "group": "类别", "failed": "记录数", "unit": "单位",
            "share_of_customers": "涉及客户占比", "share_of_revenue": "涉及收入占比",
            "severity": "严重程度", "treatment": "处理方式",
            "covariate": "因素", "hazard_ratio": "风险比", "ci": "95% 置信区间", "p": "p 值",
            "q": "q 值（BH 校正）",
            "tier": "价值层级", "customer_share": "客户占比", "revenue": "累计收入",
            "revenue_share": "收入占比", "clv": "客户终身价值", "clv_share": "价值占比",
            "mean_clv": "人均客户终身价值",
            "step": "项目", "amount": "金额",
            "frequency": "校准期复购次数", "actual": "实际（人均）", "predicted": "预测（人均）",
            "position": "立场", "price": "价格", "percentile": "分位",
            "active_customers": "活跃客户", "equity": "客户资产（现东家）",
            "equity_transferred": "转让后客户资产",
        },
    },
}
"""Human-readable labels of the identifiers stages return (check names, cohorts, bridge
steps, risks, covariates, table columns), per kind and language. English labels left empty
fall back to the stage's own label (the value module labels its bridge and tornado in
English) or to a tidied identifier."""


def label(lang: str, kind: str, key: object, default: str | None = None) -> str:
    """The label of identifier ``key`` of ``kind`` in ``lang``.

    Falls back to ``default`` (a stage's own label) and then to the identifier with
    underscores turned into spaces, so a new identifier never breaks a brief.

    Examples
    --------
    >>> label("zh", "check", "dummy_phone")
    '虚假手机号'
    >>> label("en", "cohort", "transferable")
    'Transfer consent given'
    >>> label("en", "bridge", "gross_equity", default="Gross customer equity")
    'Gross customer equity'
    """
    table = LABELS.get(kind, {}).get(_check_lang(lang), {})
    name = str(key)
    if name in table:
        return table[name]
    if default is not None:
        return default
    return name.replace("_", " ")


REASONS: tuple[tuple[str, str], ...] = (
    (r"only (\d+) customer\(s\) with a repeat purchase \(fewer than (\d+)\): too few to fit BG/NBD",
     "仅 {0} 位客户有复购（少于 {1} 位），不足以拟合 BG/NBD 模型"),
    (r"the purchase or spend model could not be fitted.*", "购买模型或客单价模型无法拟合"),
    (r"the BG/NBD likelihood is flat at the optimum.*",
     "BG/NBD 似然函数在最优点处平坦（这些数据无法识别客户流失，模型会假设客户永不流失）"),
    (r"the valuation uses no repeat-purchase model for this target", "该标的估值未使用复购模型"),
)
"""The reasons the stages give (in English) for a fallback or a skipped validation, as
patterns with their Chinese wording; an unknown reason gets :data:`UNKNOWN_REASON`."""

UNKNOWN_REASON: dict[str, str] = {"zh": "模型无法在这些数据上完成拟合"}


def reason_text(lang: str, reason: str) -> str:
    """A stage's reason (English) in ``lang``: as given in English, translated in Chinese."""
    import re

    if _check_lang(lang) == "en":
        return reason
    for pattern, wording in REASONS:
        match = re.fullmatch(pattern, reason.strip().rstrip("."))
        if match:
            return wording.format(*match.groups())
    return UNKNOWN_REASON[lang]


def covariate_label(lang: str, name: str, reference: dict[str, str] | None = None) -> str:
    """A design column of the churn model as a reader says it: ``channel[offline]`` ->
    ``Channel: offline (vs search)``."""
    if "[" in name and name.endswith("]"):
        covariate, level = name[:-1].split("[", 1)
        sep = "：" if lang == "zh" else ": "
        text_ = f"{label(lang, 'covariate', covariate)}{sep}{label(lang, 'level', level)}"
        if reference and covariate in reference:
            ref = label(lang, "level", reference[covariate])
            text_ += f"（对比：{ref}）" if lang == "zh" else f" (vs {ref})"
        return text_
    return label(lang, "covariate", name)


def format_money_exact(value: float | None, lang: str) -> str:
    """Money for tables (see :func:`valuation.report.formatting.format_money_table`)."""
    return F.format_money_table(value, lang if lang in LANGS else "en")
