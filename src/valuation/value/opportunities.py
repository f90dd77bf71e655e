"""The purchase stream of discrete opportunities: BG/BB transactions times Gamma-Gamma spend.

For purchases that can only happen at fixed occasions (a yearly exam sitting, an annual
renewal window, a course that starts once a term). The customers' histories are
:func:`valuation.features.opportunity_summary` tables (periods anchored at each customer's
first purchase). :class:`OpportunityStream` is a
:class:`~valuation.value.streams.PurchaseStream` whose model is a
:class:`~valuation.models.BetaGeoBetaBinom` fitted on the complete periods, with time in
opportunities (``periods_per_year`` a year); its forecast (:func:`opportunity_forecast`)
starts inside the running period:

* where in its period an opportunity's transaction falls follows the timing measured on the
  repeat purchases (an occasion at the start of each period, or purchases spread over it);
* a customer who has already bought in the running period is known to be alive there and
  to have transacted (her history becomes ``(x + 1, n + 1, n + 1)``, the forecast starts
  with the next period);
* one who has not yet bought, with a share ``F(o)`` of a period's purchases usually gone
  by at this point, has her history updated by that evidence (exact under the model,
  :meth:`~valuation.models.BetaGeoBetaBinom.forecast_by_opportunity`).
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
STATE_COLUMNS = ["frequency", "recency", "n_periods", "offset", "in_progress"]


def opportunity_forecast(model, horizons: np.ndarray, state: pd.DataFrame | np.ndarray,
                         timing: np.ndarray | None = None, *,
                         per_customer: bool = False) -> np.ndarray:
    """Expected transactions (P(alive) included) in ``(0, h]`` periods after the reference
    date, for each row of ``state`` (columns :data:`STATE_COLUMNS`).

    Parameters
    ----------
    model : fitted BetaGeoBetaBinom
    horizons : ndarray
        One horizon per row (``per_customer=True``; returns one value a row) or a grid of
        horizons shared by all rows (returns rows x horizons).
    state : DataFrame or ndarray
        ``frequency, recency, n_periods, offset, in_progress`` per row.
    timing : ndarray, optional
        CDF of the position of purchases in their period on an even grid of [0, 1]
        (``opportunity_summary(...).attrs["timing"]``); default even.
    """
    cdf = UNIFORM_TIMING if timing is None else np.asarray(timing, float)
    grid = np.linspace(0.0, 1.0, len(cdf))
    values = np.asarray(state[STATE_COLUMNS] if isinstance(state, pd.DataFrame) else state, float)
    x, tx, n, offset, bought = values.T
    bought = (bought > 0) & (offset >= 0)
    # a purchase in the running period: it is observed, the forecast starts after it
    x, tx, n = np.where(bought, x + 1, x), np.where(bought, n + 1, tx), np.where(bought, n + 1, n)
    offset = np.where(bought, offset - 1.0, offset)
    horizons = np.asarray(horizons, float)
    times = horizons[:, None] if per_customer else horizons.reshape(1, -1)
    k_max = int(np.ceil(np.max(times, initial=0.0) + np.max(offset, initial=0.0))) + 2
    start = offset[:, None] - np.arange(k_max)[None, :]  # position in period n + k at t = 0
    done = np.interp(start, grid, cdf, left=0.0, right=1.0)
    # the running period's share gone by without a purchase updates the history
    e = model.forecast_by_opportunity(x, tx, n, done[:, 0], k_max)
    # opportunity n + 1: what is left of it is spread over the rest of the period
    rest = 1.0 - done[:, 0]
    out = np.empty((len(x), times.shape[1]))
    for j in range(times.shape[1]):
        t = times[:, j:j + 1] if per_customer else times[0, j]
        share = np.interp(start + t, grid, cdf, left=0.0, right=1.0) - done
        share[:, 0] = np.where(rest > 1e-12, share[:, 0] / np.maximum(rest, 1e-12), 0.0)
        out[:, j] = np.sum(e * share, axis=1)
    if not np.all(np.isfinite(out)):
        raise ModelError("expected transactions at discrete opportunities are not finite")
    return out[:, 0] if per_customer else out


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
        return (f"{names[0]} transactions at discrete opportunities "
                f"({self.periods_per_year:g} a year) x {names[1]} spend")

    def fit(self, rfm: pd.DataFrame, weights: np.ndarray | None = None, *,
            warm_start: "OpportunityStream | None" = None,
            compute_se: bool = True) -> "OpportunityStream":
        """Fit on an opportunity summary (:data:`STATE_COLUMNS` and ``monetary_value``;
        index customer token)."""
        missing = set(STATE_COLUMNS + ["monetary_value"]) - set(rfm.columns)
        if missing:
            raise ModelInputError(f"opportunity summary lacks column(s) {sorted(missing)}")
        self.timing_ = rfm.attrs.get("timing", UNIFORM_TIMING)
        super().fit(rfm.rename(columns={"n_periods": "T"}), weights, warm_start=warm_start,
                    compute_se=compute_se)
        state = rfm[STATE_COLUMNS].to_numpy(float).copy()
        state[:, 3] = np.round(state[:, 3] / OFFSET_STEP) * OFFSET_STEP
        self.states_, inverse = np.unique(state, axis=0, return_inverse=True)
        self.state_inverse_ = inverse.ravel()
        return self

    def expected_transactions(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected transactions (P(alive) included) in each grid interval per distinct
        customer state (``states_``)."""
        edges = np.asarray(edges_years, float)
        cached = self._cache.get("tx")
        if cached is not None and np.array_equal(cached[0], edges):
            return cached[1]
        cumulative = opportunity_forecast(self.purchase_model_, edges[1:] * self.periods_per_year,
                                          self.states_, self.timing_)
        tx = np.maximum(np.diff(cumulative, axis=1, prepend=0.0), 0.0)
        self._cache["tx"] = (edges, tx)
        return tx

    def revenue_flows(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected revenue per customer and grid interval, shape (n customers, intervals)."""
        per_state = self.expected_transactions(edges_years)
        return per_state[self.state_inverse_] * self.expected_spend()[:, None]

    def customer_revenue(self, edges: np.ndarray, disc: np.ndarray, shock: np.ndarray,
                         assumptions=None) -> tuple[np.ndarray, np.ndarray]:
        """Present value of each customer's expected revenue, without and with the shock."""
        tx = self.expected_transactions(edges)
        pv = np.einsum("ij,j->i", tx, disc)[self.state_inverse_]
        pv_s = np.einsum("ij,j->i", tx, disc * shock)[self.state_inverse_]
        spend = self.expected_spend()
        return spend * pv, spend * pv_s
