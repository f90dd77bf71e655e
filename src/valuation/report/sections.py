"""What the brief notebook shows, section by section (aggregates only).

The notebook computes each stage with the package (visible, reproducible cells); the
functions here turn a stage's result into narrative (Markdown), published tables (small cells
suppressed) and figures, and record the headline numbers for ``results.json``. Wording comes
from :mod:`valuation.report.text`; figures from :mod:`valuation.plots`.

Stage results are read by attribute names of the contract (``docs/contract.md``); the few
places that must know a stage object's shape are the ``_pick`` calls below.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuation import plots
from valuation.errors import ReportError
from valuation.params import DealParams
from valuation.report import text as T
from valuation.report.results import build_results, write_results


def _pick(obj: Any, *names: str, default: Any = None) -> Any:
    """The first of ``names`` found on ``obj`` as an attribute or mapping key."""
    for name in names:
        if isinstance(obj, Mapping) and name in obj:
            return obj[name]
        if not isinstance(obj, Mapping) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class BriefContext:
    """Everything the sections share: params, language, style, where outputs go.

    Attributes
    ----------
    params : DealParams
    lang : {"zh", "en"}
        Language of the narrative.
    style : PlotStyle
        Style of the figures (may fall back to English labels: see ``style.notice``).
    output_dir : Path or None
        Where figures and results.json go; ``None`` in interactive use (nothing written).
    headline : dict
        Headline numbers gathered so far (keys of ``results.HEADLINE_KEYS``).
    blocks : dict
        Per-stage blocks for results.json.
    figures : list of Path
    """

    params: DealParams
    lang: str
    style: plots.PlotStyle
    output_dir: Path | None = None
    headline: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)

    @property
    def k(self) -> int:
        """Minimum cell size for published tables."""
        return self.params.privacy.min_cell_size

    def t(self, key: str, **values: Any) -> str:
        return T.text(self.lang, key, **values)

    def money(self, value: Any) -> str:
        return T.format_money(_num(value), self.lang)

    def share(self, value: Any) -> str:
        return T.format_share(_num(value), self.lang)

    def count(self, value: Any) -> str:
        return T.format_count(_num(value), self.lang)

    def heading(self, key: str) -> str:
        """Markdown heading of section ``key``."""
        return f"## {T.section_title(self.lang, key)}"

    def figure(self, fig, name: str):
        """Save ``fig`` as ``figures/<name>.png`` (when writing) and return it for display."""
        from IPython.display import Image

        if self.output_dir is None:
            return fig
        path = plots.save_figure(fig, self.output_dir / "figures" / f"{name}.png")
        self.figures.append(path)
        return Image(filename=str(path))

    def table(self, frame: pd.DataFrame, count_column: str | None = None) -> pd.DataFrame:
        """A table fit to publish: cells of fewer than ``k`` customers suppressed."""
        if count_column is None:
            return frame
        from valuation.privacy.suppress import suppress_small_cells

        return suppress_small_cells(frame, count_column, self.k)

    def write_results(self) -> Path | None:
        """Write results.json with the headline and blocks gathered (when writing)."""
        if self.output_dir is None:
            return None
        results = build_results(
            target=self.params.target, name=self.params.name, as_of=self.params.as_of,
            side=self.params.deal.side, lang=self.lang, headline=self.headline,
            sections={**self.blocks,
                      "figures": [p.name for p in self.figures],
                      "figure_notice": self.style.notice},
        )
        return write_results(results, self.output_dir / "results.json")


def open_brief(params_path: str, output_dir: str = "", lang: str = "") -> BriefContext:
    """Start a brief: validated params, language, figure style, output folder.

    Parameters
    ----------
    params_path : str
        The target's params YAML.
    output_dir : str
        Where to write figures and results.json; ``""`` writes nothing (interactive use).
    lang : str
        ``"zh"``, ``"en"`` or ``""`` for ``report.lang`` of the params.
    """
    from valuation.params import load_params

    params = load_params(params_path, check_files=False)
    lang = lang or params.report.lang
    if lang not in T.LANGS:
        raise ReportError(f"lang must be one of {', '.join(T.LANGS)}, not {lang!r}")
    out = Path(output_dir) if output_dir else None
    if out is not None:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    return BriefContext(params=params, lang=lang, style=plots.PlotStyle.for_language(lang),
                        output_dir=out)


# ---------------------------------------------------------------------------------------
# Title and scope
# ---------------------------------------------------------------------------------------
def title_block(ctx: BriefContext) -> str:
    """Markdown title, subtitle and confidentiality line."""
    p = ctx.params
    side = ctx.t(f"side_{p.deal.side}")
    lines = [
        f"# {ctx.t('title', name=p.name)}",
        ctx.t("subtitle", as_of=p.as_of.isoformat(), side=side,
              generated=dt.date.today().isoformat()),
        "",
        f"*{ctx.t('confidential', k=ctx.k)}*",
    ]
    if ctx.style.notice:
        lines += ["", f"> {ctx.t('figure_notice', notice=ctx.style.notice)}"]
    return "\n".join(lines)


def scope_and_compliance(ctx: BriefContext, tables: Mapping[str, pd.DataFrame],
                         notification_cost: float | None = None,
                         log_ref: str | None = None) -> tuple[str, pd.DataFrame]:
    """Markdown of the scope and PIPL section and the consent-cohort table (suppressed)."""
    from valuation.privacy.cohorts import cohort_mask
    from valuation.tables import COHORTS

    customers, orders = tables["customers"], tables["orders"]
    dates = pd.concat([orders["order_date"], tables["activity"]["event_date"]]).dropna()
    rows = []
    for cohort in COHORTS:
        mask = pd.Series(cohort_mask(customers, cohort), index=customers.index).astype(bool)
        rows.append({"cohort": cohort, "customers": int(mask.sum()),
                     "share": float(mask.mean()) if len(mask) else 0.0})
    cohorts = pd.DataFrame(rows)
    minor = customers["minor"].fillna(False).astype(bool)
    no_guardian = minor & ~customers["guardian_consent"].fillna(False).astype(bool)
    total = max(len(customers), 1)
    transferable = int(cohorts.loc[cohorts["cohort"] == "transferable", "customers"].iloc[0])
    ctx.headline.update(customers=len(customers), transferable_customers=transferable,
                        consent_coverage=transferable / total)
    p = ctx.params
    lines = [
        ctx.heading("scope_compliance"),
        ctx.t("scope_sentence", customers=ctx.count(len(customers)),
              orders=ctx.count(len(orders)), events=ctx.count(len(tables["activity"])),
              feedback=ctx.count(len(tables.get("feedback", ()))),
              first=dates.min().date().isoformat() if len(dates) else "–",
              last=dates.max().date().isoformat() if len(dates) else "–"),
        "",
        ctx.t("minors_sentence", minors=ctx.count(int(minor.sum())),
              minors_no_guardian=ctx.count(int(no_guardian.sum()))),
        "",
        ctx.t("pseudonymised_sentence"),
    ]
    if log_ref:
        lines += ["", ctx.t("log_sentence", log_ref=log_ref)]
    lines += [
        "", f"### {ctx.t('pipl_heading')}", "",
        "- " + ctx.t("pipl_art22", cost=ctx.money(notification_cost)),
        "- " + ctx.t("pipl_purpose", purpose=p.privacy.purpose),
        "- " + ctx.t("pipl_destruction"),
        "", f"### {ctx.t('cohort_heading')}",
    ]
    ctx.blocks["cohorts"] = cohorts
    return "\n".join(lines), ctx.table(cohorts, "customers")


# ---------------------------------------------------------------------------------------
# Data review
# ---------------------------------------------------------------------------------------
def data_review(ctx: BriefContext, quality: Any) -> tuple[str, pd.DataFrame]:
    """Markdown of the review and its findings table (a ``QualityReport``)."""
    score, haircut = _num(quality.score), _num(quality.haircut)
    ctx.headline.update(quality_score=score, quality_haircut=haircut)
    ctx.blocks["quality"] = quality.to_json_dict()
    findings = quality.findings() if callable(getattr(quality, "findings", None)) else quality.checks
    lines = [ctx.heading("data_review"),
             ctx.t("quality_sentence", score=f"{score:.0f}" if score is not None else "–",
                   haircut=ctx.share(haircut))]
    if findings is None or len(findings) == 0:
        lines += ["", ctx.t("no_findings")]
    return "\n".join(lines), findings


# ---------------------------------------------------------------------------------------
# Activity, churn, segments
# ---------------------------------------------------------------------------------------
def activity(ctx: BriefContext, panel: pd.DataFrame, retention: Any,
             expected_active: pd.DataFrame | None = None):
    """Markdown, monthly-panel figure and cohort heatmap of the activity section."""
    recent = panel.tail(12)
    active_12m = int(recent["active"].max()) if len(recent) else 0
    expected = None
    if expected_active is not None and len(expected_active):
        column = next((c for c in ("expected_active", "active", "expected")
                       if c in expected_active.columns), expected_active.columns[-1])
        expected = _num(expected_active[column].iloc[-1])
    ctx.headline.update(active_customers=active_12m, expected_active_12m=expected)
    ctx.blocks["activity"] = {"panel": panel.tail(24)}
    md = "\n".join([ctx.heading("activity"),
                    ctx.t("activity_sentence", active=ctx.count(active_12m),
                          expected_active=ctx.count(expected))])
    shares = _pick(retention, "shares", default=retention)
    sizes = _pick(retention, "sizes", default=None)
    if sizes is not None:  # suppress whole cohorts smaller than k
        shares = shares.loc[sizes.reindex(shares.index).fillna(0) >= ctx.k]
    fig_panel = ctx.figure(plots.activity_panel(panel, style=ctx.style), "activity_panel")
    fig_cohort = ctx.figure(plots.cohort_heatmap(shares, style=ctx.style), "cohort_heatmap")
    return md, fig_panel, fig_cohort


def churn(ctx: BriefContext, curves: pd.DataFrame, medians: pd.DataFrame, model: Any,
          survival: pd.DataFrame):
    """Markdown, KM figure, forest figure and drivers table of the churn section."""
    overall = medians.loc[medians["group"] == medians["group"].iloc[0]] if len(medians) else medians
    median_days = _num(overall["median_days"].iloc[0]) if len(overall) else None
    horizon = survival["duration"].clip(upper=365)
    churn_12m = float(((survival["event"] == 1) & (survival["duration"] <= 365)).mean())
    ctx.headline.update(churn_12m=churn_12m, median_lifetime_days=median_days)
    drivers = model.drivers_
    ctx.blocks["churn"] = {"medians": medians, "drivers": drivers,
                           "concordance": _num(getattr(model, "concordance_", None)),
                           "observed_days_mean": float(horizon.mean()) if len(horizon) else None}
    median_text = (f"{median_days:,.0f} " + ("天" if ctx.lang == "zh" else "days")
                   if median_days is not None else ctx.t("missing_value"))
    md = "\n".join([ctx.heading("churn"),
                    ctx.t("churn_sentence", days=ctx.params.churn.inactivity_days,
                          median=median_text, churn_12m=ctx.share(churn_12m)),
                    "", ctx.t("drivers_sentence")])
    fig_km = ctx.figure(plots.km_curves(curves, style=ctx.style), "km_curves")
    fig_forest = ctx.figure(plots.hazard_forest(drivers, style=ctx.style), "hazard_forest")
    table = drivers[["hazard_ratio", "hr_lower", "hr_upper", "p"]].round(3)
    return md, fig_km, fig_forest, table


def clv_segments(ctx: BriefContext, tiers: pd.DataFrame, values: pd.Series | None = None):
    """Markdown, CLV-by-tier figure and tier table of the CLV section."""
    top10 = top1 = None
    if values is not None and len(values):
        ordered = np.sort(np.asarray(values, dtype=float))[::-1]
        total = ordered.sum() or 1.0
        top10 = ordered[: max(1, len(ordered) // 10)].sum() / total
        top1 = ordered[: max(1, len(ordered) // 100)].sum() / total
    ctx.blocks["segments"] = {"tiers": tiers, "top10_share": top10, "top1_share": top1}
    md = "\n".join([ctx.heading("clv_segments"),
                    ctx.t("clv_sentence", top10=ctx.share(top10), top1=ctx.share(top1))])
    frame = tiers.reset_index() if "tier" not in tiers.columns else tiers
    value_col = next(c for c in ("clv_total", "clv", "value_total", "value", "revenue") if c in frame.columns)
    plot_frame = frame.rename(columns={value_col: "clv_total"})
    fig = ctx.figure(plots.clv_by_tier(plot_frame, style=ctx.style), "clv_by_tier")
    return md, fig, ctx.table(frame, "customers")


# ---------------------------------------------------------------------------------------
# Valuation and the executive summary
# ---------------------------------------------------------------------------------------
def valuation_section(ctx: BriefContext, result: Any):
    """Markdown, bridge table and the bridge, range and tornado figures (a ``ValuationResult``)."""
    ctx.blocks["valuation"] = result.to_json_dict()
    bridge = result.bridge
    steps = bridge.loc[bridge["kind"] != "total", ["label", "amount"]].rename(
        columns={"amount": "value"})
    replicates = result.replicates["combined"].dropna().to_numpy(float)
    tornado = result.tornado.reset_index().rename(
        columns={"label": "parameter", "value_low": "low_value", "value_high": "high_value"})
    figs = [
        ctx.figure(plots.value_bridge(steps, style=ctx.style), "value_bridge"),
        ctx.figure(plots.value_range(replicates, point=result.value,
                                     asking_price=ctx.params.deal.asking_price,
                                     style=ctx.style), "value_range"),
        ctx.figure(plots.tornado(tornado, base=result.value, style=ctx.style), "tornado"),
    ]
    table = bridge[["label", "amount"]].assign(amount=bridge["amount"].round(0))
    md = "\n".join([ctx.heading("valuation"), ctx.t("bridge_sentence"), "",
                    ctx.t("tornado_sentence")])
    return md, table, figs


def executive_summary(ctx: BriefContext, result: Any) -> str:
    """Markdown of the executive summary from the ``ValuationResult``."""
    p10, p50, p90 = (result.percentile(p) for p in (10, 50, 90))
    prices = result.positions["price"]
    anchor, target, walk = (_num(prices.get(k)) for k in ("anchor", "target", "walk_away"))
    checks = result.price_checks
    per_active = _num(checks.loc["model_target", "price_per_active_customer"])
    multiple_price = _num(checks.loc["revenue_multiple", "price"])
    earn = result.earn_out
    scenarios = {str(r.get("scenario")): r for r in earn.get("scenarios", [])}
    risk_rows = _risk_rows(result.risks)[:3]
    ctx.headline.update(
        equity_point=result.value, equity_p10=p10, equity_p50=p50, equity_p90=p90,
        anchor_price=anchor, target_price=target, walk_away_price=walk,
        asking_price=ctx.params.deal.asking_price, price_per_active_customer=per_active,
        revenue_multiple_price=multiple_price,
        earn_out_amount=_num(earn.get("amount")),
        earn_out_expected_retained=_num(earn.get("expected_retained",
                                                 scenarios.get("expected", {}).get("retained_customers"))),
        top_risks=risk_rows,
    )
    side = ctx.t(f"side_{ctx.params.deal.side}")
    lines = [ctx.heading("executive_summary"),
             ctx.t("range_sentence", p10=ctx.money(p10), p50=ctx.money(p50),
                   p90=ctx.money(p90), point=ctx.money(result.value)),
             "",
             ctx.t("position_sentence", side=side, anchor=ctx.money(anchor),
                   target=ctx.money(target), walk_away=ctx.money(walk)),
             ""]
    asking = ctx.params.deal.asking_price
    if asking is not None:
        values = result.replicates["combined"].dropna().to_numpy(float)
        pct = float((values <= asking).mean() * 100) if len(values) else float("nan")
        lines.append(ctx.t("asking_sentence", asking=ctx.money(asking), pct=f"{pct:.0f}"))
    else:
        lines.append(ctx.t("no_asking"))
    lines += ["", ctx.t("per_customer_sentence", per_active=ctx.money(per_active),
                        active=ctx.count(ctx.headline.get("active_customers")),
                        multiple_price=ctx.money(multiple_price),
                        multiple=ctx.params.deal.revenue_multiple),
              "", f"### {ctx.t('risks_heading')}", ""]
    lines += [f"{i}. " + ctx.t("risk_line", name=r["name"], effect=ctx.money(r["effect"]))
              for i, r in enumerate(risk_rows, 1)]
    lines += ["", f"### {ctx.t('earn_out_heading')}", "",
              ctx.t("earn_out_sentence", share=ctx.share(earn.get("share")),
                    amount=ctx.money(earn.get("amount")),
                    expected=ctx.count(ctx.headline["earn_out_expected_retained"]),
                    p10=ctx.count(scenarios.get("P10", {}).get("retained_customers")),
                    p90=ctx.count(scenarios.get("P90", {}).get("retained_customers")))]
    return "\n".join(lines)


def _risk_rows(risks: Any) -> list[dict[str, Any]]:
    """Risks as ``[{name, effect}]``, largest effect first (a DataFrame indexed by risk)."""
    if risks is None or len(risks) == 0:
        return []
    frame = risks.reset_index()
    name_col = "risk" if "risk" in frame.columns else frame.columns[0]
    rows = [{"name": str(r[name_col]), "effect": _num(r.get("effect"))}
            for r in frame.to_dict(orient="records")]
    rows.sort(key=lambda r: -abs(r["effect"] or 0.0))
    return rows


# ---------------------------------------------------------------------------------------
# Validation, method notes, handover
# ---------------------------------------------------------------------------------------
def holdout_validation(tables: Mapping[str, pd.DataFrame], params: DealParams,
                       ) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit BG/NBD on the calibration period and track it through the holdout.

    Returns the weekly tracking table (``period``, ``actual``, ``predicted`` repeat
    transactions, all customers pooled) and holdout accuracy metrics: predicted and actual
    holdout repeat purchases, their ratio, the per-customer mean absolute error and the
    correlation of predicted and actual holdout purchases.
    """
    from valuation.features import rfm_summary
    from valuation.models import BetaGeo

    orders = tables["orders"]
    orders = orders.loc[orders["amount"] > 0, ["customer_token", "order_date"]].dropna()
    rfm = rfm_summary(orders, amount=None, calibration_end=params.calibration_end,
                      observation_end=params.as_of, time_unit="W")
    model = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    predicted_holdout = np.asarray(model.conditional_expected_purchases(
        rfm["duration_holdout"].to_numpy(float), rfm["frequency"], rfm["recency"], rfm["T"]))
    actual_holdout = rfm["frequency_holdout"].to_numpy(float)
    metrics = {
        "holdout_actual": float(actual_holdout.sum()),
        "holdout_predicted": float(predicted_holdout.sum()),
        "ratio_predicted_actual": float(predicted_holdout.sum() / max(actual_holdout.sum(), 1.0)),
        "mae_per_customer": float(np.abs(predicted_holdout - actual_holdout).mean()),
        "correlation": float(np.corrcoef(predicted_holdout, actual_holdout)[0, 1])
        if actual_holdout.std() > 0 and predicted_holdout.std() > 0 else float("nan"),
    }
    # weekly tracking: expected repeat purchases of every customer since their first purchase
    days = pd.to_datetime(orders["order_date"]).dt.normalize()
    daily = pd.DataFrame({"token": orders["customer_token"], "day": days}).drop_duplicates()
    first = daily.groupby("token")["day"].min()
    first = first.loc[first <= pd.Timestamp(params.calibration_end)]
    start, end = first.min(), pd.Timestamp(params.as_of)
    weeks = pd.date_range(start, end, freq="7D")[1:]
    repeat = daily.loc[daily["token"].isin(first.index)]
    repeat = repeat.loc[repeat["day"] > repeat["token"].map(first)]
    actual = np.array([(repeat["day"] <= w).sum() for w in weeks], dtype=float)
    cohort_sizes = first.value_counts()
    cohort_days = pd.DatetimeIndex(cohort_sizes.index)
    sizes = cohort_sizes.to_numpy(float)
    predicted = []
    for w in weeks:
        age = np.clip((w - cohort_days).days.to_numpy(float) / 7.0, 0.0, None)
        predicted.append(float((np.asarray(model.expected_purchases(age)) * sizes).sum()))
    tracking = pd.DataFrame({"period": weeks, "actual": np.diff(actual, prepend=0.0),
                             "predicted": np.diff(np.asarray(predicted), prepend=0.0)})
    return tracking, metrics


def validation_section(ctx: BriefContext, tracking: pd.DataFrame, metrics: Mapping[str, float]):
    """Markdown and tracking figure of the model-validation section."""
    ctx.blocks["validation"] = {"metrics": dict(metrics)}
    shown = ", ".join(f"{k} {v:,.3f}" for k, v in metrics.items() if _num(v) is not None)
    md = "\n".join([ctx.heading("validation"),
                    ctx.t("validation_sentence",
                          calibration_end=ctx.params.calibration_end.isoformat(),
                          as_of=ctx.params.as_of.isoformat(), metrics=shown or "–")])
    fig = ctx.figure(plots.tracking_plot(tracking, calibration_end=ctx.params.calibration_end,
                                         style=ctx.style), "tracking")
    return md, fig


def method_notes(ctx: BriefContext) -> str:
    """Markdown of the method notes with the papers cited."""
    lines = [ctx.heading("method_notes"), ""]
    lines += [f"- {note}" for note in T.METHOD_NOTES[ctx.lang]]
    lines += ["", "**References**" if ctx.lang == "en" else "**参考文献**", ""]
    lines += [f"{i}. {ref}" for i, ref in enumerate(T.REFERENCES, 1)]
    return "\n".join(lines)


def handover(ctx: BriefContext) -> tuple[str, pd.DataFrame]:
    """Markdown and the checklist table of the handover section (交接清单)."""
    rows = [{ctx.t("handover_item"): item, ctx.t("handover_detail"): detail,
             ctx.t("handover_delivered"): "☐", ctx.t("handover_confirmed"): "☐"}
            for item, detail in T.HANDOVER_ITEMS[ctx.lang]]
    md = "\n".join([ctx.heading("handover"), ctx.t("handover_intro")])
    return md, pd.DataFrame(rows)


def section_titles(lang: str) -> Sequence[str]:
    """All section headings of a brief in ``lang`` (tests check they are in the HTML)."""
    return [T.section_title(lang, key) for key in T.SECTION_KEYS]
