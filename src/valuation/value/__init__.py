"""Valuation of the customer base and the negotiation position (issue 6).

>>> result = valuate(load_analysis(params), params)  # doctest: +SKIP
>>> result.bridge, result.range, result.positions  # doctest: +SKIP
>>> result.to_json_dict()  # doctest: +SKIP

Modules: :mod:`~valuation.value.assumptions`, :mod:`~valuation.value.streams` (purchase and
membership revenue per period, and the stream protocol), :mod:`~valuation.value.fallback`
(the simple purchase method when BG/NBD cannot be fitted),
:mod:`~valuation.value.instalments` (outstanding instalments),
:mod:`~valuation.value.retention` (change-of-owner shock), :mod:`~valuation.value.equity`,
:mod:`~valuation.value.bridge`, :mod:`~valuation.value.newton` (one-step bootstrap refits),
:mod:`~valuation.value.uncertainty`, :mod:`~valuation.value.sensitivity`,
:mod:`~valuation.value.acquisitions` (optional future acquisitions),
:mod:`~valuation.value.negotiation`, :mod:`~valuation.value.result`; issue 16:
:mod:`~valuation.value.whatif` (revaluation without refit), :mod:`~valuation.value.joint_range`
(the range with the assumptions in it), :mod:`~valuation.value.positions`,
:mod:`~valuation.value.implied`, :mod:`~valuation.value.earnout`,
:mod:`~valuation.value.reconsent`, :mod:`~valuation.value.deal_plan` (all of them together).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from valuation.value.acquisitions import AcquisitionValue, acquisition_value
from valuation.value.assumptions import UNLIMITED_HORIZON_YEARS, Assumptions
from valuation.value.bridge import BridgeInputs, bridge_amounts, value_bridge
from valuation.value.deal_plan import legacy_zone, negotiation_plan, with_reconsent
from valuation.value.equity import STREAM_COLUMNS, CustomerBase, cohort_equity
from valuation.value.negotiation import earn_out, main_risks, price_checks
from valuation.value.result import ValuationResult
from valuation.value.retention import attrition_ratio
from valuation.value.sensitivity import (
    concentration,
    default_grid_axes,
    scenario_grid,
    sensitivity_ranges,
    tornado,
    transferable_value,
)
from valuation.value.uncertainty import UncertaintyResult, bootstrap_value
from valuation.value.whatif import Revaluer

if TYPE_CHECKING:
    from valuation.quality import CleanedTables

__all__ = [
    "AcquisitionValue", "Assumptions", "BridgeInputs", "CustomerBase", "UncertaintyResult",
    "ValuationResult", "acquisition_value", "bootstrap_value", "bridge_amounts",
    "cohort_equity", "valuate", "value_bridge", "Revaluer",
]


def _model_summary(base: CustomerBase) -> dict:
    out = {}
    for role, model in base.fitted_models().items():
        out[role] = {"model": type(model).__name__,
                     "params": {k: float(v) for k, v in dict(model.params_).items()},
                     "standard_errors": {k: float(v)
                                         for k, v in dict(model.standard_errors_).items()},
                     "fit_notes": list(getattr(model, "fit_notes_", []) or [])}
    for name, stream in base.streams_.items():
        if hasattr(stream, "summary"):
            out[name] = {"model": stream.method, **stream.summary()}
    choice = getattr(base, "model_choice_", None)
    if choice is not None:
        out["purchase_model_choice"] = choice.to_dict()
    return out


def _stream_table(base: CustomerBase, values: pd.DataFrame) -> pd.DataFrame:
    """Equity of all customers per stream, with the method behind it."""
    rows = []
    for name, column in STREAM_COLUMNS.items():
        stream = base.streams_.get(name)
        rows.append({"stream": name, "equity": float(values[column].sum()),
                     "method": stream.method if stream is not None else "none",
                     "label": stream.label if stream is not None else "not present"})
    return pd.DataFrame(rows).set_index("stream")


def _expected_active(base: CustomerBase, assumptions: Assumptions, eligible: int,
                     retained: float) -> dict:
    """Expected active customers 12 months on: all customers under the current owner (the
    retention curve) and the transferable ones after the change of owner (the earn-out's
    expected retained count)."""
    active = int(base.customers_["active"].sum())
    s12 = float(base.retention(assumptions.inactivity_days).survival([1.0])[0])
    return {"active_now": active, "all_current_owner": active * s12,
            "transferable_active_now": eligible, "transferable_after_transfer": retained,
            "retention_12m": s12}


def valuate(tables: Mapping[str, pd.DataFrame] | CleanedTables, params, *, quality=None, replicates: int | None = None,
            acquisitions_value: float | None = None, models: Mapping[str, object] | None = None,
            progress=None) -> ValuationResult:
    """Value the transferable customer base of one target and set the negotiation position.

    Parameters
    ----------
    tables : mapping of table name to DataFrame, or CleanedTables
        The token-only analysis tables (``valuation.analysis.load_analysis``; not modified),
        cleaned here; or tables already cleaned by ``valuation.quality.clean_tables``, whose
        review is used (no second cleaning, no second copy).
    params : DealParams
    quality : QualityReport, optional
        The data review of the same tables; run here when not given (or taken from the
        ``CleanedTables``).
    replicates : int, optional
        Overrides ``params.uncertainty.bootstrap_replicates``.
    acquisitions_value : float, optional
        Overrides the value of future acquisitions (else computed from
        ``params.deal.acquisitions``; off when neither is given). Shown as a labelled line
        after the value of the transferable base, never mixed into it.
    models : mapping, optional
        Unfitted templates by role (``purchase``, ``spend``, ``membership``); default
        ``BetaGeo``, ``GammaGamma``, ``ShiftedBetaGeometric``.
    progress : callable, optional
        Called with the bootstrap replicate number.

    Returns
    -------
    ValuationResult
        Its ``base`` is the fitted :class:`CustomerBase` (per-customer values, the models),
        so callers need not fit it again.
    """
    from valuation.quality import CleanedTables, clean_tables, review

    if isinstance(tables, CleanedTables):
        quality = tables.report if quality is None else quality
        cleaned = tables.tables
    else:
        if quality is None:
            quality = review(dict(tables), params)
        cleaned = clean_tables(tables, params, quality).tables
    assumptions = Assumptions.from_params(params)
    ranges = sensitivity_ranges(params, assumptions)
    longest = max(assumptions.horizon_years, ranges["horizon_years"][1])
    models = dict(models or {})
    extra = tuple(h for h in ranges["horizon_years"] if h <= UNLIMITED_HORIZON_YEARS)
    base = CustomerBase(models.get("purchase"), models.get("spend"), models.get("membership"),
                        max_horizon_years=min(longest, UNLIMITED_HORIZON_YEARS))
    base.fit(cleaned, params)
    # the grid must hold every horizon of the tornado exactly
    base.edges_ = np.unique(np.concatenate([base.edges_, [h for h in extra
                                                          if h <= base.edges_[-1]]]))
    notes = list(base.method_notes_)
    acquisitions = None
    if acquisitions_value is None and params.deal.acquisitions is not None:
        acquisitions = acquisition_value(base.new_customer_value(assumptions),
                                         params.deal.acquisitions, assumptions)
        acquisitions_value = acquisitions.value
        notes.append(
            f"Future acquisitions INCLUDED as a separate, labelled line after the value of the "
            f"transferable base (assumption, off by default): "
            f"{params.deal.acquisitions.customers_per_year:,.0f} new customers a year for "
            f"{params.deal.acquisitions.years:g} years, each worth {acquisitions.clv_new_customer:,.0f} "
            f"CNY (margin, discounted, {assumptions.horizon_years:g}-year horizon) less "
            f"{params.deal.acquisitions.cost_per_customer:,.0f} CNY acquisition cost.")
    elif acquisitions_value is not None:
        notes.append("Future acquisitions INCLUDED as a separate, labelled line (value given "
                     "by the caller; assumption, off by default).")
    inputs = BridgeInputs(
        haircut=float(quality.haircut),
        notification_cost_per_customer=float(params.deal.notification_cost_per_customer),
        integration_cost=float(params.deal.integration_cost),
        excluded_customers=len(quality.excluded_customers),
        acquisitions_value=acquisitions_value,
    )
    values = base.customer_values(assumptions)
    customers = base.customers_
    bridge = value_bridge(values, customers, inputs, quality_score=float(quality.score))
    point = float(bridge.set_index("step").loc["transferable_value", "amount"])
    n_rep = params.uncertainty.bootstrap_replicates if replicates is None else replicates
    # the range is of existing customers only: acquisitions never enter the replicates
    existing = dataclasses.replace(inputs, acquisitions_value=None)
    unc = bootstrap_value(base, assumptions, existing, replicates=n_rep,
                          seed=params.uncertainty.seed, progress=progress)
    choice = getattr(base, "model_choice_", None)
    if choice is not None and choice.missed:  # the range widens by the measured miss
        from valuation.value.selection import MISS_THRESHOLD, widen_uncertainty

        trans_mask = customers["transferable"].to_numpy(bool)
        stream_value = float(values["clv_purchase"].to_numpy()[trans_mask].sum()) * (
            1.0 - inputs.haircut)
        unc, shift = widen_uncertainty(unc, choice.chosen_error, stream_value)
        notes.append(
            f"HOLDOUT MISS: the purchase model ({choice.chosen}) misses the holdout by "
            f"{choice.chosen_error:+.1%} in aggregate (more than {MISS_THRESHOLD:.0%}); the "
            f"value range is widened by {abs(choice.chosen_error):.1%} of the purchase "
            f"stream's transferable value ({stream_value:,.0f} CNY), i.e. by {shift:,.0f} "
            "CNY on each side of the point estimate.")

    def value_of(a: Assumptions) -> float:
        return transferable_value(base, a, existing)

    torn = tornado(value_of, assumptions, ranges)
    grid = scenario_grid(value_of, assumptions, *default_grid_axes(assumptions, ranges))
    transferable = customers["transferable"].to_numpy(bool)
    keep = 1.0 - inputs.haircut
    per_customer = values.loc[transferable, "clv_transferred"] * keep
    top, segments = concentration(per_customer, customers,
                                  min_cell_size=params.privacy.min_cell_size)

    active_trans = int((transferable & customers["active"].to_numpy(bool)).sum())
    at_risk = base.retention(assumptions.inactivity_days).km_.event_table["at_risk"]
    n_eff = float(at_risk.loc[at_risk.index <= 365.25].iloc[-1]) if len(at_risk) else 2.0
    # issue 16: combined range, positions from a negotiation analysis, earn-out terms
    plan = negotiation_plan(base, params, assumptions, existing, unc, torn,
                            active_transferable=active_trans, effective_size=n_eff)
    bridge = value_bridge(values, customers, with_reconsent(inputs, plan),
                          quality_score=float(quality.score))
    positions, zone = plan.positions.table(), legacy_zone(plan)
    notes += plan.method_notes()
    revenue_12m = float(customers["revenue_12m"].sum())
    checks = price_checks(float(positions.loc["target", "price"]), active_trans, revenue_12m,
                          params.deal.revenue_multiple)
    retention = base.retention(assumptions.inactivity_days)
    s12 = float(retention.survival([1.0])[0])
    shock12 = float(attrition_ratio([1.0], retention, assumptions.one_off_loss,
                                    assumptions.hazard_multiplier, assumptions.hazard_months)[0])
    eo = earn_out(float(positions.loc["target", "price"]), params.deal.earn_out_share,
                  active_trans, s12 * shock12, n_eff, seed=params.uncertainty.seed)
    eo_dict = eo.to_dict()
    eo_dict["expected_retained"] = float(eo.table.loc["expected", "retained_customers"])
    not_contactable = transferable & ~customers["transferable_contactable"].to_numpy(bool)
    risks = main_risks(
        bridge,
        not_contactable_value=float(values.loc[not_contactable, "clv_transferred"].sum() * keep),
        top1_value=float(top.loc["top_1pct", "value"]),
        top1_share=float(top.loc["top_1pct", "share"]),
        tornado=torn,
    )
    equity = cohort_equity(values, customers)
    streams = _stream_table(base, values)
    refits = unc.replicates["refit"].value_counts()
    notes += [
        "Change-of-owner attrition applied through the Kaplan-Meier residual retention curve "
        "as a proportional-hazards shock (valuation.value.retention).",
        "Range: customer bootstrap with refits plus parameter draws, added (conservative). "
        f"Refits of the {n_rep} replicate(s): " + (", ".join(
            f"{count} {how}" for how, count in refits.items()) or "none") +
        " (newton = one Newton step from the point estimate on the resampled likelihood; "
        "refit = full refit; exact = closed-form re-estimation).",
    ]
    return ValuationResult(
        target=params.target, side=params.deal.side, assumptions=assumptions.to_dict(),
        equity=equity, streams=streams, bridge=bridge, value=point, range=unc.percentiles,
        replicates=unc.replicates, tornado=torn, scenario_grid=grid, concentration_top=top,
        concentration_segments=segments, positions=positions, zone=zone, price_checks=checks,
        earn_out=eo_dict, risks=risks, models=_model_summary(base), method_notes=notes,
        purchase_method=(base.purchase_.method if base.purchase_ is not None else "none"),
        purchase_fallback_reason=base.purchase_fallback_reason_,
        acquisitions=(acquisitions.to_dict() if acquisitions is not None else
                      ({"value": acquisitions_value, "label": inputs.acquisitions_label}
                       if acquisitions_value is not None else None)),
        expected_active_12m=_expected_active(base, assumptions, active_trans,
                                             eo_dict["expected_retained"]),
        base=base, plan=plan,
    )
