"""The negotiation position: anchor, target, walk-away, agreement zone, price checks, earn-out
and the main risks in money.

Percentiles of the transferable value (the ``combined`` replicate distribution):

========  ======  ======  ==========  ===============================================
side      anchor  target  walk-away   why
========  ======  ======  ==========  ===============================================
buyer     P10     P40     P60         open where the base is worth more 90% of the time;
                                       settle below the median; above P60 the buyer
                                       overpays in most outcomes
seller    P90     P60     P40         the mirror image
========  ======  ======  ==========  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

POSITION_PERCENTILES: dict[str, dict[str, int]] = {
    "buyer": {"anchor": 10, "target": 40, "walk_away": 60},
    "seller": {"anchor": 90, "target": 60, "walk_away": 40},
}

_REASONS: dict[str, dict[str, str]] = {
    "buyer": {
        "anchor": "opening offer at P{p}: the base is worth more than this in {q}% of outcomes, "
                  "so it is low but defensible",
        "target": "aim at P{p}, just under the median: a fair price that keeps the odds with us",
        "walk_away": "stop at P{p}: above it we overpay in {p}% of outcomes",
    },
    "seller": {
        "anchor": "opening ask at P{p}: the base is worth less in {p}% of outcomes, so it is "
                  "high but defensible",
        "target": "aim at P{p}, just above the median",
        "walk_away": "do not sell below P{p}: below it we give value away in {q}% of outcomes",
    },
}


def price_positions(uncertainty, side: str) -> pd.DataFrame:
    """Anchor, target and walk-away prices with the percentile and the reasoning.

    Parameters
    ----------
    uncertainty : UncertaintyResult
    side : {"buyer", "seller"}
    """
    rows = []
    for position, pct in POSITION_PERCENTILES[side].items():
        rows.append({"position": position, "percentile": f"P{pct}",
                     "price": uncertainty.value_at(pct),
                     "reasoning": _REASONS[side][position].format(p=pct, q=100 - pct)})
    return pd.DataFrame(rows).set_index("position")


def agreement_zone(positions: pd.DataFrame, side: str, asking_price: float | None,
                   uncertainty) -> dict:
    """Zone of possible agreement against the price on the table (``deal.asking_price``).

    For a buyer the zone is [anchor, min(asking, walk-away)] and exists when the asking price
    is not above the walk-away; for a seller it is [max(asking, walk-away), anchor] when the
    counterparty's price reaches the walk-away. Without an asking price only our own range
    is given.
    """
    anchor = float(positions.loc["anchor", "price"])
    walk = float(positions.loc["walk_away", "price"])
    out = {"side": side, "asking_price": asking_price, "anchor": anchor, "walk_away": walk}
    if asking_price is None:
        out.update(exists=None, low=min(anchor, walk), high=max(anchor, walk),
                   asking_percentile=None, gap=None,
                   note="no asking price in params: zone is our own anchor-to-walk-away range")
        return out
    share = uncertainty.share_below(asking_price)
    if side == "buyer":
        exists = asking_price <= walk
        low, high = anchor, min(asking_price, walk)
        gap = max(asking_price - walk, 0.0)
        note = ("asking price within our walk-away: agreement possible up to it" if exists else
                f"asking price exceeds our walk-away by {gap:,.0f} CNY: the seller must come down")
    else:
        exists = asking_price >= walk
        low, high = max(asking_price, walk), anchor
        gap = max(walk - asking_price, 0.0)
        note = ("price on the table reaches our walk-away: agreement possible" if exists else
                f"price on the table is {gap:,.0f} CNY below our walk-away")
    out.update(exists=bool(exists), low=float(min(low, high)), high=float(max(low, high)),
               asking_percentile=share, gap=float(gap), note=note)
    return out


def price_checks(target_price: float, active_transferable: int, revenue_12m: float,
                 revenue_multiple: float) -> pd.DataFrame:
    """Our target against the simple revenue multiple a counterparty might quote.

    Returns
    -------
    DataFrame indexed by ``model_target`` and ``revenue_multiple`` with ``price``,
    ``price_per_active_customer``.
    """
    multiple_price = revenue_multiple * revenue_12m
    per = (lambda price: price / active_transferable if active_transferable else np.nan)
    return pd.DataFrame([
        {"basis": "model_target", "price": target_price,
         "price_per_active_customer": per(target_price),
         "explanation": "our target price over the active transferable customers"},
        {"basis": "revenue_multiple", "price": multiple_price,
         "price_per_active_customer": per(multiple_price),
         "explanation": f"{revenue_multiple:g} x trailing-12-month net revenue "
                        f"({revenue_12m:,.0f} CNY)"},
    ]).set_index("basis")


@dataclass(frozen=True)
class EarnOut:
    """An earn-out on customers retained 12 months after transfer."""

    share: float
    amount: float
    eligible_customers: int
    retention_probability: float
    table: pd.DataFrame

    def to_dict(self) -> dict:
        return {"share": self.share, "amount": self.amount,
                "eligible_customers": self.eligible_customers,
                "retention_probability": self.retention_probability,
                "scenarios": self.table.reset_index().to_dict(orient="records")}


def earn_out(price: float, share: float, eligible: int, retention_probability: float,
             effective_size: float, *, seed: int, draws: int = 20000) -> EarnOut:
    """The part of the price paid only for customers retained 12 months after transfer.

    The retained count of ``eligible`` active transferable customers is Beta-binomial: the
    12-month retention ``p`` (one-off loss and raised hazard included) is uncertain with the
    precision of the Kaplan-Meier curve it comes from (``effective_size`` customers at risk),
    ``p ~ Beta(p n, (1 - p) n)``, then each customer stays with probability ``p``. The payout
    is ``amount * min(1, retained / expected)``: the full earn-out when the expected count is
    reached, pro rata below.

    Returns
    -------
    EarnOut with a table indexed by ``P10``, ``expected``, ``P90`` (retained count, payout).
    """
    amount = share * max(float(price), 0.0)  # no earn-out on a price that is not positive
    rng = np.random.default_rng(seed)
    n_eff = max(float(effective_size), 2.0)
    p = float(np.clip(retention_probability, 1e-6, 1 - 1e-6))
    ps = rng.beta(p * n_eff, (1 - p) * n_eff, size=draws)
    counts = rng.binomial(eligible, ps)
    expected = eligible * p
    rows = []
    for label, count in (("P10", np.percentile(counts, 10)), ("expected", expected),
                         ("P90", np.percentile(counts, 90))):
        payout = amount * min(1.0, count / expected) if expected > 0 else 0.0
        rows.append({"scenario": label, "retained_customers": float(count), "payout": payout})
    return EarnOut(share=share, amount=amount, eligible_customers=int(eligible),
                   retention_probability=p, table=pd.DataFrame(rows).set_index("scenario"))


RISK_LABELS: dict[str, dict[str, str]] = {
    "consent_gap": {"en": "Consent gap (customers that cannot be transferred or notified)",
                    "zh": "授权缺口（无法转让或无法通知的客户）"},
    "data_quality": {"en": "Data quality (records kept with a flag)",
                     "zh": "数据质量（带标记保留的记录）"},
    "churn_after_transfer": {"en": "Churn after the change of owner",
                             "zh": "控制权变更后的客户流失"},
    "concentration": {"en": "Concentration (top 1% of customers)",
                      "zh": "客户集中度（前 1% 客户）"},
    "assumption:one_off_loss": {"en": "Assumption: one-off loss at transfer",
                                "zh": "假设：转让时一次性流失率"},
    "assumption:inactivity_days": {"en": "Assumption: churn threshold (days inactive)",
                                   "zh": "假设：流失判定阈值（不活跃天数）"},
    "assumption:annual_discount_rate": {"en": "Assumption: discount rate",
                                        "zh": "假设：折现率"},
}
"""Readable names of the risks (English and Chinese) for the brief."""


def main_risks(bridge: pd.DataFrame, *, not_contactable_value: float, top1_value: float,
               top1_share: float, tornado: pd.DataFrame) -> pd.DataFrame:
    """The risks that move the value, each with its effect in CNY (positive = value at stake).

    Returns
    -------
    DataFrame indexed by risk (a code) with ``effect``, ``explanation``, ``label_en`` and
    ``label_zh`` (readable names, :data:`RISK_LABELS`), largest effect first.
    """
    amount = bridge.set_index("step")["amount"]
    rows = [
        {"risk": "consent_gap",
         "effect": float(-amount.get("not_transferable", 0.0) + not_contactable_value),
         "explanation": "value of customers that cannot be transferred, plus transferable "
                        "customers that cannot be reached to be notified"},
        {"risk": "data_quality", "effect": float(-amount.get("quality_haircut", 0.0)),
         "explanation": "haircut for records kept with a quality flag"},
        {"risk": "churn_after_transfer",
         "effect": float(-amount.get("change_of_owner_attrition", 0.0)),
         "explanation": "one-off loss and raised hazard after the change of owner"},
        {"risk": "concentration", "effect": float(top1_value),
         "explanation": f"value held by the top 1% of customers ({top1_share:.1%} of the "
                        "transferable value), lost if they leave"},
    ]
    for name in ("one_off_loss", "inactivity_days", "annual_discount_rate"):
        if name in tornado.index:
            row = tornado.loc[name]
            rows.append({"risk": f"assumption:{name}", "effect": float(row["swing"]),
                         "explanation": f"swing of the value between {row['low']:g} and "
                                        f"{row['high']:g} ({row['label']})"})
    frame = pd.DataFrame(rows)
    frame["label_en"] = [RISK_LABELS.get(r, {}).get("en", r) for r in frame["risk"]]
    frame["label_zh"] = [RISK_LABELS.get(r, {}).get("zh", r) for r in frame["risk"]]
    return frame.set_index("risk").sort_values("effect", ascending=False)
