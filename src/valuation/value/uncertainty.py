"""A range for the value: customer bootstrap with model refits, plus parameter uncertainty.

Each replicate ``b`` (seeded from ``params.uncertainty.seed``; replicate ``b`` always gets the
same child seed, so results are reproducible and independent of how many replicates run):

* **bootstrap**: the customers are resampled with replacement, as multinomial counts
  ``w ~ Multinomial(N, 1/N)``; the models are refitted with those counts as weights (the
  purchase models collapse identical (frequency, recency, T) rows, the sBG uses weighted
  survivor counts), and the value of the resampled base is ``sum_i w_i v_i(theta_b)``;
* **parameter**: each fitted model's parameters are drawn from their asymptotic normal law
  (covariance = inverse Hessian of the negative log-likelihood, else the standard errors),
  on the log scale so every draw stays positive, and the actual base is valued with them.

The headline distribution is ``combined_b = bootstrap_b + (parameter_b - point)``: both
sources added. The refit already carries most estimation error, so this is deliberately
conservative (wider); ``bootstrap`` and ``parameter`` are kept separately in the replicate
table for anyone who prefers either alone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.errors import ConvergenceError, ModelError
from valuation.value.assumptions import Assumptions
from valuation.value.bridge import BridgeInputs, bridge_amounts

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
        failed to converge).
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
        """The value at a percentile (e.g. 10 for P10)."""
        return float(np.nanpercentile(self.replicates[column], percentile))

    def share_below(self, price: float, column: str = "combined") -> float:
        """Share of replicates worth less than ``price`` (where a price sits in the range)."""
        values = self.replicates[column].dropna().to_numpy()
        return float((values < price).mean()) if len(values) else float("nan")


def covariance_of(model) -> np.ndarray:
    """Asymptotic covariance of a fitted model's ``params_`` (inverse Hessian, else SE^2)."""
    hessian = getattr(model, "hessian_", None)
    if hessian is not None:
        try:
            cov = np.linalg.inv(np.asarray(hessian, float))
            if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0):
                return (cov + cov.T) / 2
        except np.linalg.LinAlgError:
            pass
    se = np.asarray(model.standard_errors_, float)
    return np.diag(np.nan_to_num(se, nan=0.0) ** 2)


def draw_parameters(model, rng: np.random.Generator):
    """A copy of a fitted model with ``params_`` drawn from their log-normal approximation."""
    theta = np.asarray(model.params_, float)
    cov = covariance_of(model)
    scale = np.diag(1.0 / theta)
    log_cov = scale @ cov @ scale
    draw = rng.multivariate_normal(np.log(theta), log_cov, method="eigh")
    other = copy.deepcopy(model)
    params = model.params_.copy() if hasattr(model.params_, "copy") else np.array(theta)
    params[:] = np.exp(draw)
    other.params_ = params
    return other


def _final(base, assumptions: Assumptions, inputs: BridgeInputs, transferable: np.ndarray,
           weights: np.ndarray | None) -> float:
    values = base.customer_values(assumptions)
    return bridge_amounts(values["clv"].to_numpy(float), values["clv_transferred"].to_numpy(float),
                          transferable, inputs, weights)["final"]


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
            boot = _final(base.refit(weights), assumptions, inputs, transferable, weights)
            drawn = {role: draw_parameters(model, rng)
                     for role, model in base.fitted_models().items()}
            param = _final(base.with_models(**drawn), assumptions, inputs, transferable, None)
        except (ConvergenceError, ModelError):
            failed += 1
            boot = param = np.nan
        rows.append({"replicate": b, "bootstrap": boot, "parameter": param,
                     "combined": boot + (param - point)})
        if progress is not None:
            progress(b + 1)
    table = pd.DataFrame(rows, columns=["replicate", "bootstrap", "parameter", "combined"])
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
