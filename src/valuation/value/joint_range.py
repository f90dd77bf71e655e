"""The headline range: model uncertainty combined with joint draws of the assumptions.

The bootstrap range (:mod:`valuation.value.uncertainty`) carries the noise of the fitted
parameters only; the assumptions that move the value most (horizon, transfer loss, margin)
sit outside it. Here every economic and change-of-owner assumption is drawn jointly over its
``sensitivity.*`` range:

* a triangular law with its mode at the base case (``uncertainty.assumption_distributions``
  may name ``uniform`` or ``fixed`` per assumption instead); independent draws (no
  correlation is assumed);
* the horizon snapped to the nearest edge of the valuation grid (quarterly to ten years),
  the churn threshold to the nearest of its low, base and high values (each a refit of the
  Kaplan-Meier curve, cached);

and the base is revalued under each draw without refitting (:class:`~valuation.value.whatif.
Revaluer`). Draw ``b`` is combined with model replicate ``b mod B``:

    total_b = model_b + (V(a_b) - V(a_0))

(model uncertainty and the effect of the assumptions added, as the model range itself adds
its bootstrap and parameter parts). The headline P10 / P50 / P90 are of ``total``; the
model-only range (``model``) is kept beside it. The tornado stays one-at-a-time
(:func:`valuation.value.sensitivity.tornado`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.value.assumptions import Assumptions
from valuation.value.draws import percentile_of, share_below
from valuation.value.sensitivity import sensitivity_ranges
from valuation.value.uncertainty import PERCENTILES

DRAWN: tuple[str, ...] = ("annual_discount_rate", "gross_margin", "one_off_loss",
                          "hazard_multiplier", "horizon_years", "inactivity_days")
"""The assumptions drawn jointly (every one with a sensitivity range)."""

DISTRIBUTIONS: tuple[str, ...] = ("triangular", "uniform", "fixed")


def draw_ranges(params, assumptions: Assumptions) -> dict[str, tuple[float, float]]:
    """Low/high of every drawn assumption: the tornado's ranges plus the change-of-owner
    hazard multiplier (``sensitivity.hazard_multiplier``; default from 1, no extra churn, to
    the base plus the same distance again, at least +0.2)."""
    ranges = dict(sensitivity_ranges(params, assumptions))
    given = getattr(params.sensitivity, "hazard_multiplier", None)
    if given is not None:
        ranges["hazard_multiplier"] = tuple(map(float, given))
    else:
        m = assumptions.hazard_multiplier
        ranges["hazard_multiplier"] = (1.0, m + max(m - 1.0, 0.2))
    return ranges


def _one(rng: np.random.Generator, law: str, low: float, base: float, high: float,
         n: int) -> np.ndarray:
    low, high = min(low, high), max(low, high)
    if law == "fixed" or high - low <= 0:
        return np.full(n, float(base))
    if law == "uniform":
        return rng.uniform(low, high, n)
    mode = float(np.clip(base, low, high))
    return rng.triangular(low, mode, high, n)


def draw_assumptions(assumptions: Assumptions, ranges: dict[str, tuple[float, float]], *,
                     n: int, seed: int, edges: np.ndarray | None = None,
                     distributions: dict[str, str] | None = None) -> pd.DataFrame:
    """``n`` joint draws of the assumptions (one row a draw, one column an assumption).

    Parameters
    ----------
    assumptions : Assumptions
        The base case (mode of the triangular laws).
    ranges : dict
        Assumption -> (low, high) (:func:`draw_ranges`).
    n : int
    seed : int
    edges : ndarray, optional
        Grid edges of the fitted base: drawn horizons snap to the nearest.
    distributions : dict, optional
        Assumption -> ``triangular`` (default), ``uniform`` or ``fixed``.
    """
    rng = np.random.default_rng([int(seed), 16])
    laws = dict(distributions or {})
    out = {}
    for name in DRAWN:
        base = float(getattr(assumptions, name))
        low, high = ranges.get(name, (base, base))
        values = _one(rng, laws.get(name, "triangular"), float(low), base, float(high), n)
        if name == "horizon_years" and edges is not None:
            grid = np.asarray(edges, float)[1:]
            values = grid[np.abs(values[:, None] - grid[None, :]).argmin(axis=1)]
        if name == "inactivity_days":
            choices = np.unique(np.array([low, base, high], float))
            values = choices[np.abs(values[:, None] - choices[None, :]).argmin(axis=1)]
            values = values.astype(int)
        if name == "one_off_loss":
            values = np.clip(values, 0.0, 0.99)
        if name == "gross_margin":
            values = np.clip(values, 1e-3, 1.0)
        if name == "hazard_multiplier":
            values = np.maximum(values, 1.0)
        out[name] = values
    return pd.DataFrame(out)


@dataclass
class JointRange:
    """The combined (model + assumptions) distribution of the transferable value.

    Attributes
    ----------
    point : float
        Value at the base case.
    draws : DataFrame
        One row a draw: the drawn assumptions, ``model`` (the model replicate paired with
        it), ``assumption_value`` (the revaluation), ``standalone`` (current owner, kept),
        ``retention_12m_after`` (12-month retention after the transfer under the draw),
        ``acquisitions`` (value of future acquisitions under the draw; 0 when off) and
        ``total`` (the headline distribution, existing customers only).
    percentiles : DataFrame
        Index ``P5 .. P95``; columns ``model_only``, ``assumptions_only``,
        ``with_assumptions``.
    ranges : dict
        The ranges drawn over.
    distributions : dict
        The law of each assumption.
    """

    point: float
    draws: pd.DataFrame
    percentiles: pd.DataFrame
    ranges: dict
    distributions: dict

    def value_at(self, percentile: float, column: str = "total") -> float:
        """The value at a percentile of the combined draws (or another column)."""
        return percentile_of(self.draws, column, percentile, self.point)

    def share_below(self, price: float, column: str = "total") -> float:
        """Share of draws worth less than ``price``."""
        return share_below(self.draws, column, price)

    def to_dict(self) -> dict:
        """JSON-ready summary: percentiles, ranges, laws, draw count."""
        return {
            "point": self.point, "draws": int(len(self.draws)),
            "method": "model replicate + (revaluation under jointly drawn assumptions - "
                      "base-case value); triangular laws around the base case unless params "
                      "say otherwise; independent draws",
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "distributions": self.distributions,
            "with_assumptions": {f"p{p}": self.value_at(p) for p in (10, 50, 90)},
            "model_only": {f"p{p}": self.value_at(p, "model") for p in (10, 50, 90)},
            "percentiles": self.percentiles.rename_axis("percentile").reset_index()
                               .to_dict(orient="records"),
        }


def joint_range(revaluer, model_replicates: np.ndarray, point: float,
                ranges: dict[str, tuple[float, float]], *, n_draws: int, seed: int,
                distributions: dict[str, str] | None = None) -> JointRange:
    """Combine the model replicates with joint draws of the assumptions.

    Parameters
    ----------
    revaluer : Revaluer
        The fitted base's what-if engine (:mod:`valuation.value.whatif`).
    model_replicates : ndarray
        The model-only replicates of the transferable value (NaN = failed refit, dropped).
    point : float
        The base-case value.
    ranges : dict
        :func:`draw_ranges`.
    n_draws : int
        Number of assumption draws (at least the number of model replicates is used).
    seed : int
    distributions : dict, optional
        Law per assumption.

    Returns
    -------
    JointRange
    """
    model = np.asarray(model_replicates, float)
    model = model[np.isfinite(model)]
    if not len(model):
        model = np.array([point])
    n = max(int(n_draws), len(model), 1)
    laws = {name: (distributions or {}).get(name, "triangular") for name in DRAWN}
    draws = draw_assumptions(revaluer.assumptions, ranges, n=n, seed=seed,
                             edges=revaluer.base.edges_, distributions=laws)
    base_a = revaluer.assumptions
    values, standalone, retained, acquisitions = [], [], [], []
    for row in draws.itertuples(index=False):
        changes = {name: getattr(row, name) for name in DRAWN}
        changes["inactivity_days"] = int(changes["inactivity_days"])
        a = base_a.replace(**changes)
        result = revaluer.revalue(a)
        values.append(result.transferable)
        standalone.append(result.standalone)
        retained.append(revaluer.retention_12m(a)["after_transfer"])
        acquisitions.append(result.acquisitions or 0.0)
    draws["model"] = model[np.arange(n) % len(model)]
    draws["assumption_value"] = values
    draws["standalone"] = standalone
    draws["retention_12m_after"] = retained
    draws["acquisitions"] = acquisitions
    draws["total"] = draws["model"] + (draws["assumption_value"] - point)
    pct = {f"P{p}": {"model_only": float(np.percentile(model, p)),
                     "assumptions_only": float(np.percentile(draws["assumption_value"], p)),
                     "with_assumptions": float(np.percentile(draws["total"], p))}
           for p in PERCENTILES}
    return JointRange(point=float(point), draws=draws, percentiles=pd.DataFrame(pct).T,
                      ranges={k: tuple(map(float, v)) for k, v in ranges.items()},
                      distributions=laws)
