"""Predictions of the purchase models that stay finite and accurate at the edges of the
parameter space (the no-dropout and no-heterogeneity limits).

BG/NBD: given a customer alive after ``x`` purchases by ``T``, her purchase rate is
``lambda ~ Gamma(r + x, alpha + T)`` and her dropout probability ``p ~ Beta(a, b + x)``, and
her expected purchases in the next ``t`` periods are

    g(t) = E_p[ h(p) ],   h(p) = (1 - (1 + p t / (alpha + T)) ** -(r + x)) / p

(the Poisson-gamma mixture integrated over lambda; ``h(0) = (r + x) t / (alpha + T)``, the
no-dropout limit). The paper's closed form (a Gauss hypergeometric function) equals it but
loses all precision when ``a`` and ``b`` grow large (p concentrated: no heterogeneity, or
dropout nearly impossible); there the expectation over ``p`` is taken by quadrature on the
quantiles of the Beta distribution, which is exact in the limit and needs no hypergeometric
function. A new customer's ``E[X(t)]`` is the same with ``x = 0, T = 0``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaincinv, hyp2f1

from valuation.models._mle import gauss_legendre_unit

#: a + b above this: the expectation over p by quadrature (the closed form loses precision)
CLOSED_FORM_MAX = 1e4
#: Gauss-Legendre nodes on the Beta quantiles
QUANTILE_NODES = 96


def _h(p: np.ndarray, rate_t: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """``(1 - (1 + p u) ** -k) / p`` with ``u = t / (alpha + T)``, ``k = r + x``; p >= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = -np.expm1(-shape * np.log1p(p * rate_t)) / p
    return np.where(p * rate_t < 1e-12, shape * rate_t * (1 - (shape + 1) * p * rate_t / 2), value)


def beta_quantile_expectation(a: float, big_b: np.ndarray, fun) -> np.ndarray:
    """``E[fun(p)]`` for ``p ~ Beta(a, big_b)`` (one ``big_b`` per row) by Gauss-Legendre on the
    quantile scale: ``int_0^1 fun(F^-1(v)) dv``. ``fun(p)`` receives p of shape (rows, nodes)
    and returns (rows, ..., nodes)."""
    nodes, weights = gauss_legendre_unit(QUANTILE_NODES)
    big_b = np.asarray(big_b, float)
    p = betaincinv(a, big_b[:, None], nodes[None, :])  # (rows, nodes)
    values = fun(p)
    return np.tensordot(values, weights, axes=([-1], [0]))


def bgnbd_conditional_core(params: np.ndarray, t: np.ndarray, x: np.ndarray,
                           big_t: np.ndarray) -> np.ndarray:
    """``E[Y(t) | alive, x, T]`` of the BG/NBD (without the P(alive) factor), broadcasting
    ``t``, ``x``, ``T``; finite and accurate for any positive parameters (module doc)."""
    r, alpha, a, b = (float(v) for v in params)
    t, x, big_t = np.broadcast_arrays(*(np.asarray(v, float) for v in (t, x, big_t)))
    if a + b <= CLOSED_FORM_MAX:
        aa = a if abs(a - 1) > 1e-8 else 1 + 1e-8
        z = t / (alpha + big_t + t)
        with np.errstate(all="ignore"):
            value = (aa + b + x - 1) / (aa - 1) * (
                1 - (1 - z) ** (aa - 1) * hyp2f1(aa + b - 1 - r, aa - 1, aa + b + x - 1, z))
        if np.all(np.isfinite(value)):
            return value
    out = np.empty(t.shape)
    flat_t, flat_x, flat_big_t = t.ravel(), x.ravel(), big_t.ravel()
    flat = out.reshape(-1)
    for xv in np.unique(flat_x):
        rows = np.flatnonzero(flat_x == xv)
        u = flat_t[rows] / (alpha + flat_big_t[rows])
        mean = beta_quantile_expectation(
            a, np.array([b + xv]), lambda p: _h(p[:, None, :], u[None, :, None], r + xv))
        flat[rows] = mean[0]
    return out
