"""Re-consent campaign: how much of the consent gap can be won back, net of its cost.

Customers without transfer consent (or minors under 14 without a guardian's) cannot be
transferred (PIPL Art. 13, 31). Before closing, the seller can ask them again. With a
response rate ``r`` (``deal.reconsent.response_rate``: a [low, high] range; the middle is
the scenario of the bridge) and a cost ``c`` per customer contacted
(``deal.reconsent.cost_per_contact``):

    recoverable(r) = r * sum_i [ (1 - haircut) * clv_transferred_i - notification cost ]
    net(r)         = recoverable(r) - c * contacted

over the non-transferable customers ``i`` (each valued as if transferred: change-of-owner
attrition applied; notification cost because a re-consented customer is then notified).
Everyone not transferable is contacted (the analysis dataset does not say which of them are
reachable; a conservative count for the cost). The bridge shows ``net`` at the middle rate
as its own line after the value of the transferable base (:mod:`valuation.value.bridge`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReconsentScenario:
    """The re-consent campaign under its response-rate range.

    Attributes
    ----------
    contacted : int
        Customers asked again (all that cannot be transferred now).
    value_at_stake : float
        Their value if all consented (after haircut, attrition and notification cost).
    cost : float
        Cost of contacting all of them.
    rates : tuple of float
        Low, middle, high response rate.
    net : tuple of float
        Net value at each rate.
    """

    contacted: int
    value_at_stake: float
    cost: float
    cost_per_contact: float
    rates: tuple[float, float, float]
    net: tuple[float, float, float]

    @property
    def scenario_value(self) -> float:
        """Net value at the middle rate (the bridge line)."""
        return self.net[1]

    @property
    def break_even_rate(self) -> float | None:
        """Response rate at which the campaign pays for itself (None if it never does)."""
        return self.cost / self.value_at_stake if self.value_at_stake > 0 else None

    def explanation(self) -> str:
        """The bridge line's explanation."""
        low, mid, high = self.rates
        return (f"{self.contacted} customer(s) without transfer consent asked again; at a "
                f"{mid:.0%} response rate (range {low:.0%}-{high:.0%}) "
                f"{mid * self.value_at_stake:,.0f} CNY recovered less "
                f"{self.cost:,.0f} CNY contact cost ({self.cost_per_contact:,.2f} CNY each); "
                f"net {self.net[0]:,.0f} to {self.net[2]:,.0f} CNY over the range.")

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"contacted": self.contacted, "value_at_stake": self.value_at_stake,
                "cost": self.cost, "cost_per_contact": self.cost_per_contact,
                "response_rate": {"low": self.rates[0], "mid": self.rates[1],
                                  "high": self.rates[2]},
                "net": {"low": self.net[0], "mid": self.net[1], "high": self.net[2]},
                "break_even_rate": self.break_even_rate,
                "worth_running": bool(self.net[1] > 0)}


def reconsent_scenario(clv_transferred: np.ndarray, transferable: np.ndarray, *,
                       haircut: float, notification_cost_per_customer: float,
                       response_rate: tuple[float, float], cost_per_contact: float
                       ) -> ReconsentScenario:
    """The campaign's value (see the module doc).

    Parameters
    ----------
    clv_transferred : ndarray
        Per-customer value after the change-of-owner shock.
    transferable : ndarray of bool
        Customers that can be transferred now.
    haircut, notification_cost_per_customer : float
        As in the bridge.
    response_rate : (low, high)
    cost_per_contact : float
    """
    gap = ~np.asarray(transferable, bool)
    contacted = int(gap.sum())
    keep = 1.0 - float(haircut)
    per = keep * np.asarray(clv_transferred, float)[gap] - float(notification_cost_per_customer)
    at_stake = float(per.sum())
    cost = float(cost_per_contact) * contacted
    low, high = (float(r) for r in response_rate)
    rates = (low, (low + high) / 2, high)
    net = tuple(r * at_stake - cost for r in rates)
    return ReconsentScenario(contacted=contacted, value_at_stake=at_stake, cost=cost,
                             cost_per_contact=float(cost_per_contact), rates=rates, net=net)
