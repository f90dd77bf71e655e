"""The value bridge (waterfall) from gross customer equity to the transferable base.

Steps, each with an amount (CNY, signed) and an explanation:

1. gross equity of all customers (current owner, cleaned data: records the review excludes,
   such as fakes and duplicates, are already out);
2. data-quality haircut ``h`` (the review's price for records kept with a flag);
3. customers that cannot be transferred (no transfer consent; pupils under 14 without
   guardian consent), after the haircut;
4. change-of-owner attrition of the transferable customers (one-off loss plus the higher
   hazard, :mod:`valuation.value.retention`), after the haircut;
5. notification cost (PIPL Art. 22: every transferred customer is told the new owner's name
   and contact) times the transferable customers;
6. integration cost;
7. the value of the transferable base (existing customers) = the sum of the steps above;
8. optional, AFTER that total and never mixed into it: a re-consent campaign for the
   customers who cannot be transferred yet (kind ``scenario``, net of its cost,
   :mod:`valuation.value.reconsent`) and the value including it;
9. optional, likewise: future acquisitions (off by default; labelled as an assumption when
   on) and the transferable value plus them.

With ``show_excluded`` a memo row ``excluded_records`` (kind ``memo``, amount 0) follows the
gross equity: the records the review excluded (fakes, duplicates merged) are not valued, and
the row says how many there were.

Amounts are rounded to the cent once, step by step, and each total is the exact sum of the
rounded steps before it (integer cents), so the bridge adds up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BRIDGE_COLUMNS: tuple[str, ...] = ("step", "label", "amount", "amount_cents", "kind",
                                   "explanation")


@dataclass(frozen=True)
class BridgeInputs:
    """Everything the bridge needs besides the per-customer values.

    Attributes
    ----------
    haircut : float
        Data-quality haircut, a share in [0, 1).
    notification_cost_per_customer : float
    integration_cost : float
    excluded_customers : int
        Records the review removed (for the explanation only).
    acquisitions_value : float or None
        Value of future acquisitions; ``None`` = off.
    acquisitions_label : str
        Label shown when on.
    reconsent_value : float or None
        Net value recovered by a re-consent campaign (a scenario line after the total);
        ``None`` = no line.
    reconsent_explanation : str
        How the re-consent value was computed.
    show_excluded : bool
        Add the memo row of the excluded records.
    """

    haircut: float = 0.0
    notification_cost_per_customer: float = 0.0
    integration_cost: float = 0.0
    excluded_customers: int = 0
    acquisitions_value: float | None = None
    acquisitions_label: str = "future acquisitions (assumption, not existing customers)"
    reconsent_value: float | None = None
    reconsent_explanation: str = ""
    show_excluded: bool = False


def bridge_amounts(clv: np.ndarray, clv_transferred: np.ndarray, transferable: np.ndarray,
                   inputs: BridgeInputs, weights: np.ndarray | None = None) -> dict[str, float]:
    """Unrounded step amounts; with ``weights`` (bootstrap counts) for a resampled base.

    Returns
    -------
    dict step name -> amount, including ``final`` (existing customers; acquisitions never
    in it) and, when acquisitions are on, ``future_acquisitions`` and ``with_acquisitions``.
    """
    w = np.ones(len(clv)) if weights is None else np.asarray(weights, float)
    wt = w * np.asarray(transferable, bool)
    keep = 1.0 - inputs.haircut
    clv = np.asarray(clv, float)
    # einsum, not BLAS dot: see valuation.models._mle.wdot
    gross = float(np.einsum("i,i->", w, clv))
    trans = float(np.einsum("i,i->", wt, clv))
    trans_after = float(np.einsum("i,i->", wt, np.asarray(clv_transferred, float)))
    n_trans = float(wt.sum())
    steps = {
        "gross_equity": gross,
        "quality_haircut": -inputs.haircut * gross,
        "not_transferable": -keep * (gross - trans),
        "change_of_owner_attrition": -keep * (trans - trans_after),
        "notification_cost": -inputs.notification_cost_per_customer * n_trans,
        "integration_cost": -inputs.integration_cost,
    }
    steps["final"] = sum(steps.values())
    if inputs.reconsent_value is not None:
        steps["reconsent_recovery"] = float(inputs.reconsent_value)
        steps["with_reconsent"] = steps["final"] + steps["reconsent_recovery"]
    if inputs.acquisitions_value is not None:
        steps["future_acquisitions"] = float(inputs.acquisitions_value)
        steps["with_acquisitions"] = steps["final"] + steps["future_acquisitions"]
    return steps


def value_bridge(values: pd.DataFrame, customers: pd.DataFrame, inputs: BridgeInputs,
                 *, quality_score: float | None = None) -> pd.DataFrame:
    """The bridge as a DataFrame that adds up exactly.

    Parameters
    ----------
    values : DataFrame
        Per-customer ``clv`` and ``clv_transferred``
        (:meth:`valuation.value.equity.CustomerBase.customer_values`).
    customers : DataFrame
        Per-customer ``transferable`` flag (same index).
    inputs : BridgeInputs
    quality_score : float, optional
        For the explanation of the haircut.

    Returns
    -------
    DataFrame with columns ``step, label, amount, amount_cents, kind, explanation``; the row
    ``transferable_value`` (kind ``total``) is the value of the transferable base and equals
    the sum of the rows above it exactly (in cents); with acquisitions on, two rows follow it:
    ``future_acquisitions`` (kind ``assumption``) and ``value_with_acquisitions`` (kind
    ``total_with_assumption``, the exact sum of the two).
    """
    transferable = customers["transferable"].reindex(values.index).fillna(False).to_numpy(bool)
    raw = bridge_amounts(values["clv"].to_numpy(float), values["clv_transferred"].to_numpy(float),
                         transferable, inputs)
    n_all, n_trans = len(values), int(transferable.sum())
    score = f" (quality score {quality_score:.1f}/100)" if quality_score is not None else ""
    text = {
        "gross_equity": ("Gross customer equity (all customers)",
                         f"Sum of the CLV of all {n_all} customers over the horizon under the "
                         f"current owner; {inputs.excluded_customers} record(s) the review "
                         "excluded (fakes, duplicates merged) are not in it."),
        "quality_haircut": ("Data-quality haircut",
                            f"{inputs.haircut:.1%} of gross equity for records kept with a "
                            f"flag{score}."),
        "not_transferable": ("Customers that cannot be transferred",
                             f"{n_all - n_trans} customer(s) without transfer consent or under "
                             "14 without guardian consent (PIPL Art. 13, 31), after the haircut."),
        "change_of_owner_attrition": ("Change-of-owner attrition",
                                      "One-off loss at transfer plus the higher churn hazard "
                                      "after it, applied to the transferable customers' "
                                      "expected purchases through the retention curve."),
        "notification_cost": ("Notification cost (PIPL Art. 22)",
                              f"{inputs.notification_cost_per_customer:,.2f} CNY x {n_trans} "
                              "transferred customer(s) told the new owner's name and contact."),
        "integration_cost": ("Integration cost", "One-off integration cost from the params."),
        "future_acquisitions": (f"Future acquisitions [{inputs.acquisitions_label}]",
                                "Value of customers not yet acquired; OFF by default, shown "
                                "only because it was switched on."),
    }
    rows = []
    cents_total = 0
    after = ("final", "future_acquisitions", "with_acquisitions", "reconsent_recovery",
             "with_reconsent")
    for step, amount in raw.items():
        if step in after:
            continue
        cents = int(np.round(amount * 100))
        cents_total += cents
        label, explanation = text[step]
        kind = "start" if step == "gross_equity" else "adjustment"
        rows.append((step, label, cents / 100, cents, kind, explanation))
        if step == "gross_equity" and inputs.show_excluded:
            rows.append(("excluded_records", "Excluded records (not valued)", 0.0, 0, "memo",
                         f"{inputs.excluded_customers} record(s) the review excluded (fakes, "
                         "duplicates merged into their original) carry no value: they are "
                         "not in the gross equity."))
    rows.append(("transferable_value", "Value of the transferable base (existing customers)",
                 cents_total / 100, cents_total, "total", "Sum of all steps above."))
    if "reconsent_recovery" in raw:
        cents = int(np.round(raw["reconsent_recovery"] * 100))
        rows.append(("reconsent_recovery", "Re-consent campaign (scenario, net of its cost)",
                     cents / 100, cents, "scenario", inputs.reconsent_explanation or
                     "Customers without transfer consent asked again; value of those who "
                     "consent less the cost of contacting all of them."))
        rows.append(("value_with_reconsent", "Value including the re-consent campaign "
                     "[scenario]", (cents_total + cents) / 100, cents_total + cents,
                     "total_with_scenario", "Value of the transferable base plus the net "
                     "value of the re-consent campaign."))
    if "future_acquisitions" in raw:
        cents = int(np.round(raw["future_acquisitions"] * 100))
        label, explanation = text["future_acquisitions"]
        rows.append(("future_acquisitions", label, cents / 100, cents, "assumption", explanation))
        rows.append(("value_with_acquisitions",
                     "Value including future acquisitions [assumption]",
                     (cents_total + cents) / 100, cents_total + cents, "total_with_assumption",
                     "Value of the transferable base plus the assumed future acquisitions; "
                     "not a value of existing customers."))
    return pd.DataFrame(rows, columns=list(BRIDGE_COLUMNS))
