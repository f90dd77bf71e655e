"""Discounted expected transactions by quadrature, shared by the purchase models.

For a customer with conditional expected purchases ``E(t)`` over the next ``t`` periods,
the discounted expected residual transactions up to a horizon ``H`` are

    DERT(H) = integral_0^H exp(-delta t) dE(t)
            = exp(-delta H) E(H) + delta * integral_0^H exp(-delta t) E(t) dt

(integration by parts, ``E(0) = 0``). The integral is evaluated per customer with
composite Gauss-Legendre quadrature on geometrically growing panels scaled to the
customer's own time scale (``alpha + T``): fine where ``E`` bends, coarse where only the
discount factor matters. An unlimited horizon stops where ``exp(-delta t) < e^-40``.
Each integral is computed with two rules (10 and 20 nodes a panel) and the difference is
the convergence check.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from valuation.errors import ModelError
from valuation.models._mle import gauss_legendre_unit

#: relative tolerance of the convergence check (20-node versus 10-node panels)
DERT_RTOL = 1e-7
_TAIL = 40.0
_CHUNK = 4000


def _rule(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (rows, panels * n) and weights for panels given by ``edges`` (rows, k + 1)."""
    unit_nodes, unit_weights = gauss_legendre_unit(n)
    left, width = edges[:, :-1], np.diff(edges, axis=1)
    nodes = left[:, :, None] + width[:, :, None] * unit_nodes[None, None, :]
    weights = width[:, :, None] * unit_weights[None, None, :]
    rows = edges.shape[0]
    return nodes.reshape(rows, -1), weights.reshape(rows, -1)


def discounted_expected_increments(
    expected: Callable[[np.ndarray, np.ndarray], np.ndarray],
    scale: np.ndarray,
    delta: float,
    horizon: float | None = None,
) -> np.ndarray:
    """Per-customer discounted sum of the increments of ``E(t)``.

    Parameters
    ----------
    expected : callable
        ``expected(rows, t)`` with ``rows`` an integer array of customer positions
        (shape ``(m,)``) and ``t`` a matrix of times (shape ``(m, k)``); returns ``E(t)``
        for those customers, same shape as ``t``.
    scale : ndarray
        A natural time scale per customer (e.g. ``alpha + T``), > 0.
    delta : float
        Continuous discount rate per period, > 0.
    horizon : float or None
        Horizon in periods; ``None`` for unlimited.

    Returns
    -------
    ndarray
        DERT per customer.

    Raises
    ------
    ModelError
        If the two quadrature rules disagree beyond :data:`DERT_RTOL` or give non-finite
        values.
    """
    scale = np.asarray(scale, dtype=float)
    t_max = _TAIL / delta if horizon is None else float(horizon)
    if t_max <= 0:
        return np.zeros(len(scale))
    result = np.empty(len(scale))
    for start in range(0, len(scale), _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, len(scale)))
        # panels on the finer of the customer's time scale and the discounting's (1/delta):
        # a long time scale (large alpha or beta: little dropout) must not stretch the panels
        # over many e-folds of the discount factor
        s = np.clip(scale[rows], 1e-12, 1.0 / delta)
        k_max = int(np.ceil(np.log2(max(t_max / s.min(), 1.0)))) + 1
        powers = 2.0 ** np.arange(-4, k_max + 1)
        edges = np.concatenate([np.zeros((len(rows), 1)), s[:, None] * powers[None, :]], axis=1)
        edges = np.minimum(edges, t_max)
        estimates = []
        for n in (10, 20):
            nodes, weights = _rule(edges, n)
            values = expected(rows, nodes)
            integral = delta * np.sum(weights * np.exp(-delta * nodes) * values, axis=1)
            estimates.append(integral)
        end_value = expected(rows, np.full((len(rows), 1), t_max))[:, 0]
        coarse, fine = estimates
        fine = fine + np.exp(-delta * t_max) * end_value
        coarse = coarse + np.exp(-delta * t_max) * end_value
        if not np.all(np.isfinite(fine)):
            raise ModelError(
                "Discounted expected transactions are not finite for some customers: "
                "check the fitted parameters (model.params_) and the RFM inputs."
            )
        error = np.abs(fine - coarse)
        if np.any(error > DERT_RTOL * np.maximum(np.abs(fine), 1e-12)):
            raise ModelError(
                "Discounted expected transactions did not converge (quadrature error "
                f"{error.max():.2e}); the discount rate may be too small for the horizon."
            )
        result[rows] = fine
    return result
