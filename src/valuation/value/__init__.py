"""Valuation of the customer base and the negotiation position (issue 6).

>>> result = valuate(load_analysis(params), params)  # doctest: +SKIP
>>> result.bridge, result.range, result.positions  # doctest: +SKIP
>>> result.to_json_dict()  # doctest: +SKIP

Modules: :mod:`~valuation.value.assumptions`, :mod:`~valuation.value.streams` (purchase and
membership revenue per period), :mod:`~valuation.value.retention` (change-of-owner shock),
:mod:`~valuation.value.equity`, :mod:`~valuation.value.bridge`,
:mod:`~valuation.value.uncertainty`, :mod:`~valuation.value.sensitivity`,
:mod:`~valuation.value.negotiation`, :mod:`~valuation.value.result`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from valuation.value.assumptions import UNLIMITED_HORIZON_YEARS, Assumptions
from valuation.value.bridge import BridgeInputs, bridge_amounts, value_bridge
from valuation.value.equity import CustomerBase, cohort_equity
from valuation.value.negotiation import (
    agreement_zone,
    earn_out,
    main_risks,
    price_checks,
    price_positions,
)
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

__all__ = [
    "Assumptions", "BridgeInputs", "CustomerBase", "UncertaintyResult", "ValuationResult",
    "bootstrap_value", "bridge_amounts", "cohort_equity", "valuate", "value_bridge",
]


def _model_summary(base: CustomerBase) -> dict:
    out = {}
    for role, model in base.fitted_models().items():
        out[role] = {"model": type(model).__name__,
                     "params": {k: float(v) for k, v in dict(model.params_).items()},
                     "standard_errors": {k: float(v)
                                         for k, v in dict(model.standard_errors_).items()}}
    return out


def valuate(tables: Mapping[str, pd.DataFrame], params, *, quality=None, replicates: int | None = None,
            acquisitions_value: float | None = None, models: Mapping[str, object] | None = None,
            progress=None) -> ValuationResult:
    """Value the transferable customer base of one target and set the negotiation position.

    Parameters
    ----------
    tables : mapping of table name to DataFrame
        The token-only analysis tables (``valuation.analysis.load_analysis``); not modified.
    params : DealParams
    quality : QualityReport, optional
        The data review of the same tables; run here when not given.
    replicates : int, optional
        Overrides ``params.uncertainty.bootstrap_replicates``.
    acquisitions_value : float, optional
        Value of future acquisitions to show in the bridge (off by default; labelled).
    models : mapping, optional
        Unfitted templates by role (``purchase``, ``spend``, ``membership``); default
        ``BetaGeo``, ``GammaGamma``, ``ShiftedBetaGeometric``.
    progress : callable, optional
        Called with the bootstrap replicate number.

    Returns
    -------
    ValuationResult
    """
    from valuation.quality import clean_tables, review

    if quality is None:
        quality = review(dict(tables), params)
    cleaned = clean_tables(dict(tables), params, quality).tables
    assumptions = Assumptions.from_params(params)
    ranges = sensitivity_ranges(params, assumptions)
    longest = max(assumptions.horizon_years, ranges["horizon_years"][1])
    models = dict(models or {})
    base = CustomerBase(models.get("purchase"), models.get("spend"), models.get("membership"),
                        max_horizon_years=min(longest, UNLIMITED_HORIZON_YEARS))
    base.fit(cleaned, params)
    # the grid must hold every horizon of the tornado exactly
    base.edges_ = np.unique(np.concatenate([base.edges_, [h for h in ranges["horizon_years"]
                                                          if h <= base.edges_[-1]]]))
    base._cache = {}
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
    point = float(bridge["amount"].iloc[-1])
    n_rep = params.uncertainty.bootstrap_replicates if replicates is None else replicates
    unc = bootstrap_value(base, assumptions, inputs, replicates=n_rep,
                          seed=params.uncertainty.seed, progress=progress)

    def value_of(a: Assumptions) -> float:
        return transferable_value(base, a, inputs)

    torn = tornado(value_of, assumptions, ranges)
    grid = scenario_grid(value_of, assumptions, *default_grid_axes(assumptions, ranges))
    transferable = customers["transferable"].to_numpy(bool)
    keep = 1.0 - inputs.haircut
    per_customer = values.loc[transferable, "clv_transferred"] * keep
    top, segments = concentration(per_customer, customers,
                                  min_cell_size=params.privacy.min_cell_size)

    positions = price_positions(unc, params.deal.side)
    zone = agreement_zone(positions, params.deal.side, params.deal.asking_price, unc)
    active_trans = int((transferable & customers["active"].to_numpy(bool)).sum())
    revenue_12m = float(customers["revenue_12m"].sum())
    checks = price_checks(float(positions.loc["target", "price"]), active_trans, revenue_12m,
                          params.deal.revenue_multiple)
    retention = base.retention(assumptions.inactivity_days)
    s12 = float(retention.survival([1.0])[0])
    shock12 = float(attrition_ratio([1.0], retention, assumptions.one_off_loss,
                                    assumptions.hazard_multiplier, assumptions.hazard_months)[0])
    at_risk = retention.km_.event_table["at_risk"]
    n_eff = float(at_risk.loc[at_risk.index <= 365.25].iloc[-1]) if len(at_risk) else 2.0
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
    streams = pd.DataFrame({
        "equity": [float(values["clv_purchase"].sum()), float(values["clv_membership"].sum())],
    }, index=pd.Index(["purchases", "memberships"], name="stream"))
    notes = [
        "Change-of-owner attrition applied through the Kaplan-Meier residual retention curve "
        "as a proportional-hazards shock (valuation.value.retention).",
        "Range: customer bootstrap with refits plus parameter draws, added (conservative).",
    ]
    if acquisitions_value is not None:
        notes.append("Future acquisitions are INCLUDED in the bridge (assumption; off by default).")
    return ValuationResult(
        target=params.target, side=params.deal.side, assumptions=assumptions.to_dict(),
        equity=equity, streams=streams, bridge=bridge, value=point, range=unc.percentiles,
        replicates=unc.replicates, tornado=torn, scenario_grid=grid, concentration_top=top,
        concentration_segments=segments, positions=positions, zone=zone, price_checks=checks,
        earn_out=eo_dict, risks=risks, models=_model_summary(base), notes=notes,
    )
