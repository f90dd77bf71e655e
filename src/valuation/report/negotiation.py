"""Page 1 of the brief: the negotiation plan (issue 16).

What it assumes (base case and ranges), its scope (existing customers only; signup and
active-customer trend from the data), the range with the assumptions in it, the football
field, positions consistent with the counterparty's price, the concession plan, what the
price implies, the earn-out term sheet and the re-consent scenario. Everything that comes
from params or data is escaped where it is rendered (:func:`_esc`); tables go through
:meth:`~valuation.report.sections.BriefContext.table`.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from valuation.plots import negotiation as plots_negotiation
from valuation.report import negotiation_text as N
from valuation.report.formatting import finite_number as _num


def _esc(value: Any) -> str:
    """HTML-escaped text, Markdown emphasis characters neutralised."""
    text = html.escape(str(value))
    for char in ("*", "_", "`", "[", "]", "|"):
        text = text.replace(char, "\\" + char)
    return text


def scope_trend(panel: pd.DataFrame | None, as_of) -> dict:
    """New-customer and active-customer trend from the monthly activity panel."""
    if panel is None or not len(panel) or "new" not in panel or "active" not in panel:
        return {}
    frame = panel.copy()
    now = pd.Timestamp(as_of).to_period("M")
    frame = frame.loc[frame.index <= now]
    if not len(frame):
        return {}
    last12 = frame.loc[frame.index > now - 12]
    prev12 = frame.loc[(frame.index <= now - 12) & (frame.index > now - 24)]
    signups = frame.loc[frame["new"] > 0]
    then_month = now - 12 if (now - 12) in frame.index else frame.index[0]
    return {"new_last_12m": int(last12["new"].sum()), "new_prev_12m": int(prev12["new"].sum()),
            "last_signup_month": str(signups.index[-1]) if len(signups) else None,
            "active_then": int(frame.loc[then_month, "active"]), "then_month": str(then_month),
            "active_now": int(frame["active"].iloc[-1]), "now_month": str(frame.index[-1])}


def _reason(lang: str, reason: dict, money) -> str:
    template = N.REASONS[lang].get(reason.get("code", ""), reason.get("code", ""))
    values = {k: (money(v) if isinstance(v, (int, float)) and k != "band" else v)
              for k, v in reason.items()}
    try:
        return _esc(template.format(**values))
    except (KeyError, IndexError, ValueError):
        return _esc(template)


def _football(ctx, result, plan):
    lang = ctx.figure_lang
    joint, pos, methods = plan.joint, plan.positions, plan.methods
    draws = joint.draws
    rows = [{"label": N.t(lang, "method_combined"), "low": joint.value_at(10),
             "high": joint.value_at(90), "mid": joint.value_at(50)},
            {"label": N.t(lang, "method_model"), "low": joint.value_at(10, "model"),
             "high": joint.value_at(90, "model"), "mid": joint.value_at(50, "model")}]
    if result.acquisitions is not None and draws["acquisitions"].abs().sum() > 0:
        total = draws["total"] + draws["acquisitions"]
        rows.append({"label": N.t(lang, "method_acq"), "low": total.quantile(0.1),
                     "high": total.quantile(0.9), "mid": total.quantile(0.5)})
    multiple = methods["revenue_multiple"]
    rows.append({"label": N.t(lang, "method_multiple", multiple=multiple["multiple"]),
                 "low": multiple["value"], "high": multiple["value"], "mid": multiple["value"]})
    per = methods["per_active_customer"]
    rows.append({"label": N.t(lang, "method_per_active"), "low": min(per["low"], per["high"]),
                 "high": max(per["low"], per["high"]), "mid": None})
    positions = {"anchor": pos.anchor, "target": pos.target, "walk_away": pos.walk_away}
    fig = plots_negotiation.football_field(
        pd.DataFrame(rows), price=pos.price, price_label=N.t(lang, "counterparty_price"),
        positions=positions, position_labels={k: N.t(lang, k) for k in positions},
        title=N.t(lang, "football_title"), xlabel=ctx.style.labels()["cny"], style=ctx.style)
    ctx.blocks.setdefault("negotiation", {})["football_field"] = rows
    return ctx.figure(fig, "football_field")


def _head(ctx, result, plan, trend) -> str:
    lang, money = ctx.lang, ctx.money
    pos, joint = plan.positions, plan.joint
    eq = result.equity
    customers = int(eq.loc["all", "customers"]) if "all" in eq.index else 0
    active = plan.term_sheet.eligible_customers
    signups = actives = ""
    if trend:
        signups = N.t(lang, "signups", n12=ctx.count(trend["new_last_12m"]),
                      nprev=ctx.count(trend["new_prev_12m"]),
                      last=_esc(trend["last_signup_month"] or "–"))
        actives = N.t(lang, "actives", then=ctx.count(trend["active_then"]),
                      then_month=_esc(trend["then_month"]), now=ctx.count(trend["active_now"]),
                      now_month=_esc(trend["now_month"]))
    acq = result.acquisitions
    acq_text = (N.t(lang, "acq_on", value=money(acq.get("value"))) if acq else
                N.t(lang, "acq_off"))
    sep = "" if lang == "zh" else " "
    lines = [f"## {N.t(lang, 'heading')}", "",
             N.t(lang, "scope", customers=ctx.count(customers), active=ctx.count(active),
                 signups=signups + sep if signups else "", actives=actives + sep if actives
                 else "", acquisitions=acq_text), "",
             N.t(lang, "range", p10=money(joint.value_at(10)), p50=money(joint.value_at(50)),
                 p90=money(joint.value_at(90)), m10=money(joint.value_at(10, "model")),
                 m90=money(joint.value_at(90, "model"))), ""]
    if pos.price is None:
        lines.append(N.t(lang, "no_price"))
    else:
        pct = pos.zone.get("price_percentile")
        lines.append(N.t(lang, "price", price=money(pos.price),
                         kind=N.t(lang, f"kind_{pos.price_kind}"),
                         pct=f"{pct:.0f}" if pct is not None else "–"))
    reasons = pos.reasons
    lines += ["", N.t(lang, "reservations", ours=money(pos.reservation),
                      ours_why=_reason(lang, {"code": reasons["reservation"]["code"]}, money),
                      theirs=money(pos.counterparty_reservation),
                      theirs_why=_reason(lang, reasons["counterparty_reservation"], money))]
    zone = pos.zone
    if zone["exists"]:
        lines += ["", N.t(lang, "zone_yes", low=money(zone["low"]), high=money(zone["high"]))]
    else:
        bridges = []
        for b in zone["bridging"]:
            if b["structure"] == "earn_out":
                bridges.append(N.t(lang, "bridge_earn_out", amount=money(b["amount"])))
            else:
                bridges.append(N.t(lang, "bridge_instalments", years=b["years"],
                                   nominal=money(b["nominal_price"]),
                                   pv=money(b["present_value"])))
        lines += ["", N.t(lang, "zone_no", gap=money(zone["gap"]),
                          bridges=("；" if lang == "zh" else "; ").join(bridges))]
    return "\n".join(lines)


def _assumption_table(ctx, plan):
    lang = ctx.lang
    frame = plan.assumptions.reset_index()
    table = pd.DataFrame({
        N.t(lang, "col_assumption"): [N.label(lang, a) for a in frame["assumption"]],
        N.t(lang, "col_base"): [f"{v:g}" for v in frame["base"]],
        N.t(lang, "col_low"): [f"{v:g}" for v in frame["low"]],
        N.t(lang, "col_high"): [f"{v:g}" for v in frame["high"]],
        N.t(lang, "col_law"): [N.label(lang, d) for d in frame["distribution"]]})
    return ctx.table(table, caption=N.t(lang, "assumptions_heading"))


def _positions_table(ctx, plan):
    lang, pos = ctx.lang, plan.positions
    rows = []
    for name in ("anchor", "target", "walk_away"):
        rows.append({N.t(lang, "col_position"): N.t(lang, name),
                     N.t(lang, "col_price"): getattr(pos, name),
                     N.t(lang, "col_pct"): f"P{pos.percentiles[name]:.0f}",
                     N.t(lang, "col_reason"): _reason(lang, pos.reasons[name], ctx.money)})
    return ctx.table(pd.DataFrame(rows), money=[N.t(lang, "col_price")],
                     caption=N.t(lang, "positions_heading"))


def _concession_table(ctx, plan):
    lang, steps = ctx.lang, plan.positions.concessions
    if not len(steps):
        return None
    rows = []
    for step in steps.to_dict(orient="records"):
        reason = {"code": step["code"], "pct": f"{step['percentile']:.0f}",
                  "assumption": N.label(lang, step["assumption"] or ""),
                  "to": f"{step['concede_to']:g}" if step["concede_to"] is not None else "",
                  "effect": ctx.money(step["value_effect"])}
        why = _esc(N.REASONS[lang][step["code"]].format(**reason))
        if step["beyond_target"]:
            why += N.t(lang, "beyond_target")
        rows.append({N.t(lang, "col_step"): step["step"], N.t(lang, "col_to"): step["to_price"],
                     N.t(lang, "col_size"): step["size"], N.t(lang, "col_reason"): why})
    return ctx.table(pd.DataFrame(rows), money=[N.t(lang, "col_to"), N.t(lang, "col_size")],
                     caption=N.t(lang, "concessions_heading"))


def _fmt_lever(lever: str, value) -> str:
    number = _num(value)
    if number is None:
        return "–"
    if lever in ("retention_12m", "gross_margin"):
        return f"{number:.1%}"
    if lever == "horizon_years":
        return f"{number:.2f}"
    return f"{number:,.0f}"


def _implied_table(ctx, plan):
    lang, implied = ctx.lang, plan.implied
    if implied.empty:
        return None
    rows = []
    for lever, row in implied.iterrows():
        if row["status"] == "solved":
            answer = _fmt_lever(lever, row["implied"])
        elif row["status"] == "not_reachable":
            answer = N.t(lang, "not_reachable", low=_fmt_lever(lever, row["low"]),
                         high=_fmt_lever(lever, row["high"]))
        else:
            answer = N.t(lang, "not_applicable")
        rows.append({N.t(lang, "col_lever"): N.label(lang, lever),
                     N.t(lang, "col_data"): _fmt_lever(lever, row["data"]),
                     N.t(lang, "col_implied"): answer})
    return ctx.table(pd.DataFrame(rows), caption=N.t(lang, "implied_heading"))


def earn_out_block(ctx, plan):
    """Markdown and (when there are terms) the term-sheet table."""
    lang, sheet, money = ctx.lang, plan.term_sheet, ctx.money
    words = N.EARN_OUT[lang]
    status = sheet.status
    key = {"proposed": "proposed", "accept": "accept", "resist": "resist",
           "base_too_small": "base_too_small", "no_price": "no_price"}.get(status, "not_needed")
    pos = plan.positions
    text = words[key].format(expected=ctx.count(sheet.expected_retained),
                             minimum=sheet.to_dict()["min_expected_retained"],
                             max=money(abs(pos.anchor - pos.walk_away)))
    md = f"### {N.t(lang, 'earn_out_heading')}\n\n{text}"
    if not sheet.terms:
        return md, None
    terms, paid = sheet.terms, sheet.payout
    wording = _term_wording(lang, terms)
    rows = [(words["metric"], _esc(wording["definition"])),
            (words["measurement_date"], _esc(wording["measurement_date"])),
            (words["data_source"], _esc(wording["data_source"])),
            (words["cash_at_closing"], money(terms["cash_at_closing"])),
            (words["threshold"], ctx.count(terms["threshold"])),
            (words["slope_per_customer"], money(terms["slope_per_customer"])),
            (words["cap"], money(terms["cap"])), (words["floor"], money(terms["floor"])),
            (words["payment_timing"], _esc(wording["payment_timing"])),
            (words["payout"], " / ".join(money(paid[k]) for k in ("p10", "p50", "p90")))]
    rows += [(words["stress"].format(loss=s["one_off_loss"], payout=money(s["payout"]),
                                     value=money(s.get("transferable_value"))), "")
             for s in sheet.stress]
    frame = pd.DataFrame(rows, columns=[N.t(lang, "col_term"), N.t(lang, "col_value")])
    return md, ctx.table(frame)


def _term_wording(lang: str, terms: dict) -> dict[str, str]:
    """The term sheet's words in the brief's language (the English ones are the data's)."""
    if lang != "zh" or "window_days" not in terms:
        return terms
    return {"definition": (f"转让名单上的客户在计量日前 {terms['window_days']} 天内有付费订单"
                           "或学习行为"),
            "measurement_date": f"交割后 {terms['measurement_months']} 个月",
            "data_source": "买方订单系统与学习平台，按转让名单的令牌匹配；卖方有权审计",
            "payment_timing": "计量日后 60 天内，从交割时设立的托管账户支付"}


def earn_out_summary(ctx, plan) -> list[str]:
    """One sentence of the proposed terms for the executive summary (none without terms)."""
    sheet = plan.term_sheet
    if not sheet.terms:
        return []
    terms, money = sheet.terms, ctx.money
    return ["", N.EARN_OUT[ctx.lang]["summary"].format(
        cash=money(terms["cash_at_closing"]), slope=money(terms["slope_per_customer"]),
        threshold=ctx.count(terms["threshold"]),
        date=_esc(_term_wording(ctx.lang, terms)["measurement_date"]),
        cap=money(terms["cap"]), p50=money(sheet.payout["p50"]))]


def headline(result) -> dict:
    """Headline numbers of the plan for results.json (``{}`` without a plan); the earn-out
    amount and expected retained count are those of the term sheet."""
    plan = result.plan
    if plan is None:
        return {}
    pos, sheet = plan.positions, plan.term_sheet
    return {"counterparty_price": pos.price, "counterparty_price_kind": pos.price_kind,
            "equity_p10_model_only": result.percentile(10, "combined"),
            "equity_p90_model_only": result.percentile(90, "combined"),
            "reservation_price": pos.reservation,
            "counterparty_reservation_estimate": pos.counterparty_reservation,
            "agreement_zone_exists": pos.zone["exists"] if pos.price is not None else None,
            "earn_out_status": sheet.status,
            "earn_out_amount": sheet.terms.get("cap", 0.0),
            "earn_out_expected_retained": sheet.expected_retained}


def page_one(ctx, result, panel: pd.DataFrame | None = None) -> list:
    """Everything of page 1 in display order: Markdown strings, tables and the figure.

    Also records the plan for results.json (``negotiation`` block) and headline numbers.
    """
    plan = result.plan
    if plan is None:
        return []
    trend = scope_trend(panel, ctx.params.as_of)
    block = ctx.blocks.setdefault("negotiation", {})
    block.update(plan.to_dict())
    block["scope"] = {"existing_customers_only": True, **trend}
    items: list = [_head(ctx, result, plan, trend), _assumption_table(ctx, plan),
                   _football(ctx, result, plan), _positions_table(ctx, plan)]
    for extra in (_concession_table(ctx, plan), _implied_table(ctx, plan)):
        if extra is not None:
            items.append(extra)
    md, table = earn_out_block(ctx, plan)
    items.append(md)
    if table is not None:
        items.append(table)
    rc = plan.reconsent
    be = rc.break_even_rate
    items.append(N.t(ctx.lang, "reconsent", contacted=ctx.count(rc.contacted),
                     cost=ctx.money(rc.cost_per_contact), low=ctx.money(rc.net[0]),
                     high=ctx.money(rc.net[2]), mid=ctx.money(rc.net[1]),
                     be=ctx.share(be) if be is not None else "–"))
    return items
