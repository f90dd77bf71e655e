"""The assumptions one valuation is computed under, separate from the fitted models.

Every number the value depends on but the data do not decide (discount rate, margin, horizon,
change-of-owner attrition, churn threshold) lives in one frozen :class:`Assumptions`, so a
sensitivity or scenario is just a changed copy (:meth:`Assumptions.replace`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from valuation.errors import ParamsError

UNLIMITED_HORIZON_YEARS = 50.0
"""Cap used when params give no horizon (``horizon_years: null``): beyond 50 years the
discounted, survival-weighted value is negligible at any discount rate params allow."""


@dataclass(frozen=True)
class Assumptions:
    """Economic and deal assumptions of one valuation run.

    Attributes
    ----------
    annual_discount_rate : float
        Effective annual rate (0.12 = 12%).
    gross_margin : float
        Share of net revenue kept as margin, in (0, 1].
    horizon_years : float
        Years of future cash flow counted (the deal horizon).
    one_off_loss : float
        Share of transferred customers lost at the moment of transfer.
    hazard_multiplier : float
        Churn hazard multiplier during the first ``hazard_months`` after transfer.
    hazard_months : int
        How long the higher hazard lasts.
    inactivity_days : int
        Days without an order or activity after which a customer counts as churned (defines
        the retention curve the hazard multiplier acts on).
    """

    annual_discount_rate: float
    gross_margin: float
    horizon_years: float
    one_off_loss: float = 0.10
    hazard_multiplier: float = 1.3
    hazard_months: int = 12
    inactivity_days: int = 180

    def __post_init__(self) -> None:
        checks = {
            "annual_discount_rate": 0 < self.annual_discount_rate < 1,
            "gross_margin": 0 < self.gross_margin <= 1,
            "horizon_years": 0 < self.horizon_years <= UNLIMITED_HORIZON_YEARS,
            "one_off_loss": 0 <= self.one_off_loss < 1,
            "hazard_multiplier": self.hazard_multiplier >= 1,
            "hazard_months": self.hazard_months >= 0,
            "inactivity_days": self.inactivity_days >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ParamsError(
                f"impossible valuation assumption(s): {values}; discount rate in (0, 1), "
                f"margin in (0, 1], horizon in (0, {UNLIMITED_HORIZON_YEARS:g}] years, "
                "one-off loss in [0, 1), hazard multiplier >= 1. Fix the params YAML."
            )

    @classmethod
    def from_params(cls, params) -> "Assumptions":
        """Read the assumptions from a :class:`~valuation.params.DealParams`."""
        econ, coo = params.economics, params.deal.change_of_owner
        horizon = econ.horizon_years if econ.horizon_years is not None else UNLIMITED_HORIZON_YEARS
        return cls(
            annual_discount_rate=float(econ.annual_discount_rate),
            gross_margin=float(econ.gross_margin),
            horizon_years=float(min(horizon, UNLIMITED_HORIZON_YEARS)),
            one_off_loss=float(coo.one_off_loss),
            hazard_multiplier=float(coo.hazard_multiplier),
            hazard_months=int(coo.hazard_months),
            inactivity_days=int(params.churn.inactivity_days),
        )

    def replace(self, **changes) -> "Assumptions":
        """A copy with some assumptions changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        """Plain JSON-ready mapping."""
        return dataclasses.asdict(self)
