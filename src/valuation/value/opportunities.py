"""The purchase stream of discrete opportunities: BG/BB transactions times Gamma-Gamma spend.

For purchases that can only happen at fixed occasions (a yearly exam sitting, an annual
renewal window, a course that starts once a term). The customers' histories are
:func:`valuation.features.opportunity_summary` tables (periods anchored at each customer's
first purchase); :class:`OpportunityStream` is a
:class:`~valuation.value.streams.PurchaseStream` whose model is a
:class:`~valuation.models.BetaGeoBetaBinom`, with time in opportunities
(``periods_per_year`` opportunities a year) and each customer's position inside the
running period (``offset``) taken into account: the expected transaction of an opportunity
is spread evenly over its period, so a customer halfway through period ``n + 1`` at the
valuation date has half of that opportunity still ahead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.errors import ModelError, ModelInputError
from valuation.value.streams import PurchaseStream

#: offsets are rounded to this share of a period to group customers (a week of a year)
OFFSET_STEP = 1.0 / 52


UNIFORM_TIMING = np.linspace(0.0, 1.0, 21)
"""The default timing of a period's transaction: spread evenly over the period."""


def opportunity_expectation(model, horizon: np.ndarray, x: np.ndarray, n: np.ndarray,
                            offset: np.ndarray, timing: np.ndarray | None = None, *,
                            per_customer: bool = False) -> np.ndarray:
    """Expected transactions in ``(0, horizon]`` periods after the reference date for a
    customer certainly alive, ``offset`` periods into period ``n + 1`` (negative: before
    it starts); ``x, n, offset`` are per row (1-D); ``horizon`` one value per row
    (``per_customer=True``: returns one value a row) or a grid of horizons (returns rows x
    horizons).

    The transaction of opportunity ``n + k`` (expected ``e_k``,
    :meth:`~valuation.models.BetaGeoBetaBinom.expected_by_opportunity`) falls within its
    period with the distribution ``timing`` (the CDF at 0, 0.05, .., 1 of the position of
    purchases in their period, :func:`valuation.features.opportunity_summary`; default
    even): by ``t`` periods ahead a share ``F(t + offset - (k - 1)) - F(offset - (k - 1))``
    (``F`` clipped to [0, 1]) of it has come.
    """
    cdf = UNIFORM_TIMING if timing is None else np.asarray(timing, float)
    grid = np.linspace(0.0, 1.0, len(cdf))
    x, n, offset = (np.asarray(a, float).ravel() for a in (x, n, offset))
    horizon = np.asarray(horizon, float)
    per_row = per_customer
    times = horizon[:, None] if per_row else np.atleast_2d(horizon).reshape(1, -1)
    k_max = int(np.ceil(np.max(times) + np.max(offset, initial=0.0))) + 2
    e = model.expected_by_opportunity(x, n, k_max)  # (rows, K)
    start = offset[:, None] - np.arange(k_max)[None, :]  # position in period n + k at t = 0
    done = np.interp(start, grid, cdf, left=0.0, right=1.0)
    out = np.empty((len(x), times.shape[1]))
    for j in range(times.shape[1]):
        t = times[:, j:j + 1] if per_row else times[0, j]
        later = np.interp(start + t, grid, cdf, left=0.0, right=1.0)
        out[:, j] = np.sum(e * (later - done), axis=1)
    return out[:, 0] if per_row else out


class OpportunityStream(PurchaseStream):
    """BG/BB repeat transactions (discrete opportunities) times Gamma-Gamma spend.

    Parameters
    ----------
    purchase_model : BetaGeoBetaBinom
        Unfitted.
    spend_model : GammaGamma
        Unfitted.
    periods_per_year : float
        Opportunities a year (1 for yearly occasions).
    """

    method = "purchase_model_discrete"

    @property
    def label(self) -> str:
        names = (type(self.purchase_model).__name__, type(self.spend_model).__name__)
        per = self.periods_per_year
        return (f"{names[0]} transactions at discrete opportunities ({per:g} a year) x "
                f"{names[1]} spend")

    def fit(self, rfm: pd.DataFrame, weights: np.ndarray | None = None, *,
            warm_start: "OpportunityStream | None" = None,
            compute_se: bool = True) -> "OpportunityStream":
        """Fit on an opportunity summary (``frequency, recency, n_periods, offset,
        monetary_value``; index customer token)."""
        missing = {"frequency", "recency", "n_periods", "offset", "monetary_value"} - set(rfm)
        if missing:
            raise ModelInputError(f"opportunity summary lacks column(s) {sorted(missing)}")
        table = rfm.rename(columns={"n_periods": "T"})
        self.timing_ = rfm.attrs.get("timing", UNIFORM_TIMING)
        super().fit(table, weights, warm_start=warm_start, compute_se=compute_se)
        keys = np.column_stack([table["frequency"].to_numpy(float), table["T"].to_numpy(float),
                                np.round(table["offset"].to_numpy(float) / OFFSET_STEP)])
        self.xt_, inverse = np.unique(keys, axis=0, return_inverse=True)
        self.xt_inverse_ = inverse.ravel()
        return self

    def expected_transactions(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected transactions in each grid interval per distinct (x, n, offset) for a
        customer certainly alive (multiply by :meth:`alive`)."""
        edges = np.asarray(edges_years, float)
        cached = self._cache.get("tx")
        if cached is not None and np.array_equal(cached[0], edges):
            return cached[1]
        x, n, step = self.xt_[:, 0:1], self.xt_[:, 1:2], self.xt_[:, 2:3]
        periods = edges[None, 1:] * self.periods_per_year
        cumulative = opportunity_expectation(self.purchase_model_, periods[0], x[:, 0],
                                             n[:, 0], step[:, 0] * OFFSET_STEP, self.timing_)
        if not np.all(np.isfinite(cumulative)):
            raise ModelError("expected transactions are not finite for some customers")
        tx = np.maximum(np.diff(cumulative, axis=1, prepend=0.0), 0.0)
        self._cache["tx"] = (edges, tx)
        return tx
