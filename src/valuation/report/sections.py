"""What the brief notebook shows, section by section (aggregates only).

The notebook computes each stage with the package (visible, reproducible cells); the
functions here turn a stage's result into narrative (Markdown), published tables and figures,
and record the headline numbers for ``results.json``. Wording and labels come from
:mod:`valuation.report.text`; figures from :mod:`valuation.plots`; published tables from
:mod:`valuation.report.tables` (index hidden, money and shares formatted, small cells
suppressed and the suppression stated).
"""

from __future__ import annotations


import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuation import plots
from valuation.plots import negotiation as plots_negotiation
from valuation.errors import ReportError, ValuationError
from valuation.params import DealParams
from valuation.report import negotiation
from valuation.report import negotiation_text as N
from valuation.report.formatting import finite_number as _num
from valuation.report import text as T
from valuation.report.escape import md_text
from valuation.report.results import build_results, write_results
from valuation.report.tables import PublishedTable, publish_table

KM_MIN_GROUP = 50
"""Smallest acquisition channel drawn as its own Kaplan-Meier curve (fewer customers give
bands too wide to read); never below the minimum cell size."""

SEVERITY_ORDER: dict[str, int] = {"high": 0, "medium": 1, "low": 2, "info": 3}


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

    @property
    def figure_lang(self) -> str:
        """The language the figures are labelled in (English without a CJK font)."""
        return self.style.lang

    def t(self, key: str, **values: Any) -> str:
        return T.text(self.lang, key, **values)

    def label(self, kind: str, key: Any, default: str | None = None) -> str:
        return T.label(self.lang, kind, key, default)

    def money(self, value: Any) -> str:
        return T.format_money(_num(value), self.lang)

    def share(self, value: Any) -> str:
        return T.format_share(_num(value), self.lang)

    def count(self, value: Any) -> str:
        return T.format_count(_num(value), self.lang)

    def date(self, value: Any) -> str:
        return T.format_date(value, self.lang)

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

    def table(self, frame: pd.DataFrame, **options: Any) -> PublishedTable:
        """A table fit to publish (see :func:`valuation.report.tables.publish_table`)."""
        return publish_table(frame, lang=self.lang, k=self.k, **options)

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

    Returns
    -------
    BriefContext
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


def _window(params: DealParams) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period a record may plausibly fall in: from the opening (if known) to ``as_of``."""
    start = pd.Timestamp(params.data.opened) if params.data.opened else pd.Timestamp.min
    return start, pd.Timestamp(params.as_of)


def processing_log_reference(params: DealParams, lang: str = "en") -> str | None:
    """The reference of the target's processing log for the brief: file, last entry, hash,
    and whether the hash chain verifies; ``None`` when there is no log (no gate run)."""
    import json

    from valuation.privacy.log import log_path, verify_log

    path = log_path(params)
    if not path.is_file():
        return None
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        return None
    last = json.loads(lines[-1])
    verdict = verify_log(path)
    digest = str(last.get("hash", ""))[:16]
    when = T.format_timestamp(last.get("time", ""), lang)
    if lang == "zh":
        state = "哈希链核验通过" if verdict.ok else "哈希链核验未通过"
        return (f"{path.name} 第 {last.get('seq')} 条（{when}，SHA-256 {digest}…；{state}）")
    state = "hash chain verified" if verdict.ok else f"NOT verified: {verdict.reason}"
    return f"{path.name} #{last.get('seq')} ({when}, SHA-256 {digest}…; {state})"


# ---------------------------------------------------------------------------------------
# Title and scope
# ---------------------------------------------------------------------------------------
def title_block(ctx: BriefContext) -> str:
    """Markdown title, subtitle and confidentiality line."""
    p = ctx.params
    side = ctx.t(f"side_{p.deal.side}")
    lines = [
        f"# {ctx.t('title', name=md_text(p.name))}",
        ctx.t("subtitle", as_of=ctx.date(p.as_of), side=side,
              generated=ctx.date(dt.date.today())),
        "",
        f"*{ctx.t('confidential', k=ctx.k)}*",
    ]
    if ctx.style.notice:
        lines += ["", f"> {ctx.t('figure_notice', notice=ctx.style.notice)}"]
    return "\n".join(lines)


@dataclass(frozen=True)
class DatasetScope:
    """What the seller delivered, counted on the analysis tables before cleaning (aggregates
    only): the brief's scope and consent-cohort section.

    Attributes
    ----------
    customers, orders, events, feedback : int
        Rows of each table as delivered.
    first, last : date or None
        First and last order or activity date within the data window (defects such as
        future dates are not the scope).
    cohorts : DataFrame
        ``cohort``, ``customers``, ``share`` for each consent cohort.
    minors, minors_without_guardian : int
    """

    customers: int
    orders: int
    events: int
    feedback: int
    first: dt.date | None
    last: dt.date | None
    cohorts: pd.DataFrame
    minors: int
    minors_without_guardian: int
    transfer_people: int = 0
    transfer_sensitive_people: int = 0


def dataset_scope(tables: Mapping[str, pd.DataFrame], params: DealParams) -> DatasetScope:
    """Count what the seller delivered (see :class:`DatasetScope`); small enough to keep
    after the tables themselves are released."""
    from valuation.privacy.cohorts import cohort_mask, minors_without_guardian_consent
    from valuation.tables import COHORTS

    customers, orders = tables["customers"], tables["orders"]
    activity = tables.get("activity", pd.DataFrame({"event_date": []}))
    start, end = _window(params)
    dates = pd.to_datetime(pd.concat([orders["order_date"], activity["event_date"]])).dropna()
    dates = dates.loc[(dates >= start) & (dates <= end)]
    rows = []
    for cohort in COHORTS:
        mask = pd.Series(cohort_mask(customers, cohort), index=customers.index).astype(bool)
        rows.append({"cohort": cohort, "customers": int(mask.sum()),
                     "share": float(mask.mean()) if len(mask) else 0.0})
    minor = customers["minor"].astype("boolean").fillna(False).astype(bool)
    no_guardian = pd.Series(minors_without_guardian_consent(customers)).astype(bool)
    # the handover's scope and its sensitive people, for the cross-border route (a customer
    # with a resident ID number is one whose ID gave coarse attributes: a valid ID)
    in_scope = (pd.Series(True, index=customers.index) if params.handover.scope == "all" else
                pd.Series(cohort_mask(customers, params.handover.scope),
                          index=customers.index).astype(bool))
    sensitive = minor.copy()
    if params.handover.id_numbers_sensitive and "birth_year_band" in customers:
        sensitive |= customers["birth_year_band"].notna().to_numpy(bool)
    return DatasetScope(
        customers=len(customers), orders=len(orders), events=len(activity),
        feedback=len(tables.get("feedback", ())),
        first=dates.min().date() if len(dates) else None,
        last=dates.max().date() if len(dates) else None,
        cohorts=pd.DataFrame(rows), minors=int(minor.sum()),
        minors_without_guardian=int(no_guardian.sum()),
        transfer_people=int(in_scope.sum()),
        transfer_sensitive_people=int((in_scope & sensitive).sum()))


def scope_and_compliance(ctx: BriefContext, scope: DatasetScope,
                         notification_cost: float | None = None,
                         log_ref: str | None = None) -> tuple[str, PublishedTable]:
    """Markdown of the scope and PIPL section and the consent-cohort table (suppressed)."""
    cohorts = scope.cohorts
    total = max(scope.customers, 1)
    transferable = int(cohorts.loc[cohorts["cohort"] == "transferable", "customers"].iloc[0])
    ctx.headline.update(customers=scope.customers, transferable_customers=transferable,
                        consent_coverage=transferable / total)
    p = ctx.params
    lines = [
        ctx.heading("scope_compliance"),
        ctx.t("scope_sentence", customers=ctx.count(scope.customers),
              orders=ctx.count(scope.orders), events=ctx.count(scope.events),
              feedback=ctx.count(scope.feedback),
              first=ctx.date(scope.first) if scope.first else "–",
              last=ctx.date(scope.last) if scope.last else "–"),
        "",
        ctx.t("minors_sentence", minors=ctx.count(scope.minors),
              minors_no_guardian=ctx.count(scope.minors_without_guardian)),
        "",
        ctx.t("pseudonymised_sentence"),
    ]
    if log_ref:
        lines += ["", ctx.t("log_sentence", log_ref=md_text(log_ref))]
    lines += [
        "", f"### {ctx.t('pipl_heading')}", "",
        "- " + ctx.t("pipl_art22", cost=ctx.money(notification_cost)),
        "- " + ctx.t("pipl_purpose", purpose=md_text(ctx.label("purpose", p.privacy.purpose))),
        "- " + cross_border_line(ctx, scope),
        "- " + ctx.t("pipl_destruction"),
        "", f"### {ctx.t('cohort_heading')}",
    ]
    shown = ctx.table(cohorts, count="customers", shares=["share"],
                      labels={"cohort": "cohort"})
    ctx.blocks["cohorts"] = shown.data
    return "\n".join(lines), shown


def cross_border_line(ctx: BriefContext, scope: DatasetScope) -> str:
    """The cross-border route of the transfer (:mod:`valuation.crossborder`), from the counts
    of the handover's scope; also kept in results.json (``cross_border``)."""
    from valuation.crossborder import ROUTES, route_for_transfer

    handover = ctx.params.handover
    route = route_for_transfer(handover, scope.transfer_people, scope.transfer_sensitive_people)
    ctx.blocks["cross_border"] = {**route.as_dict(), "destination": handover.destination,
                                  "route_ref_recorded": bool(handover.cross_border_route_ref.strip())}
    if handover.destination != "outside":
        return ctx.t("pipl_mainland")
    info = ROUTES[route.route]
    zh = ctx.lang == "zh"
    ref = handover.cross_border_route_ref.strip()
    return ctx.t("pipl_cross_border", people=ctx.count(route.people),
                 sensitive=ctx.count(route.sensitive_people),
                 route=info["label_zh" if zh else "label"],
                 basis=info["basis_zh" if zh else "basis"],
                 lead_time=info["lead_time_zh" if zh else "lead_time"],
                 ref=md_text(ref) if ref else ("未记录（移交前必须记录）" if zh else
                                               "not recorded (required before the handover)"))


# ---------------------------------------------------------------------------------------
# Data review
# ---------------------------------------------------------------------------------------
def data_review(ctx: BriefContext, quality: Any) -> tuple[str, PublishedTable | None]:
    """Markdown of the review and its findings table (a ``QualityReport``), worst first."""
    score, haircut = _num(quality.score), _num(quality.haircut)
    ctx.headline.update(quality_score=score, quality_haircut=haircut)
    ctx.blocks["quality"] = quality.to_json_dict()
    findings = quality.findings()
    lines = [ctx.heading("data_review"),
             ctx.t("quality_sentence", score=f"{score:.0f}" if score is not None else "–",
                   haircut=ctx.share(haircut))]
    if findings is None or len(findings) == 0:
        return "\n".join([*lines, "", ctx.t("no_findings")]), None
    frame = findings.assign(
        _order=findings["severity"].map(SEVERITY_ORDER).fillna(9),
        _share=findings[["share_of_customers", "share_of_revenue"]].max(axis=1),
    ).sort_values(["_order", "_share"], ascending=[True, False])
    frame = frame[["check", "group", "failed", "unit", "share_of_customers",
                   "share_of_revenue", "severity", "treatment"]]
    shown = ctx.table(frame, count="failed", shares=["share_of_customers", "share_of_revenue"],
                      labels={"check": "check", "group": "group", "unit": "unit",
                              "severity": "severity", "treatment": "treatment"},
                      total_derivable=False)
    return "\n".join([*lines, "", ctx.t("findings_intro")]), shown


# ---------------------------------------------------------------------------------------
# Activity
# ---------------------------------------------------------------------------------------
def active_last_12_months(tables: Mapping[str, pd.DataFrame], as_of: Any) -> int:
    """Customers (with a customer record) with an order or activity event in the 365 days to
    ``as_of``."""
    from valuation.activity import active_customers

    return active_customers(tables, as_of, days=365)


def purchase_model(base: Any) -> tuple[Any, pd.DataFrame] | None:
    """The valuation's fitted repeat-purchase model (BG/NBD) and its RFM table, or ``None``
    when the valuation uses none (memberships only, or the empirical-rate fallback)."""
    stream = getattr(base, "purchase_", None)
    model = getattr(stream, "purchase_model_", None)
    if model is None or not hasattr(model, "p_alive"):
        return None
    return model, stream.rfm_


def purchase_fallback_reason(base: Any) -> str | None:
    """Why the valuation fell back to an empirical purchase rate (``None`` when it did not)."""
    return getattr(base, "purchase_fallback_reason_", None)


def purchase_outlook(base: Any, params: DealParams) -> pd.DataFrame | None:
    """Expected alive / buying customers in each of the next 12 months, from the
    valuation's fitted purchase model (:func:`valuation.activity.expected_active_customers`);
    ``None`` when the valuation uses no purchase model, or one other than BG/NBD."""
    from valuation.activity import expected_active_customers

    fitted = purchase_model(base)
    if fitted is None:
        return None
    model, rfm = fitted
    from valuation.models import BetaGeo

    if not isinstance(model, BetaGeo):  # the outlook is a BG/NBD computation; the holdout
        return None  # may have chosen Pareto/NBD or BG/BB (valuation.value.selection)
    return expected_active_customers(model, rfm, months=12, time_unit=params.time_unit)


def activity(ctx: BriefContext, tables: Mapping[str, pd.DataFrame], panel: pd.DataFrame,
             retention: Any, outlook: pd.DataFrame | None = None):
    """Markdown, monthly-panel figure and cohort heatmap of the activity section.

    Parameters
    ----------
    tables : mapping
        The cleaned analysis tables (for the customers active in the last 12 months).
    panel : DataFrame
        :func:`valuation.activity.monthly_activity_panel`.
    retention : CohortRetention
        :func:`valuation.activity.cohort_retention`.
    outlook : DataFrame, optional
        :func:`purchase_outlook` (month, expected_alive, expected_active).
    """
    p = ctx.params
    active_12m = active_last_12_months(tables, p.as_of)
    alive = buying = None
    if outlook is not None and len(outlook):
        last = outlook.iloc[-1]
        alive, buying = _num(last["expected_alive"]), _num(last["expected_active"])
    # BG/NBD "alive" keeps every customer without a repeat purchase alive (the model's
    # assumption), so the headline count of active customers in 12 months comes from the
    # survival-based retention of the valuation instead (see valuation_section)
    ctx.headline.update(active_customers=active_12m, expected_alive_12m_bgnbd=alive)
    ctx.blocks["activity"] = {"panel": panel.tail(24), "active_last_12_months": active_12m,
                              "outlook": outlook}
    lines = [ctx.heading("activity"),
             ctx.t("activity_sentence", active=ctx.count(active_12m), as_of=ctx.date(p.as_of))]
    if alive is not None:
        lines[-1] += " " + ctx.t("expected_active_sentence", alive=ctx.count(alive),
                                 buying=ctx.count(buying))
    else:
        lines[-1] += " " + ctx.t("expected_active_missing")
    start, _ = _window(p)
    months = panel.index if isinstance(panel.index, pd.PeriodIndex) else None
    shown_panel = panel.loc[months >= start.to_period("M")] if months is not None and p.data.opened else panel
    shares = retention.shares
    sizes = retention.sizes.reindex(shares.index).fillna(0)
    shares = shares.loc[sizes >= ctx.k]  # cohorts smaller than k are not shown
    if p.data.opened and isinstance(shares.index, pd.PeriodIndex):
        shares = shares.loc[shares.index >= start.to_period("M")]
    fig_panel = ctx.figure(plots.activity_panel(shown_panel, style=ctx.style), "activity_panel")
    fig_cohort = ctx.figure(plots.cohort_heatmap(shares, style=ctx.style), "cohort_heatmap")
    return "\n".join(lines), fig_panel, fig_cohort


# ---------------------------------------------------------------------------------------
# Churn
# ---------------------------------------------------------------------------------------
def _survival_at(curve: pd.DataFrame, days: float) -> float | None:
    before = curve.loc[curve["days"] <= days]
    return float(before["survival"].iloc[-1]) if len(before) else None


def churn(ctx: BriefContext, survival: pd.DataFrame, model: Any):
    """Markdown, KM figure, forest figure and drivers table of the churn section.

    Parameters
    ----------
    survival : DataFrame
        :func:`valuation.survival.survival_table`.
    model : ChurnModel
        Fitted on ``survival``.
    """
    from valuation import survival as surv

    overall = surv.kaplan_meier_curves(survival)
    medians = surv.median_lifetimes(survival)
    median_raw = float(medians["median_days"].iloc[0]) if len(medians) else float("nan")
    median_days = _num(median_raw)
    s365 = _survival_at(overall, 365.0)
    churn_12m = 1.0 - s365 if s365 is not None else None
    ctx.headline.update(churn_12m=churn_12m, median_lifetime_days=median_days)
    drivers = model.drivers_
    reference = dict(getattr(model, "reference_", {}) or {})
    ctx.blocks["churn"] = {"medians": medians, "drivers": drivers, "reference": reference,
                           "concordance": _num(getattr(model, "concordance_", None)),
                           "survival_365_days": s365}
    if median_days is not None:
        median_text = ctx.t("days", n=median_days)
    elif np.isinf(median_raw):  # survival never falls to 50% within the data
        median_text = ctx.t("median_not_reached")
    else:
        median_text = ctx.t("missing_value")
    min_group = max(ctx.k, KM_MIN_GROUP)
    curves = surv.kaplan_meier_curves(survival, by="channel", min_group_size=min_group)
    curves = curves.assign(group=[T.label(ctx.figure_lang, "level", g) for g in curves["group"]])
    reference_text = "; ".join(
        f"{md_text(ctx.label('covariate', c))} = {md_text(ctx.label('level', level))}"
        for c, level in reference.items() if any(i.startswith(f"{c}[") for i in drivers.index))
    md = [ctx.heading("churn"),
          ctx.t("churn_sentence", days=ctx.params.churn.inactivity_days,
                median=median_text, churn_12m=ctx.share(churn_12m)),
          "", ctx.t("km_note", n=min_group),
          "", ctx.t("drivers_sentence", reference=reference_text or "–")]
    named = drivers.copy()
    named.index = [T.covariate_label(ctx.figure_lang, str(i)) for i in drivers.index]
    fig_km = ctx.figure(plots.km_curves(curves, style=ctx.style), "km_curves")
    fig_forest = ctx.figure(plots.hazard_forest(named, style=ctx.style), "hazard_forest")
    md += _data_availability_lines(ctx, drivers)
    md += ["", ctx.t("drivers_association_note")]
    # kept: BH-significant, stable in the later cohort, a behaviour (valuation.survival.drivers)
    kept = drivers["kept"] if "kept" in drivers.columns else drivers["p"] < 0.05
    significant = drivers.loc[kept.astype(bool)].sort_values("hazard_ratio", ascending=False)
    if significant.empty:
        md += ["", ctx.t("no_drivers")]
        return "\n".join(md), fig_km, fig_forest, None
    table = pd.DataFrame({
        "covariate": [T.covariate_label(ctx.lang, str(i), reference) for i in significant.index],
        "hazard_ratio": significant["hazard_ratio"].to_numpy(float),
        "ci": [f"{lo:.2f} – {hi:.2f}" for lo, hi in
               zip(significant["hr_lower"], significant["hr_upper"])],
        "p": significant["p"].to_numpy(float),
    })
    pvalues = ["p"]
    if "q" in significant.columns:
        table["q"] = significant["q"].to_numpy(float)
        pvalues.append("q")
    shown = ctx.table(table, decimals={"hazard_ratio": 2}, pvalues=pvalues)
    return "\n".join(md), fig_km, fig_forest, shown


def _data_availability_lines(ctx: BriefContext, drivers: pd.DataFrame) -> list[str]:
    """One sentence per significant missing-data indicator: a data-availability signal."""
    if not {"kind", "significant"} <= set(drivers.columns):
        return []
    signals = drivers.loc[(drivers["kind"] == "data_availability")
                          & drivers["significant"].astype(bool)]
    lines = []
    for name, row in signals.iterrows():
        lines += ["", ctx.t("data_availability_signal",
                            covariate=T.covariate_label(ctx.lang, str(name)),
                            hr=f"{row['hazard_ratio']:.2f}",
                            ci=f"{row['hr_lower']:.2f} – {row['hr_upper']:.2f}")]
    return lines


# ---------------------------------------------------------------------------------------
# CLV and segments
# ---------------------------------------------------------------------------------------
def clv_segments(ctx: BriefContext, tiers: pd.DataFrame, values: pd.Series | None = None):
    """Markdown, CLV-by-tier figure and tier table of the CLV section.

    Parameters
    ----------
    tiers : DataFrame
        :func:`valuation.segments.tier_summary` with CLV.
    values : Series, optional
        CLV per customer (for the top-10% / top-1% shares).
    """
    top10 = top1 = None
    if values is not None and len(values):
        ordered = np.sort(np.asarray(values, dtype=float))[::-1]
        total = ordered.sum() or 1.0
        top10 = ordered[: max(1, len(ordered) // 10)].sum() / total
        top1 = ordered[: max(1, len(ordered) // 100)].sum() / total
    md = "\n".join([ctx.heading("clv_segments"),
                    ctx.t("clv_sentence", top10=ctx.share(top10), top1=ctx.share(top1))])
    frame = tiers.reset_index() if "tier" not in tiers.columns else tiers
    value_col = next(c for c in ("clv_total", "clv", "value_total", "value", "revenue")
                     if c in frame.columns)
    plot_frame = frame.rename(columns={value_col: "clv_total"}).assign(
        tier=[T.label(ctx.figure_lang, "tier", t) for t in frame["tier"]])
    fig = ctx.figure(plots.clv_by_tier(plot_frame, style=ctx.style), "clv_by_tier")
    columns = [c for c in ("tier", "customers", "customer_share", "revenue", "revenue_share",
                           "clv", "clv_share", "mean_clv") if c in frame.columns]
    shown = ctx.table(frame[columns], count="customers",
                      money=[c for c in ("revenue", "clv", "mean_clv") if c in columns],
                      shares=[c for c in ("customer_share", "revenue_share", "clv_share")
                              if c in columns],
                      labels={"tier": "tier"})
    ctx.blocks["segments"] = {"tiers": shown.data, "top10_share": top10, "top1_share": top1}
    return md, fig, shown


# ---------------------------------------------------------------------------------------
# Valuation and the executive summary
# ---------------------------------------------------------------------------------------
def _assumption_label(lang: str, name: str, default: str | None) -> str:
    text_ = T.label(lang, "assumption", name, default)
    return text_[:1].upper() + text_[1:] if lang == "en" else text_


def valuation_section(ctx: BriefContext, result: Any):
    """Markdown, bridge table and the bridge, range and tornado figures (a ``ValuationResult``)."""
    ctx.blocks["valuation"] = result.to_json_dict()
    outlook = result.expected_active_12m or {}
    ctx.headline.update(expected_active_12m=outlook.get("all_current_owner"))
    bridge = result.bridge
    fig_labels = [T.label(ctx.figure_lang, "bridge", s, default=N.bridge_label(
        ctx.figure_lang, s, l)) for s, l in zip(bridge["step"], bridge["label"])]
    replicates = result.headline_draws()  # model and assumptions combined (issue 16)
    tornado = result.tornado.reset_index().rename(
        columns={"value_low": "low_value", "value_high": "high_value"})
    tornado["parameter"] = [_assumption_label(ctx.figure_lang, a, l)
                            for a, l in zip(tornado["assumption"], tornado["label"])]
    figs = [
        # drawn from the bridge table's own rows: the figure equals the table (issue 16)
        ctx.figure(plots_negotiation.bridge_figure(bridge, fig_labels, style=ctx.style),
                   "value_bridge"),
        ctx.figure(plots.value_range(replicates, point=result.value,
                                     asking_price=ctx.params.deal.price,
                                     style=ctx.style), "value_range"),
        ctx.figure(plots.tornado(tornado, base=result.value, style=ctx.style), "tornado"),
    ]
    table = pd.DataFrame({
        "step": [T.label(ctx.lang, "bridge", s, default=N.bridge_label(ctx.lang, s, l))
                 for s, l in zip(bridge["step"], bridge["label"])],
        "amount": bridge["amount"].to_numpy(float),
    })
    shown = ctx.table(table, money=["amount"], bold_last=True)
    md = "\n".join([ctx.heading("valuation"), ctx.t("bridge_sentence"), "",
                    ctx.t("tornado_sentence")])
    return md, shown, figs


def _asking_text(ctx: BriefContext, result: Any) -> str:
    """The asking-price sentence: where it sits against our range and the agreement zone."""
    asking = ctx.params.deal.price
    if asking is None:
        return ctx.t("no_asking")
    side = ctx.params.deal.side
    p10, p50, p90 = (result.percentile(q) for q in (10, 50, 90))
    values = result.headline_draws()
    # a multiple of a negative or zero median means nothing: then it is left out
    ratio = ctx.t("asking_ratio", ratio=asking / p50) if p50 > 0 else ""
    if asking > (values.max() if len(values) else p90):
        where = ctx.t("asking_above", p90=ctx.money(p90), ratio=ratio)
    elif asking < (values.min() if len(values) else p10):
        where = ctx.t("asking_below", p10=ctx.money(p10), ratio=ratio)
    else:
        pct = float((values <= asking).mean() * 100) if len(values) else float("nan")
        where = ctx.t("asking_inside", pct=f"{pct:.0f}")
    zone = result.zone or {}
    if zone.get("exists") is None:
        verdict = ""
    elif zone["exists"]:
        verdict = ctx.t(f"zone_{side}_yes", low=ctx.money(zone.get("low")),
                        high=ctx.money(zone.get("high")))
    else:
        verdict = ctx.t(f"zone_{side}_no", gap=ctx.money(zone.get("gap")))
    joiner = "" if ctx.lang == "zh" else " "
    return ctx.t(f"asking_{side}", asking=ctx.money(asking), where=where) + joiner + verdict


def risk_rows(ctx: BriefContext, result: Any) -> list[dict[str, Any]]:
    """Risks as ``[{risk, name, effect, explanation}]`` in ``ctx.lang``, largest effect first."""
    risks = result.risks
    if risks is None or len(risks) == 0:
        return []
    frame = risks.reset_index()
    name_col = "risk" if "risk" in frame.columns else frame.columns[0]
    tornado = result.tornado
    rows = []
    for record in frame.to_dict(orient="records"):
        risk = str(record[name_col])
        explanation = str(record.get("explanation") or "")
        if risk.startswith("assumption:"):
            assumption = risk.split(":", 1)[1]
            default = str(tornado.loc[assumption, "label"]) if assumption in tornado.index else None
            name = ctx.label("risk", "assumption").format(
                label=_assumption_label(ctx.lang, assumption, default))
            if assumption in tornado.index and ctx.lang == "zh":
                row = tornado.loc[assumption]
                explanation = ctx.label("risk_explanation", "assumption").format(
                    low=f"{row['low']:g}", high=f"{row['high']:g}")
            elif ctx.lang == "en":
                explanation = explanation[:1].upper() + explanation[1:] + "."
        else:
            name = ctx.label("risk", risk)
            if ctx.lang == "zh":
                explanation = ctx.label("risk_explanation", risk, default="")
            else:
                explanation = explanation[:1].upper() + explanation[1:] + "."
        rows.append({"risk": risk, "name": name, "effect": _num(record.get("effect")),
                     "explanation": explanation})
    rows.sort(key=lambda r: -abs(r["effect"] or 0.0))
    return rows


def executive_summary(ctx: BriefContext, result: Any) -> str:
    """Markdown of the executive summary from the ``ValuationResult``."""
    p10, p50, p90 = (result.percentile(p) for p in (10, 50, 90))
    prices = result.positions["price"]
    anchor, target, walk = (_num(prices.get(k)) for k in ("anchor", "target", "walk_away"))
    checks = result.price_checks
    per_active = _num(checks.loc["model_target", "price_per_active_customer"])
    multiple_price = _num(checks.loc["revenue_multiple", "price"])
    active_transferable = None
    if "transferable" in result.equity.index and "active_customers" in result.equity.columns:
        active_transferable = _num(result.equity.loc["transferable", "active_customers"])
    earn = result.earn_out
    scenarios = {str(r.get("scenario")): r for r in earn.get("scenarios", [])}
    risks = risk_rows(ctx, result)[:3]
    ctx.headline.update(
        equity_point=result.value, equity_p10=p10, equity_p50=p50, equity_p90=p90,
        anchor_price=anchor, target_price=target, walk_away_price=walk,
        asking_price=ctx.params.deal.price, price_per_active_customer=per_active,
        revenue_multiple_price=multiple_price,
        earn_out_amount=_num(earn.get("amount")),
        earn_out_expected_retained=_num(earn.get("expected_retained",
                                                 scenarios.get("expected", {}).get("retained_customers"))),
        top_risks=[{"risk": r["risk"], "name": r["name"], "effect": r["effect"]} for r in risks],
    )
    ctx.headline.update(negotiation.headline(result))  # issue 16: the plan's numbers
    side = ctx.t(f"side_{ctx.params.deal.side}")
    lines = [ctx.heading("executive_summary"),
             ctx.t("range_sentence", p10=ctx.money(p10), p50=ctx.money(p50),
                   p90=ctx.money(p90), point=ctx.money(result.value)),
             "", *holdout_miss_lines(ctx, result),
             ctx.t("position_sentence", side=side, anchor=ctx.money(anchor),
                   target=ctx.money(target), walk_away=ctx.money(walk)),
             "", _asking_text(ctx, result),
             "", ctx.t("per_customer_sentence", per_active=ctx.money(per_active),
                       active=ctx.count(active_transferable),
                       multiple_price=ctx.money(multiple_price),
                       multiple=ctx.params.deal.revenue_multiple),
             "", f"### {ctx.t('risks_heading')}", ""]
    lines += [f"{i}. " + ctx.t("risk_line", name=md_text(r["name"]),
                               effect=ctx.money(r["effect"]),
                               explanation=md_text(r["explanation"])).strip()
              for i, r in enumerate(risks, 1)]
    if result.plan is not None:  # the earn-out term sheet of issue 16
        lines += ["", negotiation.earn_out_block(ctx, result.plan)[0]]
        lines += negotiation.earn_out_summary(ctx, result.plan)
        return "\n".join(lines)
    lines += ["", f"### {ctx.t('earn_out_heading')}", "",
              ctx.t("earn_out_sentence", share=ctx.share(earn.get("share")),
                    amount=ctx.money(earn.get("amount")),
                    expected=ctx.count(ctx.headline["earn_out_expected_retained"]),
                    p10=ctx.count(scenarios.get("P10", {}).get("retained_customers")),
                    p90=ctx.count(scenarios.get("P90", {}).get("retained_customers")))]
    return "\n".join(lines)


def holdout_miss_lines(ctx: BriefContext, result: Any) -> list[str]:
    """Page 1's warning when the chosen purchase model missed its holdout by more than the
    threshold (``valuation.value.selection``), and how the range was widened; else nothing."""
    choice = (getattr(result, "models", None) or {}).get("purchase_model_choice") or {}
    if not choice.get("missed"):
        return []
    error = float(choice["chosen_aggregate_error"])
    limit = float(choice["miss_threshold"])
    if ctx.lang == "zh":
        text = (f"**注意：所选购买模型（{choice['chosen']}）在留出期的总购买量预测偏差为 "
                f"{error:+.0%}（超过 {limit:.0%}），价值区间已按该偏差乘以购买价值向两侧放宽。**")
    else:
        text = (f"**Caution: the chosen purchase model ({choice['chosen']}) missed its holdout "
                f"by {error:+.0%} in aggregate (more than {limit:.0%}); the range above is "
                "widened by that error times the purchase stream's value.**")
    return [text, ""]


def model_choice_table(ctx: BriefContext, result: Any) -> str:
    """Markdown table of the purchase models compared on the holdout (method notes)."""
    choice = (getattr(result, "models", None) or {}).get("purchase_model_choice")
    if not choice:
        return ""
    zh = ctx.lang == "zh"
    head = ("| 模型 | 预测 | 实际 | 总量偏差 | 每客户平均绝对误差 | 选用 |" if zh else
            "| model | predicted | actual | aggregate error | MAE per customer | chosen |")
    lines = [("留出期模型比较（" if zh else "Purchase models on the holdout (")
             + f"{choice['holdout']['start']} – {choice['holdout']['end']}"
             + ("）；规则：总量偏差绝对值最小者；若另一模型的总量偏差与之相差不超过 2 个百分点且每客户"
                "平均绝对误差更小，则选用该模型。" if zh else "); rule: " + choice["rule"] + "."),
             "", head,
             "|---|---:|---:|---:|---:|---|"]
    names = {"BetaGeo": "BG/NBD", "ParetoNBD": "Pareto/NBD", "BetaGeoBetaBinom": "BG/BB"}
    for row in choice["candidates"]:
        row = {**row, "model": names.get(row["model"], row["model"])}
        if row.get("status") != "ok":
            status = ("拟合失败" if zh else
                      md_text(str(row["status"])[:80]).replace("|", "/"))
            lines.append(f"| {row['model']} | – | – | – | – | {status} |")
            continue
        lines.append(f"| {row['model']} | {row['predicted']:,.0f} | {row['actual']:,.0f} | "
                     f"{row['aggregate_error']:+.1%} | {row['mae']:.3f} | "
                     f"{'✓' if row['chosen'] else ''} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Model validation
# ---------------------------------------------------------------------------------------
@dataclass
class PurchaseValidation:
    """Holdout validation of the purchase model (from :mod:`valuation.validation`).

    Attributes
    ----------
    tracking : DataFrame or None
        :func:`valuation.validation.cumulative_tracking`.
    by_frequency : DataFrame or None
        :func:`valuation.validation.holdout_by_frequency`.
    metrics : dict
        Holdout totals and accuracy.
    skipped : str or None
        Why there is no validation (then the frames are ``None``).
    """

    tracking: pd.DataFrame | None = None
    by_frequency: pd.DataFrame | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None


def purchase_validation(tables: Mapping[str, pd.DataFrame], params: DealParams, *,
                        uses_purchase_model: bool = True,
                        fallback_reason: str | None = None) -> PurchaseValidation:
    """Fit BG/NBD on the calibration period and compare it with the holdout.

    Parameters
    ----------
    tables : mapping
        The (cleaned) analysis tables.
    params : DealParams
        ``calibration_end``, ``as_of`` and ``time_unit``.
    uses_purchase_model : bool
        Whether the valuation uses a purchase model at all; when not, nothing is fitted.
    fallback_reason : str, optional
        Why the valuation uses no purchase model (shown as the reason of the skip).

    Returns
    -------
    PurchaseValidation
    """
    from valuation.features import rfm_summary
    from valuation.models import BetaGeo
    from valuation.validation import (
        cumulative_tracking,
        holdout_by_frequency,
        holdout_comparison,
    )

    if not uses_purchase_model:
        return PurchaseValidation(skipped=fallback_reason or
                                  "the valuation uses no repeat-purchase model for this target")
    from valuation.value.equity import purchase_transactions

    # the same transactions the valuation models: instalments merged, membership fees apart
    orders = purchase_transactions(tables["orders"], params)
    orders = orders[["customer_token", "order_date"]].dropna()
    try:
        rfm = rfm_summary(orders, amount=None, calibration_end=params.calibration_end,
                          observation_end=params.as_of, time_unit=params.time_unit)
        model = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
        comparison = holdout_comparison(rfm, model)
        tracking = cumulative_tracking(orders, model, calibration_end=params.calibration_end,
                                       end=params.as_of, time_unit=params.time_unit)
    except ValuationError as exc:
        return PurchaseValidation(skipped=str(exc).splitlines()[0].rstrip("."))
    actual, predicted = comparison["actual"], comparison["predicted"]
    spread = actual.std() > 0 and predicted.std() > 0
    metrics = {
        "holdout_weeks": float((pd.Timestamp(params.as_of) - pd.Timestamp(params.calibration_end)).days / 7),
        "holdout_actual": float(actual.sum()),
        "holdout_predicted": float(predicted.sum()),
        "ratio_predicted_actual": float(predicted.sum() / max(actual.sum(), 1.0)),
        "mae_per_customer": float((predicted - actual).abs().mean()),
        "correlation": float(np.corrcoef(predicted, actual)[0, 1]) if spread else float("nan"),
    }
    return PurchaseValidation(tracking=tracking, by_frequency=holdout_by_frequency(comparison),
                              metrics=metrics)


def validation_section(ctx: BriefContext, validation: PurchaseValidation):
    """Markdown, tracking figure (or ``None``) and by-frequency table of the validation."""
    m = validation.metrics
    ctx.blocks["validation"] = {"metrics": m, "skipped": validation.skipped,
                                "by_frequency": validation.by_frequency}
    if validation.skipped:
        md = "\n".join([ctx.heading("validation"),
                        ctx.t("validation_skipped",
                              reason=md_text(T.reason_text(ctx.lang, validation.skipped)))])
        return md, None, None
    error = m["ratio_predicted_actual"] - 1.0
    if ctx.lang == "zh":
        error_text = f"预测{'偏高' if error >= 0 else '偏低'} {abs(error):.1%}"
    else:
        error_text = f"{'over' if error >= 0 else 'under'}-prediction of {abs(error):.1%}"
    corr = _num(m.get("correlation"))
    md = "\n".join([ctx.heading("validation"),
                    ctx.t("validation_sentence",
                          calibration_end=ctx.date(ctx.params.calibration_end),
                          as_of=ctx.date(ctx.params.as_of), weeks=f"{m['holdout_weeks']:.0f}",
                          predicted=ctx.count(m["holdout_predicted"]),
                          actual=ctx.count(m["holdout_actual"]), error=error_text,
                          corr=f"{corr:.2f}" if corr is not None else ctx.t("missing_value"),
                          mae=f"{m['mae_per_customer']:.2f}")])
    tracking = validation.tracking
    frame = pd.DataFrame({"period": tracking["period_end"].to_numpy(),
                          "actual": tracking["actual"].to_numpy(float),
                          "predicted": tracking["predicted"].to_numpy(float)})
    fig = ctx.figure(plots.tracking_plot(frame, calibration_end=ctx.params.calibration_end,
                                         style=ctx.style), "tracking")
    table = validation.by_frequency.reset_index()
    table = table[["frequency", "customers", "actual", "predicted"]]
    shown = ctx.table(table, count="customers", decimals={"actual": 2, "predicted": 2},
                      caption=ctx.t("validation_table_note"))
    return md, fig, shown


# ---------------------------------------------------------------------------------------
# Method notes and handover
# ---------------------------------------------------------------------------------------
def method_notes(ctx: BriefContext, fallback_reason: str | None = None,
                 result: Any = None) -> str:
    """Markdown of the method notes with the papers cited, the purchase-model fallback
    when the valuation used it (``fallback_reason``), and the holdout comparison of the
    purchase models (from ``result``, the ``ValuationResult``, when given)."""
    lines = [ctx.heading("method_notes"), ""]
    lines += [f"- {note}" for note in T.METHOD_NOTES[ctx.lang]]
    if fallback_reason:
        lines.append(f"- **{ctx.t('fallback_note', reason=md_text(T.reason_text(ctx.lang, fallback_reason)))}**")
    table = model_choice_table(ctx, result) if result is not None else ""
    if table:
        lines += ["", table, ""]
    lines += ["", f"**{ctx.t('references')}**", ""]
    lines += [f"{i}. {ref}" for i, ref in enumerate(T.REFERENCES, 1)]
    return "\n".join(lines)


def handover(ctx: BriefContext) -> tuple[str, PublishedTable]:
    """Markdown and the checklist table of the handover section (交接清单)."""
    rows = [{ctx.t("handover_item"): item, ctx.t("handover_detail"): detail,
             ctx.t("handover_delivered"): "☐", ctx.t("handover_confirmed"): "☐"}
            for item, detail in T.HANDOVER_ITEMS[ctx.lang]]
    md = "\n".join([ctx.heading("handover"), ctx.t("handover_intro")])
    return md, ctx.table(pd.DataFrame(rows), centered=[ctx.t("handover_delivered"),
                                                        ctx.t("handover_confirmed")])


def section_titles(lang: str) -> Sequence[str]:
    """All section headings of a brief in ``lang`` (tests check they are in the HTML)."""
    return [T.section_title(lang, key) for key in T.SECTION_KEYS]
