"""Negotiation positions from a negotiation analysis, per side (issue 16).

Inputs: our side, the distribution of what the base is worth to a buyer (the combined
draws of :mod:`valuation.value.joint_range`, plus future acquisitions when they are on), the
seller's standalone value (what keeping the business is worth), the counterparty's price and
whether it is an ``ask`` or a standing ``offer``, and optionally our best alternative
(BATNA).

=====================  ======================================  ======================================
                       buyer                                   seller
=====================  ======================================  ======================================
our reservation R      P50 of the value to us, or the BATNA    the BATNA: the standalone value
                       (building the base) if lower            of keeping the business, or given
their reservation C    seller's standalone value, never above  P50 of the value to a buyer, never
                       their ask (an ask is >= their own R)    below their offer (an offer <= their R)
walk-away W            min(R, price)                           max(R, price)
anchor (first offer)   min(P10, W - (P50 - P10))               max(P90, W + (P90 - P50))
target                 C clipped into [a + 30%, a + 70%] of    mirror image
                       the room between anchor and W
zone (ZOPA)            [C, R] when C <= R, else a gap          [R, C] when R <= C, else a gap
=====================  ======================================  ======================================

Prices are never negative (a base worth less than nothing is a zero price). Hence the
invariants (property-tested): a buyer never offers or aims above the ask
(anchor <= target <= walk-away <= price); a seller never asks below an offer on the table
(anchor >= target >= walk-away >= price).

The concession plan moves from the anchor to the walk-away in four shrinking steps (40%,
30%, 20%, 10% of the room); each step is justified by an assumption we can concede (the
one-at-a-time tornado, widest swing first: its value effect towards the counterparty's view),
and where the step lands in our combined draws. Reasons are codes and numbers; the brief
renders them in words (:mod:`valuation.report.negotiation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CONCESSION_SHARES: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
"""Shares of the room (anchor to walk-away) conceded per step: shrinking steps signal that
the end is near (the classic concession pattern)."""

TARGET_BAND: tuple[float, float] = (0.3, 0.7)
"""The target lies within this band of the room from the anchor: at the counterparty's
estimated reservation when it falls inside, else at the nearer edge."""

INSTALMENT_YEARS = 3
"""Instalments as a bridging structure: the price paid in this many equal yearly parts."""


@dataclass(frozen=True)
class PositionInputs:
    """What the positions are computed from.

    Attributes
    ----------
    side : {"buyer", "seller"}
    values : ndarray
        Draws of the value of the base to a buyer (CNY).
    standalone : float
        The seller's value of keeping the business.
    price : float or None
        The counterparty's price.
    price_kind : {"ask", "offer"}
    batna : float or None
        Our best alternative, if known (buyer: cost to build the base; seller: given value).
    levers : DataFrame, optional
        Tornado rows (index assumption; ``low``, ``high``, ``base_input``, ``value_low``,
        ``value_high``, ``base_value``) that justify the concessions.
    discount_rate : float
        For the instalment structure.
    """

    side: str
    values: np.ndarray
    standalone: float
    price: float | None = None
    price_kind: str = "ask"
    batna: float | None = None
    levers: pd.DataFrame | None = None
    discount_rate: float = 0.12


@dataclass
class PositionPlan:
    """Reservation prices, zone, anchor / target / walk-away, concessions, with reasons.

    ``reasons`` maps each position to ``{"code": ..., **numbers}``; ``concessions`` is one
    row a step (``step, from_price, to_price, size, beyond_target, code, assumption,
    concede_to, value_effect, percentile``).
    """

    side: str
    price: float | None
    price_kind: str
    reservation: float
    counterparty_reservation: float
    anchor: float
    target: float
    walk_away: float
    zone: dict
    concessions: pd.DataFrame
    reasons: dict = field(default_factory=dict)
    percentiles: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """``anchor``, ``target``, ``walk_away`` rows: ``price``, ``percentile`` (where the price
        sits in our draws, e.g. ``P23``), ``code`` and a plain-English ``reasoning``."""
        rows = []
        for name in ("anchor", "target", "walk_away"):
            reason = self.reasons[name]
            rows.append({"position": name, "price": getattr(self, name),
                         "percentile": f"P{self.percentiles[name]:.0f}",
                         "code": reason["code"], "reasoning": explain(reason)})
        return pd.DataFrame(rows).set_index("position")

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"side": self.side, "price": self.price, "price_kind": self.price_kind,
                "reservation": self.reservation,
                "counterparty_reservation": self.counterparty_reservation,
                "anchor": self.anchor, "target": self.target, "walk_away": self.walk_away,
                "percentiles": self.percentiles, "reasons": self.reasons, "zone": self.zone,
                "concessions": self.concessions.to_dict(orient="records")}


def explain(reason: dict) -> str:
    """A plain-English sentence for a reason code (the brief has its own wording)."""
    code = reason.get("code", "")
    numbers = {k: (f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 100 else v)
               for k, v in reason.items() if k != "code"}
    return f"{code}: " + ", ".join(f"{k} {v}" for k, v in numbers.items())


def _pct(values: np.ndarray, price: float) -> float:
    return float((values < price).mean() * 100) if len(values) else float("nan")


def _concessions(inputs: PositionInputs, anchor: float, walk: float, target: float,
                 values: np.ndarray) -> pd.DataFrame:
    """Four shrinking steps from the anchor to the walk-away, each with its justification."""
    columns = ["step", "from_price", "to_price", "size", "beyond_target", "code",
               "assumption", "concede_to", "value_effect", "percentile"]
    room = walk - anchor
    if abs(room) < 1e-6:
        return pd.DataFrame(columns=columns)
    buyer = inputs.side == "buyer"
    levers = []
    if inputs.levers is not None and len(inputs.levers):
        frame = inputs.levers
        for name, row in frame.iterrows():
            # conceding = accepting the end of the range that favours the counterparty
            favour_high = row["value_high"] >= row["value_low"]
            if buyer:
                end, value = (row["high"], row["value_high"]) if favour_high else \
                    (row["low"], row["value_low"])
            else:
                end, value = (row["low"], row["value_low"]) if favour_high else \
                    (row["high"], row["value_high"])
            levers.append((str(name), float(end), float(value - row["base_value"])))
        levers.sort(key=lambda lever: -abs(lever[2]))
    rows, price, done = [], anchor, 0.0
    for i, share in enumerate(CONCESSION_SHARES):
        done += share
        to = anchor + done * room
        lever = levers[i] if i < len(levers) else None
        beyond = (to > target + 1e-6) if buyer else (to < target - 1e-6)
        rows.append({"step": i + 1, "from_price": price, "to_price": to,
                     "size": abs(to - price), "beyond_target": bool(beyond),
                     "code": "concede_assumption" if lever else "range_percentile",
                     "assumption": lever[0] if lever else None,
                     "concede_to": lever[1] if lever else None,
                     "value_effect": lever[2] if lever else None,
                     "percentile": _pct(values, to)})
        price = to
    return pd.DataFrame(rows, columns=columns)


def _bridges(inputs: PositionInputs, walk: float, counter: float) -> list[dict]:
    """Structures that could bridge a gap between our walk-away and their reservation."""
    gap = abs(counter - walk)
    r = inputs.discount_rate
    factor = float(np.mean([(1 + r) ** -y for y in range(INSTALMENT_YEARS)]))
    out = [{"structure": "earn_out", "amount": gap,
            "note": "the gap paid only if retention after the transfer reaches a measured "
                    "threshold (see the earn-out term sheet)"}]
    if inputs.side == "buyer":
        nominal = walk / factor if factor > 0 else walk
        out.append({"structure": "instalments", "years": INSTALMENT_YEARS,
                    "nominal_price": nominal, "present_value": walk,
                    "bridges": bool(nominal >= counter),
                    "note": f"our walk-away paid in {INSTALMENT_YEARS} yearly instalments "
                            "is a higher nominal price at the same present value"})
    else:
        upfront = walk * factor
        out.append({"structure": "instalments", "years": INSTALMENT_YEARS,
                    "nominal_price": walk, "present_value": upfront,
                    "bridges": bool(upfront <= counter),
                    "note": f"our walk-away accepted in {INSTALMENT_YEARS} yearly instalments "
                            "costs the buyer less in present value"})
    return out


def plan_positions(inputs: PositionInputs) -> PositionPlan:
    """Reservation prices, zone, anchor / target / walk-away and the concession plan.

    See the module doc for the rules. Raises ``ValueError`` for an unknown side or kind.
    """
    if inputs.side not in ("buyer", "seller"):
        raise ValueError(f"side must be buyer or seller, not {inputs.side!r}")
    if inputs.price_kind not in ("ask", "offer"):
        raise ValueError(f"price kind must be ask or offer, not {inputs.price_kind!r}")
    values = np.asarray(inputs.values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        values = np.array([0.0])
    p10, p50, p90 = (float(v) for v in np.percentile(values, [10, 50, 90]))
    scale = max(abs(p50), abs(inputs.standalone), inputs.price or 0.0, 1.0)
    price = inputs.price
    reasons: dict = {}
    if inputs.side == "buyer":
        spread = max(p50 - p10, 0.05 * scale)
        reservation = max(p50, 0.0)
        reasons["reservation"] = {"code": "median_value", "p50": p50}
        if inputs.batna is not None and inputs.batna < reservation:
            reservation = max(float(inputs.batna), 0.0)
            reasons["reservation"] = {"code": "batna_build", "batna": float(inputs.batna),
                                      "p50": p50}
        counter = max(float(inputs.standalone), 0.0)
        counter_code = "seller_standalone"
        if price is not None and price < counter:
            counter, counter_code = float(price), "capped_at_ask"
        walk = reservation if price is None else min(reservation, float(price))
        reasons["walk_away"] = ({"code": "capped_at_counterparty_price", "price": price,
                                 "reservation": reservation}
                                if price is not None and price < reservation
                                else {**reasons["reservation"], "code": "reservation_"
                                      + reasons["reservation"]["code"]})
        anchor = max(min(p10, walk - spread), 0.0)
        reasons["anchor"] = {"code": "downside_percentile" if p10 <= walk - spread
                             else "walk_away_less_downside_spread", "p10": p10,
                             "spread": spread}
        room = walk - anchor
        lo, hi = anchor + TARGET_BAND[0] * room, anchor + TARGET_BAND[1] * room
        target = float(np.clip(counter, lo, hi))
        exists = counter <= reservation
        zone = {"exists": bool(exists), "low": counter if exists else None,
                "high": reservation if exists else None,
                "gap": 0.0 if exists else counter - walk}
    else:
        spread = max(p90 - p50, 0.05 * scale)
        standalone = max(float(inputs.standalone), 0.0)
        reservation = standalone
        reasons["reservation"] = {"code": "standalone_value", "standalone": standalone}
        if inputs.batna is not None:
            reservation = max(float(inputs.batna), 0.0)
            reasons["reservation"] = {"code": "batna_given", "batna": reservation,
                                      "standalone": standalone}
        counter, counter_code = max(p50, 0.0), "buyer_median_value"
        if price is not None and price > counter:
            counter, counter_code = float(price), "at_least_their_offer"
        walk = reservation if price is None else max(reservation, float(price))
        reasons["walk_away"] = ({"code": "floored_at_counterparty_price", "price": price,
                                 "reservation": reservation}
                                if price is not None and price > reservation
                                else {**reasons["reservation"], "code": "reservation_"
                                      + reasons["reservation"]["code"]})
        anchor = max(p90, walk + spread)
        reasons["anchor"] = {"code": "upside_percentile" if p90 >= walk + spread
                             else "walk_away_plus_upside_spread", "p90": p90,
                             "spread": spread}
        room = anchor - walk
        lo, hi = anchor - TARGET_BAND[1] * room, anchor - TARGET_BAND[0] * room
        target = float(np.clip(counter, lo, hi))
        exists = reservation <= counter
        zone = {"exists": bool(exists), "low": reservation if exists else None,
                "high": counter if exists else None,
                "gap": 0.0 if exists else walk - counter}
    reasons["counterparty_reservation"] = {"code": counter_code, "value": counter}
    reasons["target"] = {"code": ("counterparty_reservation" if abs(target - counter) < 1e-6
                                  else "band_edge"), "counterparty_reservation": counter,
                         "value": counter,
                         "band": list(TARGET_BAND)}
    zone["bridging"] = [] if zone["exists"] else _bridges(inputs, walk, counter)
    zone["price_percentile"] = _pct(values, price) if price is not None else None
    plan = PositionPlan(
        side=inputs.side, price=price, price_kind=inputs.price_kind,
        reservation=float(reservation), counterparty_reservation=float(counter),
        anchor=float(anchor), target=float(target), walk_away=float(walk), zone=zone,
        concessions=_concessions(inputs, float(anchor), float(walk), float(target), values),
        reasons=reasons,
        percentiles={name: _pct(values, v) for name, v in
                     (("anchor", anchor), ("target", target), ("walk_away", walk))})
    return plan
