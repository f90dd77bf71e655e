"""The negotiation plan of one valuation: combined range, positions, what you must believe,
the earn-out term sheet and the re-consent scenario (issue 16).

:func:`negotiation_plan` is called by :func:`valuation.value.valuate` once the base is
fitted and the model-only range is drawn; everything here revalues the fitted base through
one engine (:class:`~valuation.value.whatif.Revaluer`), never refitting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.value.assumptions import Assumptions
from valuation.value.bridge import BridgeInputs
from valuation.value.earnout import STRESS_LOSSES, TermSheet, earn_out_terms
from valuation.value.implied import implied_assumptions
from valuation.value.joint_range import JointRange, draw_ranges, joint_range
from valuation.value.positions import PositionInputs, PositionPlan, plan_positions
from valuation.value.reconsent import ReconsentScenario, reconsent_scenario
from valuation.value.whatif import Revaluer


@dataclass
class NegotiationPlan:
    """Everything the negotiation needs, aggregates only (plus the engine, in memory).

    Attributes
    ----------
    joint : JointRange
        Model + assumption draws (the headline range) and the model-only range.
    positions : PositionPlan
    implied : DataFrame
        :func:`valuation.value.implied.implied_assumptions`.
    term_sheet : TermSheet
    reconsent : ReconsentScenario
    assumptions : DataFrame
        Base case and range of every drawn assumption (the page-1 table).
    revaluer : Revaluer
        The what-if engine (not serialised).
    """

    joint: JointRange
    positions: PositionPlan
    implied: pd.DataFrame
    term_sheet: TermSheet
    reconsent: ReconsentScenario
    assumptions: pd.DataFrame
    batna: dict
    methods: dict
    revaluer: Revaluer

    def method_notes(self) -> list[str]:
        """How the headline range and the positions were made (for the method notes)."""
        joint, pos = self.joint, self.positions
        laws = ", ".join(f"{k} {v[0]:g}-{v[1]:g} ({joint.distributions.get(k, 'triangular')})"
                         for k, v in joint.ranges.items())
        return [
            f"Headline range: {len(joint.draws)} joint draws of the assumptions ({laws}), "
            "independent, each revalued without refitting, added to the model's bootstrap + "
            "parameter replicates; the model-only range (P10 "
            f"{joint.value_at(10, 'model'):,.0f} / P90 {joint.value_at(90, 'model'):,.0f}) is "
            "kept beside it. The tornado stays one-at-a-time.",
            f"Positions ({pos.side}) from a negotiation analysis: our reservation "
            f"{pos.reservation:,.0f} ({pos.reasons['reservation']['code']}), the other "
            f"side's estimated reservation {pos.counterparty_reservation:,.0f}, the "
            f"counterparty's price {pos.price if pos.price is not None else 'none'} "
            f"({pos.price_kind}); a buyer never offers or aims above an ask, a seller never "
            "asks below an offer (valuation.value.positions).",
        ]

    def to_dict(self) -> dict:
        """JSON-ready (no per-customer data)."""
        implied = self.implied.reset_index()
        return {"positions": self.positions.to_dict(),
                "range": self.joint.to_dict(),
                "implied_assumptions": implied.to_dict(orient="records"),
                "earn_out_term_sheet": self.term_sheet.to_dict(),
                "reconsent": self.reconsent.to_dict(),
                "assumptions": self.assumptions.reset_index().to_dict(orient="records"),
                "batna": self.batna, "methods": self.methods}


def assumption_table(assumptions: Assumptions, joint: JointRange) -> pd.DataFrame:
    """Base case, low, high and law of each drawn assumption (plus the fixed ones)."""
    rows = []
    for name, (low, high) in joint.ranges.items():
        rows.append({"assumption": name, "base": float(getattr(assumptions, name)),
                     "low": low, "high": high,
                     "distribution": joint.distributions.get(name, "triangular")})
    rows.append({"assumption": "hazard_months", "base": float(assumptions.hazard_months),
                 "low": float(assumptions.hazard_months),
                 "high": float(assumptions.hazard_months), "distribution": "fixed"})
    return pd.DataFrame(rows).set_index("assumption")


def new_customers_12m(base) -> int:
    """Customers whose first paid order falls in the 12 months to ``as_of``."""
    from valuation.value.equity import net_orders

    orders = net_orders(base.tables_["orders"], base.as_of_, ["customer_token", "order_date"])
    if orders.empty:
        return 0
    first = orders.groupby("customer_token", observed=True)["order_date"].min()
    start = pd.Timestamp(base.as_of_) - pd.DateOffset(months=12)
    return int((first > start).sum())


def other_methods(base, params, assumptions: Assumptions, inputs: BridgeInputs,
                  retention: dict) -> dict:
    """The simple methods a counterparty might quote, for the football field.

    * ``revenue_multiple``: ``deal.revenue_multiple`` x trailing-12-month net revenue of all
      customers (one number);
    * ``per_active_customer``: active transferable customers x their trailing-12-month margin
      per customer x an annuity of the 12-month retention over the horizon at the discount
      rate, less notification and integration costs; low with the retention after the
      change of owner, high with the retention the data show.
    """
    customers = base.customers_
    revenue = float(customers["revenue_12m"].sum())
    active = (customers["transferable"].to_numpy(bool) & customers["active"].to_numpy(bool))
    n_active = int(active.sum())
    margin_each = (assumptions.gross_margin * float(customers.loc[active, "revenue_12m"].sum())
                   / n_active if n_active else 0.0)
    years = int(np.ceil(assumptions.horizon_years))
    costs = inputs.notification_cost_per_customer * int(customers["transferable"].sum()) \
        + inputs.integration_cost

    def annuity(r: float) -> float:
        step = r / (1 + assumptions.annual_discount_rate)
        return float(sum(step ** y for y in range(years)))

    low_r, high_r = retention["after_transfer"], retention["observed"]
    return {
        "revenue_multiple": {"value": params.deal.revenue_multiple * revenue,
                             "multiple": params.deal.revenue_multiple, "revenue_12m": revenue},
        "per_active_customer": {
            "low": n_active * margin_each * annuity(low_r) - costs,
            "high": n_active * margin_each * annuity(high_r) - costs,
            "active_customers": n_active, "margin_per_active_customer": margin_each,
            "retention_low": low_r, "retention_high": high_r, "years": years},
    }


def _batna(params, active_transferable: int) -> dict:
    batna = params.deal.batna
    if batna is None:
        return {"value": None, "source": "standalone_value" if params.deal.side == "seller"
                else "none"}
    if batna.value is not None:
        return {"value": float(batna.value), "source": "given"}
    return {"value": float(batna.build_cost_per_customer) * active_transferable,
            "source": "build_cost", "build_cost_per_customer": batna.build_cost_per_customer,
            "customers": active_transferable}


def negotiation_plan(base, params, assumptions: Assumptions, inputs: BridgeInputs,
                     uncertainty, tornado: pd.DataFrame, *, active_transferable: int,
                     effective_size: float) -> NegotiationPlan:
    """Combined range, positions, implied assumptions, earn-out terms, re-consent.

    Parameters
    ----------
    base : CustomerBase
        Fitted.
    params : DealParams
    assumptions : Assumptions
        The base case.
    inputs : BridgeInputs
        The bridge inputs of existing customers (no acquisitions).
    uncertainty : UncertaintyResult
        The model-only range.
    tornado : DataFrame
        The one-at-a-time sensitivities (they justify the concessions).
    active_transferable : int
        Active transferable customers (the earn-out's roster).
    effective_size : float
        Customers at risk behind the 12-month retention estimate.
    """
    unc_params = params.uncertainty
    revaluer = Revaluer(base, inputs, assumptions, params.deal.acquisitions)
    ranges = draw_ranges(params, assumptions)
    laws = dict(unc_params.assumption_distributions)
    if unc_params.assumption_draws == 0:
        laws = {name: "fixed" for name in ranges}
    joint = joint_range(revaluer, uncertainty.replicates["combined"].to_numpy(float),
                        uncertainty.point, ranges, n_draws=unc_params.assumption_draws,
                        seed=unc_params.seed, distributions=laws)
    here = revaluer.revalue()
    acquisitions = here.acquisitions or 0.0
    to_buyer = joint.draws["total"].to_numpy(float) + joint.draws["acquisitions"].to_numpy(float)
    batna = _batna(params, active_transferable)
    deal = params.deal
    plan = plan_positions(PositionInputs(
        side=deal.side, values=to_buyer, standalone=here.standalone + acquisitions,
        price=deal.price, price_kind=deal.price_kind, batna=batna["value"], levers=tornado,
        discount_rate=assumptions.annual_discount_rate))
    implied = implied_assumptions(revaluer, deal.price,
                                  new_customers_12m=new_customers_12m(base))
    retention = revaluer.retention_12m()
    implied_after = None
    if "retention_12m" in implied.index and implied.loc["retention_12m", "status"] == "solved":
        shock = retention["after_transfer"] / retention["observed"]
        implied_after = float(implied.loc["retention_12m", "implied"]) * shock
    stress = {loss: revaluer.retention_12m(assumptions.replace(one_off_loss=loss))
              ["after_transfer"] for loss in STRESS_LOSSES}
    sheet = earn_out_terms(
        plan, eligible=active_transferable, base_retention=retention["after_transfer"],
        value_per_retained=(here.transferable / (active_transferable
                                                 * retention["after_transfer"])
                            if active_transferable and retention["after_transfer"] > 0
                            else 0.0),
        retention_draws=joint.draws["retention_12m_after"].to_numpy(float),
        effective_size=effective_size, implied_retention=implied_after,
        stress_retention=stress, window_days=assumptions.inactivity_days,
        measurement_months=max(12, int(assumptions.hazard_months)), seed=unc_params.seed)
    for row in sheet.stress:
        row["transferable_value"] = revaluer.value(one_off_loss=row["one_off_loss"])
    values = base.value_arrays(assumptions)
    reconsent = reconsent_scenario(
        values["clv_transferred"], base.customers_["transferable"].to_numpy(bool),
        haircut=inputs.haircut,
        notification_cost_per_customer=inputs.notification_cost_per_customer,
        response_rate=deal.reconsent.response_rate,
        cost_per_contact=deal.reconsent.cost_per_contact)
    return NegotiationPlan(joint=joint, positions=plan, implied=implied, term_sheet=sheet,
                           reconsent=reconsent, assumptions=assumption_table(assumptions, joint),
                           batna=batna, methods=other_methods(base, params, assumptions,
                                                              inputs, retention),
                           revaluer=revaluer)


def with_reconsent(inputs: BridgeInputs, plan: NegotiationPlan) -> BridgeInputs:
    """The bridge inputs with the re-consent line and the excluded-records memo row."""
    return dataclasses.replace(inputs, reconsent_value=plan.reconsent.scenario_value,
                               reconsent_explanation=plan.reconsent.explanation(),
                               show_excluded=True)


def headline_values(plan: NegotiationPlan) -> np.ndarray:
    """The headline distribution of the transferable value (combined draws)."""
    return plan.joint.draws["total"].to_numpy(float)


def legacy_zone(plan: NegotiationPlan) -> dict:
    """The agreement zone in the shape of the first briefs (``side``, ``asking_price``,
    ``exists``, ``low``, ``high``, ``gap``, ``note``, ...) from the positions."""
    pos = plan.positions
    zone = pos.zone
    price = pos.price
    out = {"side": pos.side, "asking_price": price, "counterparty_price": price,
           "counterparty_price_kind": pos.price_kind, "anchor": pos.anchor,
           "walk_away": pos.walk_away, "reservation": pos.reservation,
           "counterparty_reservation": pos.counterparty_reservation,
           "exists": zone["exists"] if price is not None else None,
           "low": zone["low"] if zone["exists"] else min(pos.anchor, pos.walk_away),
           "high": zone["high"] if zone["exists"] else max(pos.anchor, pos.walk_away),
           # the gap between the price on the table and our walk-away (the first briefs'
           # meaning); the gap between the two reservations is ``zone_gap``
           "gap": abs(price - pos.walk_away) if price is not None else None,
           "zone_gap": zone["gap"], "bridging": zone["bridging"],
           "asking_percentile": (plan.joint.share_below(price) if price is not None
                                 else None)}
    if price is None:
        out["note"] = "no counterparty price in params: zone between the two reservations"
    elif zone["exists"]:
        out["note"] = (f"agreement possible between {zone['low']:,.0f} and "
                       f"{zone['high']:,.0f} CNY (the two reservation prices)")
    else:
        out["note"] = (f"no agreement zone: {zone['gap']:,.0f} CNY between our walk-away "
                       "and the other side's estimated reservation; bridge with an earn-out "
                       "or instalments")
    return out


def what_if(result, *, retention_scale: float = 1.0, counterparty_price: float | None = None,
            **changes) -> dict:
    """Value, range and positions of a valuation under changed assumptions, in milliseconds
    (the exploration notebook's sliders).

    The base is revalued without refitting (:class:`~valuation.value.whatif.Revaluer`); the
    combined draws keep their spread and move with the base case (a full redraw is
    :func:`~valuation.value.joint_range.joint_range`); positions are planned again against
    ``counterparty_price`` (default: the params' price).

    Parameters
    ----------
    result : ValuationResult
        With its plan (``result.plan``).
    retention_scale : float
        Churn hazard multiplier over the whole horizon (< 1: better retention).
    counterparty_price : float, optional
    **changes
        Assumptions to change (``gross_margin``, ``horizon_years``, ``one_off_loss``, ...).

    Returns
    -------
    dict with ``value``, ``p10``, ``p50``, ``p90``, ``anchor``, ``target``, ``walk_away``,
    ``zone_exists``, ``acquisitions``.
    """
    plan = result.plan
    revaluer = plan.revaluer
    new = revaluer.revalue(retention_scale=retention_scale, **changes)
    draws = plan.joint.draws["total"].to_numpy(float) + (new.transferable - plan.joint.point)
    acquisitions = new.acquisitions or 0.0
    old = plan.positions
    price = counterparty_price if counterparty_price is not None else old.price
    batna = plan.batna.get("value")
    positions = plan_positions(PositionInputs(
        side=old.side, values=draws + acquisitions, standalone=new.standalone + acquisitions,
        price=price, price_kind=old.price_kind, batna=batna,
        discount_rate=changes.get("annual_discount_rate",
                                  revaluer.assumptions.annual_discount_rate)))
    p10, p50, p90 = np.percentile(draws, [10, 50, 90])
    return {"value": new.transferable, "p10": float(p10), "p50": float(p50), "p90": float(p90),
            "acquisitions": new.acquisitions, "anchor": positions.anchor,
            "target": positions.target, "walk_away": positions.walk_away,
            "zone_exists": positions.zone["exists"], "price": price}
