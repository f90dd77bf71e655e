"""A range for the value: customer bootstrap with model refits, plus parameter uncertainty.

Each replicate ``b`` (seeded from ``params.uncertainty.seed``; replicate ``b`` always gets the
same child seed, so results are reproducible and independent of how many replicates run):

* **bootstrap**: the customers are resampled with replacement, as multinomial counts
  ``w ~ Multinomial(N, 1/N)``; the models are refitted with those counts as weights, and
  the value of the resampled base is ``sum_i w_i v_i(theta_b)``. The purchase models'
  refit is one Newton step from the point estimate on the reweighted likelihood of the
  grouped unique rows (:mod:`valuation.value.newton`; a full refit only when the step is
  refused, column ``refit`` of the replicate table), the sBG is refitted on weighted
  survivor counts, the fallback and instalment streams re-estimate in closed form; the
  per-customer values are recomputed vectorised over the unique (x, T) pairs, on the grid
  up to the horizon only;
* **parameter**: each fitted model's parameters are drawn from their asymptotic normal law
  (covariance = inverse Hessian of the negative log-likelihood, else the standard errors),
  on the log scale so every draw stays positive, and the actual base is valued with them.

The headline distribution is ``combined_b = bootstrap_b + (parameter_b - point)``: both
sources added. The refit already carries most estimation error, so this is deliberately
conservative (wider); ``bootstrap`` and ``parameter`` are kept separately in the replicate
table for anyone who prefers either alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.errors import ConvergenceError, ModelError
from valuation.value.assumptions import Assumptions
from valuation.value.bridge import BridgeInputs, bridge_amounts
from valuation.value.draws import covariance_of, draw_parameters, percentile_of, share_below

__all__ = ["PERCENTILES", "UncertaintyResult", "bootstrap_value", "covariance_of",
           "draw_parameters"]

PERCENTILES: tuple[int, ...] = (5, 10, 25, 40, 50, 60, 75, 90, 95)


@dataclass
class UncertaintyResult:
    """Replicates of the transferable value and their percentiles.

    Attributes
    ----------
    point : float
        The point estimate of the transferable value.
    replicates : DataFrame
        One row a replicate: ``bootstrap``, ``parameter``, ``combined`` (NaN when a refit
        failed to converge) and ``refit`` (``newton``, ``refit``, ``exact`` or ``failed``).
    percentiles : DataFrame
        Index ``P5 .. P95``; columns ``bootstrap``, ``parameter``, ``combined``.
    seed : int
    failed : int
        Replicates whose refit did not converge (left out of the percentiles).
    """

    point: float
    replicates: pd.DataFrame
    percentiles: pd.DataFrame
    seed: int
    failed: int

    def value_at(self, percentile: int, column: str = "combined") -> float:
        """The value at a percentile (e.g. 10 for P10); the point estimate without replicates."""
        return percentile_of(self.replicates, column, percentile, self.point)

    def share_below(self, price: float, column: str = "combined") -> float:
        """Share of replicates worth less than ``price`` (where a price sits in the range)."""
        return share_below(self.replicates, column, price)


def _final(base, assumptions: Assumptions, inputs: BridgeInputs, transferable: np.ndarray,
           weights: np.ndarray | None) -> float:
    values = base.value_arrays(assumptions)
    return bridge_amounts(values["clv"], values["clv_transferred"], transferable, inputs,
                          weights)["final"]


def bootstrap_value(base, assumptions: Assumptions, inputs: BridgeInputs, *,
                    replicates: int, seed: int, progress=None) -> UncertaintyResult:
    """Bootstrap and parameter replicates of the transferable value.

    Parameters
    ----------
    base : CustomerBase
        Fitted (:class:`valuation.value.equity.CustomerBase`).
    assumptions : Assumptions
    inputs : BridgeInputs
    replicates : int
        Number of replicates of each kind (0: only the point estimate).
    seed : int
        Seed of the random generator (``params.uncertainty.seed``).
    progress : callable, optional
        Called with the replicate number after each replicate.

    Returns
    -------
    UncertaintyResult
    """
    transferable = base.customers_["transferable"].to_numpy(bool)
    point = _final(base, assumptions, inputs, transferable, None)
    n = len(base.customers_)
    children = np.random.SeedSequence(seed).spawn(replicates)
    rows = []
    failed = 0
    for b, child in enumerate(children):
        rng = np.random.default_rng(child)
        weights = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        try:
            boot_base, param_base, how = base.replicate(weights, rng)
            boot = _final(boot_base, assumptions, inputs, transferable, weights)
            param = _final(param_base, assumptions, inputs, transferable, None)
        except (ConvergenceError, ModelError):
            failed += 1
            boot = param = np.nan
            how = "failed"
        rows.append({"replicate": b, "bootstrap": boot, "parameter": param,
                     "combined": boot + (param - point), "refit": how})
        if progress is not None:
            progress(b + 1)
    table = pd.DataFrame(rows, columns=["replicate", "bootstrap", "parameter", "combined",
                                        "refit"])
    if replicates and failed > replicates // 2:
        raise ConvergenceError(
            f"{failed} of {replicates} bootstrap refits did not converge: the range would be "
            "meaningless. Check the data review and the model fit (valuation.models), or set "
            "uncertainty.bootstrap_replicates: 0 to report the point estimate only."
        )
    pct = {f"P{p}": {col: (float(np.nanpercentile(table[col], p)) if table[col].notna().any()
                           else point) for col in ("bootstrap", "parameter", "combined")}
           for p in PERCENTILES}
    return UncertaintyResult(point=point, replicates=table,
                             percentiles=pd.DataFrame(pct).T, seed=seed, failed=failed)
