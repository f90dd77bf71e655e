"""Wording of the negotiation plan on page 1 of the brief (issue 16), English and Chinese.

Reasons arrive as codes and numbers (:mod:`valuation.value.positions`,
:mod:`valuation.value.earnout`, :mod:`valuation.value.implied`); the sentences are here.
"""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Negotiation plan (page 1)",
        "scope": "**Scope.** The value covers the {customers} existing customers only "
                 "({active} active and transferable). {signups} {actives} {acquisitions}",
        "signups": "New customers in the last 12 months: {n12} (the 12 months before: "
                   "{nprev}); the last month with a new customer: {last}.",
        "actives": "Monthly active customers: {then} in {then_month}, {now} in {now_month}.",
        "acq_on": "Future acquisitions are valued separately ({value}), never in the range.",
        "acq_off": "Future acquisitions are not valued.",
        "assumptions_heading": "Base-case assumptions and the ranges drawn jointly",
        "range": "**Range (model and assumptions together):** P10 {p10} / P50 {p50} / "
                 "P90 {p90}; the model's parameter noise alone: P10 {m10} / P90 {m90}.",
        "price": "**Counterparty's price:** {price} ({kind}); it sits at P{pct} of our range.",
        "no_price": "**Counterparty's price:** none given in params.",
        "kind_ask": "their ask", "kind_offer": "their standing offer",
        "reservations": "**Reservation prices.** Ours: {ours} ({ours_why}). Theirs, "
                        "estimated: {theirs} ({theirs_why}).",
        "zone_yes": "**Zone of possible agreement:** {low} – {high}.",
        "zone_no": "**No zone of possible agreement:** {gap} lies between our walk-away and "
                   "their estimated reservation. Bridging structures: {bridges}.",
        "bridge_earn_out": "an earn-out for the gap ({amount})",
        "bridge_instalments": "our walk-away in {years} yearly instalments (nominal "
                              "{nominal}, present value {pv})",
        "positions_heading": "Positions",
        "concessions_heading": "Concession plan (shrinking steps)",
        "implied_heading": "What you must believe to agree the counterparty's price",
        "earn_out_heading": "Earn-out term sheet",
        "reconsent": "**Re-consent campaign (scenario):** {contacted} customers without "
                     "transfer consent asked again at {cost} each; net {low} to {high} "
                     "(middle {mid}, in the bridge); it pays for itself above a {be} "
                     "response rate.",
        "football_title": "Football field: methods, price and positions",
        "method_combined": "Customer-based, model + assumptions (P10–P90)",
        "method_model": "Customer-based, model only (P10–P90)",
        "method_acq": "Customer-based + future acquisitions (P10–P90)",
        "method_multiple": "Revenue multiple ({multiple:g}x trailing revenue)",
        "method_per_active": "Per active customer (margin x retention annuity)",
        "anchor": "Anchor", "target": "Target", "walk_away": "Walk-away",
        "counterparty_price": "Counterparty price",
        "col_position": "Position", "col_price": "Price", "col_pct": "Percentile",
        "col_reason": "Why", "col_step": "Step", "col_to": "Move to", "col_size": "Size",
        "col_lever": "Assumption", "col_data": "Data / base case", "col_implied": "Price implies",
        "col_assumption": "Assumption", "col_base": "Base", "col_low": "Low",
        "col_high": "High", "col_law": "Distribution", "col_term": "Term", "col_value": "Value",
        "not_reachable": "not reachable within [{low}, {high}]",
        "not_applicable": "not applicable",
        "beyond_target": " (beyond the target: only to close)",
    },
    "zh": {
        "heading": "谈判方案（第一页）",
        "scope": "**范围。** 估值仅涵盖现有客户 {customers} 人（其中可转让且活跃 {active} 人）。"
                 "{signups}{actives}{acquisitions}",
        "signups": "近 12 个月新增客户 {n12} 人（此前 12 个月 {nprev} 人）；最后一个有新增客户的月份：{last}。",
        "actives": "月活跃客户：{then_month} 为 {then} 人，{now_month} 为 {now} 人。",
        "acq_on": "未来新增客户单独估值（{value}），不计入区间。",
        "acq_off": "未对未来新增客户估值。",
        "assumptions_heading": "基准假设及联合抽样区间",
        "range": "**区间（模型与假设合并）：** P10 {p10} / P50 {p50} / P90 {p90}；"
                 "仅模型参数误差：P10 {m10} / P90 {m90}。",
        "price": "**对方价格：** {price}（{kind}），位于我方区间的 P{pct}。",
        "no_price": "**对方价格：** 参数中未提供。",
        "kind_ask": "对方要价", "kind_offer": "对方有效报价",
        "reservations": "**保留价格。** 我方：{ours}（{ours_why}）。对方（估计）：{theirs}（{theirs_why}）。",
        "zone_yes": "**可达成协议区间：** {low} – {high}。",
        "zone_no": "**不存在可达成协议区间：** 我方底线与对方估计保留价格之间相差 {gap}。"
                   "可用的弥合结构：{bridges}。",
        "bridge_earn_out": "以业绩对赌支付差额（{amount}）",
        "bridge_instalments": "按我方底线分 {years} 年等额支付（名义价格 {nominal}，现值 {pv}）",
        "positions_heading": "谈判立场",
        "concessions_heading": "让步计划（逐步递减）",
        "implied_heading": "要接受对方价格，必须相信什么",
        "earn_out_heading": "对赌条款（业绩对赌条款清单）",
        "reconsent": "**重新征得同意（情景）：** 向 {contacted} 名未同意转让的客户再次征求同意，"
                     "每人成本 {cost}；净值 {low} 至 {high}（中值 {mid}，已列入估值桥）；"
                     "回复率高于 {be} 即可收回成本。",
        "football_title": "估值区间对比图（football field）",
        "method_combined": "客户法：模型与假设合并（P10–P90）",
        "method_model": "客户法：仅模型（P10–P90）",
        "method_acq": "客户法 + 未来新增客户（P10–P90）",
        "method_multiple": "收入倍数法（{multiple:g} 倍近 12 个月收入）",
        "method_per_active": "单个活跃客户法（毛利 × 留存年金）",
        "anchor": "开价", "target": "目标", "walk_away": "底线",
        "counterparty_price": "对方价格",
        "col_position": "立场", "col_price": "价格", "col_pct": "分位", "col_reason": "理由",
        "col_step": "步骤", "col_to": "让至", "col_size": "幅度",
        "col_lever": "假设", "col_data": "数据 / 基准", "col_implied": "对方价格隐含",
        "col_assumption": "假设", "col_base": "基准", "col_low": "低", "col_high": "高",
        "col_law": "分布", "col_term": "条款", "col_value": "内容",
        "not_reachable": "在 [{low}, {high}] 内无法达到",
        "not_applicable": "不适用",
        "beyond_target": "（超出目标：仅为成交）",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "en": {
        "downside_percentile": "P10 of our range: the base is worth more in 90% of outcomes",
        "walk_away_less_downside_spread": "our walk-away less the range's downside spread "
                                          "({spread})",
        "upside_percentile": "P90 of the range a buyer can justify",
        "walk_away_plus_upside_spread": "our walk-away plus the range's upside spread "
                                        "({spread}): room to concede",
        "counterparty_reservation": "at the other side's estimated reservation ({value})",
        "band_edge": "inside our room (their estimated reservation {value} lies outside it)",
        "reservation_median_value": "our reservation: the median value to us (P50 {p50})",
        "reservation_batna_build": "our reservation: building the base ourselves costs {batna}",
        "reservation_standalone_value": "our reservation: keeping the business is worth "
                                        "{standalone}",
        "reservation_batna_given": "our reservation: our best alternative ({batna})",
        "capped_at_counterparty_price": "never above their ask ({price})",
        "floored_at_counterparty_price": "never below the offer on the table ({price})",
        "median_value": "the median value to us", "batna_build": "the cost to build the base",
        "standalone_value": "the standalone value of keeping the business",
        "batna_given": "our best alternative",
        "seller_standalone": "the seller's standalone value", "capped_at_ask": "at most their ask",
        "buyer_median_value": "the median value to a buyer",
        "at_least_their_offer": "at least their offer",
        "concede_assumption": "concede {assumption} at {to} (value effect {effect}); lands at "
                              "P{pct} of our range",
        "range_percentile": "lands at P{pct} of our range",
    },
    "zh": {
        "downside_percentile": "我方区间 P10：90% 的情形下价值更高",
        "walk_away_less_downside_spread": "底线减去区间下行幅度（{spread}）",
        "upside_percentile": "买方可论证区间的 P90",
        "walk_away_plus_upside_spread": "底线加上区间上行幅度（{spread}），留出让步空间",
        "counterparty_reservation": "对方估计保留价格（{value}）",
        "band_edge": "在让步空间之内（对方估计保留价格 {value} 在其外）",
        "reservation_median_value": "我方保留价格：对我方价值的中位数（P50 {p50}）",
        "reservation_batna_build": "我方保留价格：自建客户群的成本 {batna}",
        "reservation_standalone_value": "我方保留价格：继续经营的价值 {standalone}",
        "reservation_batna_given": "我方保留价格：最佳替代方案（{batna}）",
        "capped_at_counterparty_price": "绝不高于对方要价（{price}）",
        "floored_at_counterparty_price": "绝不低于已有报价（{price}）",
        "median_value": "对我方价值的中位数", "batna_build": "自建客户群的成本",
        "standalone_value": "继续经营的价值", "batna_given": "最佳替代方案",
        "seller_standalone": "卖方继续经营的价值", "capped_at_ask": "不高于对方要价",
        "buyer_median_value": "对买方价值的中位数", "at_least_their_offer": "不低于对方报价",
        "concede_assumption": "在{assumption}上让步至 {to}（价值影响 {effect}），落在我方区间 P{pct}",
        "range_percentile": "落在我方区间 P{pct}",
    },
}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "annual_discount_rate": "discount rate", "gross_margin": "gross margin",
        "one_off_loss": "one-off loss at transfer", "hazard_multiplier":
        "churn hazard multiplier after transfer", "hazard_months": "months of higher hazard",
        "horizon_years": "horizon (years)", "inactivity_days": "churn threshold (days)",
        "retention_12m": "12-month retention", "acquisitions_per_year": "new customers a year",
        "excluded_records": "Excluded records (not valued)",
        "reconsent_recovery": "Re-consent campaign (scenario)",
        "value_with_reconsent": "Value incl. re-consent (scenario)",
        "value_with_acquisitions": "Value incl. future acquisitions (assumption)",
        "triangular": "triangular", "uniform": "uniform", "fixed": "fixed",
    },
    "zh": {
        "annual_discount_rate": "折现率", "gross_margin": "毛利率",
        "one_off_loss": "转让时一次性流失率", "hazard_multiplier": "转让后流失风险倍数",
        "hazard_months": "高流失风险持续月数", "horizon_years": "估值期限（年）",
        "inactivity_days": "流失判定阈值（天）", "retention_12m": "12 个月留存率",
        "acquisitions_per_year": "每年新增客户数",
        "excluded_records": "剔除的记录（不计价值）",
        "reconsent_recovery": "重新征得同意（情景）",
        "value_with_reconsent": "含重新征得同意的价值（情景）",
        "value_with_acquisitions": "含未来新增客户的价值（假设）",
        "triangular": "三角分布", "uniform": "均匀分布", "fixed": "固定",
    },
}

EARN_OUT: dict[str, dict[str, str]] = {
    "en": {
        "proposed": "We propose an earn-out to bridge the gap to the ask:",
        "summary": ("{cash} at closing; {slope} for each retained customer above {threshold} on "
                    "{date}, capped at {cap} (expected payout P50 {p50}). The full term sheet "
                    "is in the negotiation plan."),
        "accept": "Accept an earn-out only on these terms (it bridges our gap):",
        "resist": "Resist an earn-out: the cash price is within reach; an earn-out hands us "
                  "the retention risk the buyer controls after closing. If it must be "
                  "conceded, cap it at {max} and insist on the metric below.",
        "base_too_small": "No earn-out: only {expected} customers are expected to be retained "
                          "(minimum {minimum}); a handful of departures would swing the "
                          "payout.",
        "not_needed": "No earn-out needed: the counterparty's price is within our walk-away.",
        "no_price": "No earn-out proposed: no counterparty price in params.",
        "metric": "Metric", "measurement_date": "Measurement date", "data_source": "Data source",
        "cash_at_closing": "Cash at closing", "threshold": "Threshold (retained customers)",
        "slope_per_customer": "Slope (per retained customer above the threshold)",
        "cap": "Cap", "floor": "Floor", "payment_timing": "Payment timing",
        "payout": "Expected payout P10 / P50 / P90",
        "stress": "Stress: one-off loss {loss:.0%} -> payout {payout}, value {value}",
    },
    "zh": {
        "proposed": "我方提议以对赌弥合与对方要价的差距：",
        "summary": ("交割时支付 {cash}；{date} 留存客户超过 {threshold} 人的部分每人支付 {slope}，"
                    "上限 {cap}（预计支付 P50 {p50}）。完整条款见谈判方案。"),
        "accept": "仅在以下条款下接受对赌（可弥合我方差距）：",
        "resist": "拒绝对赌：现金价格可以达成；对赌会把交割后由买方控制的留存风险转给我方。"
                  "如必须让步，上限为 {max}，并坚持以下计量口径。",
        "base_too_small": "不设对赌：预计留存客户仅 {expected} 人（最低 {minimum} 人），"
                          "少数客户流失即会大幅改变支付金额。",
        "not_needed": "无需对赌：对方价格在我方底线之内。",
        "no_price": "未提议对赌：参数中没有对方价格。",
        "metric": "计量指标", "measurement_date": "计量日", "data_source": "数据来源",
        "cash_at_closing": "交割时现金", "threshold": "门槛（留存客户数）",
        "slope_per_customer": "斜率（门槛以上每名留存客户）", "cap": "上限", "floor": "下限",
        "payment_timing": "支付时间", "payout": "预期支付 P10 / P50 / P90",
        "stress": "压力情景：一次性流失 {loss:.0%} -> 支付 {payout}，价值 {value}",
    },
}


def t(lang: str, key: str, **values) -> str:
    """A page-1 sentence in ``lang`` with ``values`` filled in."""
    return TEXT[lang][key].format(**values)


def label(lang: str, key: str) -> str:
    """Readable name of an assumption, lever or bridge step (the key itself when unknown)."""
    return LABELS[lang].get(key, key)


def bridge_label(lang: str, step: str, default: str) -> str:
    """Readable label of a bridge step added by issue 16 (else ``default``)."""
    return LABELS[lang].get(step, default) if step in (
        "excluded_records", "reconsent_recovery", "value_with_reconsent",
        "value_with_acquisitions") else default
