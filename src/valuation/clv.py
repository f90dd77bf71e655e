"""Customer lifetime value: discounted expected transactions x expected spend x margin.

Per customer (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4)): the expected
discounted margin of the residual lifetime is DERT x E[spend | x, m] x gross margin, with
continuous discounting at ``ln(1 + annual_rate) / periods_per_year`` a period.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.units import WEEKS_PER_YEAR


class PurchaseModel(Protocol):
    """What the CLV needs of a fitted purchase model (BetaGeo, ParetoNBD)."""

    def p_alive(self, frequency: object, recency: object, T: object) -> object: ...

    def conditional_expected_purchases(
        self, t: object, frequency: object, recency: object, T: object
    ) -> object: ...

    def discounted_expected_transactions(
        self,
        frequency: object,
        recency: object,
        T: object,
        annual_discount_rate: float,
        periods_per_year: float = WEEKS_PER_YEAR,
        *,
        horizon_periods: float | None = None,
    ) -> object: ...


class SpendModel(Protocol):
    """What the CLV needs of a fitted spend model (GammaGamma)."""

    def conditional_expected_spend(self, frequency: object, monetary_value: object) -> object: ...


REQUIRED = ("frequency", "recency", "T", "monetary_value")


def customer_clv(
    rfm: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: SpendModel,
    *,
    gross_margin: float,
    annual_discount_rate: float,
    horizon_years: float | None = None,
    periods_per_year: float = WEEKS_PER_YEAR,
) -> pd.DataFrame:
    """Expected discounted margin of each customer's residual lifetime.

    Parameters
    ----------
    rfm : DataFrame
        From :func:`valuation.features.rfm_summary` (frequency, recency, T,
        monetary_value), indexed by customer token, in the purchase model's time unit.
    purchase_model : fitted BetaGeo or ParetoNBD
    spend_model : fitted GammaGamma
    gross_margin : float
        Share of revenue kept as margin, in (0, 1].
    annual_discount_rate : float
        Effective annual rate of the deal (0.15 for 15%).
    horizon_years : float, optional
        Finite horizon in years; ``None`` for unlimited.
    periods_per_year : float
        Periods of the time unit in a year (:data:`valuation.units.PERIODS_PER_YEAR`: 52.18 for weeks, 365.25 for days, 12 for months).

    Returns
    -------
    DataFrame
        Indexed like ``rfm``: p_alive, expected_purchases_1y, dert, expected_spend, clv.
    """
    missing = [c for c in REQUIRED if c not in rfm.columns]
    if missing:
        raise ModelInputError(f"rfm: missing column(s) {missing}; build it with rfm_summary.")
    if not 0 < gross_margin <= 1:
        raise ModelInputError(f"gross_margin must be in (0, 1], got {gross_margin!r}.")
    if horizon_years is not None and not horizon_years > 0:
        raise ModelInputError(f"horizon_years must be > 0 or None, got {horizon_years!r}.")
    x, tx, big_t = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    horizon = None if horizon_years is None else horizon_years * periods_per_year
    out = pd.DataFrame(index=rfm.index)
    out["p_alive"] = np.asarray(purchase_model.p_alive(x, tx, big_t))
    out["expected_purchases_1y"] = np.asarray(
        purchase_model.conditional_expected_purchases(periods_per_year, x, tx, big_t)
    )
    out["dert"] = np.asarray(
        purchase_model.discounted_expected_transactions(
            x, tx, big_t, annual_discount_rate, periods_per_year, horizon_periods=horizon
        )
    )
    out["expected_spend"] = np.asarray(
        spend_model.conditional_expected_spend(x, rfm["monetary_value"].to_numpy(float))
    )
    out["clv"] = out["dert"] * out["expected_spend"] * gross_margin
    return out
