"""The BG/NBD log-likelihood with its analytic gradient and Hessian, for fits at 10^6 rows.

Rows are prepared once (:class:`BGNBDBlocks`: per-frequency and per-time sums, repeat
buyers in cache-sized blocks) and each evaluation is one pass over the repeat buyers; see
:func:`bgnbd_derivatives`. The estimator is :class:`valuation.models.BetaGeo`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from valuation.models._inputs import wdot

#: identical rows are grouped only when that removes at least this share of them: one
#: likelihood evaluation costs ~30 ns a row, grouping ~200 ns, and the fit evaluates the
#: full data about 5 times (measured at 10^6 rows, 2 shared cores)
MIN_GROUP_SHARE = 0.5
#: repeat buyers' rows are processed in blocks of this many (the temporaries stay in cache)
BLOCK_ROWS = 32_768
#: |u2 - u1| is capped here: exp() stays a normal float (denormals are ~50x slower), and
#: the shares and log1p(exp(-|.|)) are unchanged at double precision
DIFF_CAP = 600.0

# rows of the per-frequency sums of the repeat buyers (see _repeat_buyer_sums)
_SOFTPLUS, _LOG_AT, _INV_AT, _PI, _PI_DLOG, _PI_DINV = range(6)
_INV_AT2, _PI_DINV2, _Q, _Q_DLOG, _Q_DINV, _Q_DLOG2, _Q_DLOG_DINV, _Q_DINV2 = range(6, 14)


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each value's position among them (hashing, no full sort)."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques, dtype=float), codes.astype(np.intp, copy=False)


class BGNBDBlocks:
    """RFM rows prepared once for repeated likelihood evaluations (any number of rows;
    small data are one block).

    Frequency-only terms are summed per distinct frequency, and the terms of every
    customer's T that do not involve the purchases per distinct T. The repeat buyers' rows
    are sorted by frequency (so sums per frequency are contiguous segments) and cut into
    blocks of :data:`BLOCK_ROWS`; their recency and T are stored as positions in the table
    of distinct times, on which the functions of ``alpha + t`` are evaluated
    (day-resolution data have a few hundred to a few thousand distinct times).
    """

    def __init__(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray):
        self.ux, inverse = _distinct(frequency)
        self.wx = np.bincount(inverse, weights=weights, minlength=len(self.ux))
        rows = _repeat_rows_by_frequency(inverse, self.ux)
        self.i_x = inverse[rows]
        self.x = self.ux[self.i_x]
        self.unit = bool(np.all(weights == 1.0))
        self.w = np.ones(len(rows)) if self.unit else weights[rows]
        # one table of distinct times: every customer's T and the repeat buyers' recency
        times_tx, code_tx = _distinct(recency[rows])
        times_t, code_t = _distinct(T)
        self.times, inv = np.unique(np.concatenate([times_tx, times_t]), return_inverse=True)
        at_t = inv[len(times_tx) :][code_t]
        self.w_t = np.bincount(at_t, weights=weights, minlength=len(self.times))
        self.i_tx = inv[: len(times_tx)][code_tx]
        self.i_t = at_t[rows]
        self.blocks = _blocks(self.i_x, BLOCK_ROWS)


def prepare_bgnbd(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> BGNBDBlocks:
    """RFM rows prepared for :func:`bgnbd_derivatives` (see :class:`BGNBDBlocks`)."""
    return BGNBDBlocks(frequency, recency, T, weights)


def _repeat_rows_by_frequency(codes: np.ndarray, ux: np.ndarray) -> np.ndarray:
    """Positions of the rows with frequency != 0, sorted (stably) by frequency code."""
    small = codes.astype(np.uint16) if len(ux) < 2**16 else codes
    order = np.argsort(small, kind="stable")
    zero = np.flatnonzero(ux == 0)
    if not len(zero):
        return order
    counts = np.bincount(codes, minlength=len(ux))
    start = int(counts[: zero[0]].sum())
    return np.concatenate([order[:start], order[start + counts[zero[0]] :]])


def _blocks(codes: np.ndarray, size: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Cut rows sorted by ``codes`` into blocks of ``size``: (start, stop, segment starts
    within the block, the code of each segment) per block."""
    out = []
    for start in range(0, len(codes), size):
        block = codes[start : start + size]
        firsts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        out.append((start, start + len(block), firsts, block[firsts]))
    return out


def _prepare(frequency, recency, T, weights) -> BGNBDBlocks:
    """``frequency`` itself when it is already prepared, else the prepared rows (weights
    default to 1)."""
    if isinstance(frequency, BGNBDBlocks):
        return frequency
    w = np.ones(len(frequency)) if weights is None else np.asarray(weights, float)
    return prepare_bgnbd(np.asarray(frequency, float), np.asarray(recency, float),
                         np.asarray(T, float), w)


def _rising_sums(ux: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """For integer frequencies: ``sum_{k<x} f(k)`` of ``log1p(k/s)``, ``1/(s+k)`` and
    ``1/(s+k)^2`` per frequency, one row per ``s`` in ``shift`` (None for other data).

    These are the gamma-function ratios ``ln G(s+x) - ln G(s) - x ln s`` and the digamma
    and trigamma differences as finite sums: exact to rounding for any ``s``, where the
    differences of ``gammaln``/``digamma`` lose all precision at large ``s``.
    """
    top = float(ux.max()) if len(ux) else 0.0
    if top > 100_000 or not np.all(ux == np.round(ux)):
        return None
    k = np.arange(int(top), dtype=float)
    s = np.asarray(shift, float)[:, None]
    at = ux.astype(np.intp)

    def upto(values: np.ndarray) -> np.ndarray:
        cum = np.concatenate([np.zeros((len(s), 1)), np.cumsum(values, axis=1)], axis=1)
        return cum[:, at]

    inv = 1.0 / (s + k)
    return upto(np.log1p(k / s)), upto(inv), upto(inv * inv)


def _frequency_terms(
    data: BGNBDBlocks, r: float, alpha: float, a: float, b: float, hessian: bool
) -> tuple[float, np.ndarray, np.ndarray]:
    """The terms that depend on the frequency only, summed per distinct frequency:
    ``ln G(r+x) - ln G(r) - x ln(alpha)`` and ``ln B(a, b+x) - ln B(a, b)``."""
    ux, wx = data.ux, data.wx
    ab = a + b
    sums = _rising_sums(ux, np.array([r, b, ab]))
    if sums is not None:
        (log_r, log_b, log_ab), (psi_r, psi_b, psi_ab), (tri_r, tri_b, tri_ab) = sums
        a1 = ux * (np.log(r) - np.log(alpha)) + log_r
        a2 = ux * (np.log(b) - np.log(ab)) + log_b - log_ab
    else:
        a1 = gammaln(r + ux) - gammaln(r) - ux * np.log(alpha)
        a2 = gammaln(ab) + gammaln(b + ux) - gammaln(b) - gammaln(ab + ux)
        psi_r, psi_b, psi_ab = (digamma(v + ux) - digamma(v) for v in (r, b, ab))
        tri_r, tri_b, tri_ab = (polygamma(1, v) - polygamma(1, v + ux) for v in (r, b, ab))
    ll = float(wdot(wx, a1 + a2))
    grad = np.array([
        float(wdot(wx, psi_r)),
        0.0,  # -x/alpha here and x/alpha - x/(alpha+T) of -x l(T): in the repeat buyers' terms
        -float(wdot(wx, psi_ab)),
        float(wdot(wx, psi_b - psi_ab)),
    ])
    hess = np.zeros((4, 4))
    if hessian:
        t_ab = float(wdot(wx, tri_ab))
        hess[0, 0] = -float(wdot(wx, tri_r))
        hess[2, 2] = hess[2, 3] = t_ab
        hess[3, 3] = t_ab - float(wdot(wx, tri_b))
    return ll, grad, hess


def _time_terms(
    data: BGNBDBlocks, r: float, alpha: float, hessian: bool
) -> tuple[float, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Every customer's ``r ln(alpha) - r ln(alpha + T)``, summed per distinct T.

    Written with ``l(t) = ln(1 + t/alpha)`` and ``m(t) = 1/alpha - 1/(alpha + t)``, so it
    stays accurate when alpha is large against T. Also returns ``(l, 1/(alpha + t))`` on
    the table of distinct times for the repeat buyers.
    """
    times = data.times
    ell = np.log1p(times / alpha)
    inv = 1.0 / (alpha + times)
    m = times * inv / alpha
    sum_ell, sum_m = float(wdot(data.w_t, ell)), float(wdot(data.w_t, m))
    grad = np.array([-sum_ell, r * sum_m, 0.0, 0.0])
    hess = np.zeros((4, 4))
    if hessian:
        hess[0, 1] = sum_m
        hess[1, 1] = -r * float(wdot(data.w_t, m * (1.0 / alpha + inv)))
    return -r * sum_ell, grad, hess, (ell, inv)


def _block_rows(
    data: BGNBDBlocks, start: int, stop: int, r: float, cx: np.ndarray,
    ell: np.ndarray, inv_times: np.ndarray, out: np.ndarray, hessian: bool,
) -> None:
    """Fill ``out`` (rows as numbered by ``_SOFTPLUS`` ...) for repeat buyers start:stop.

    With ``diff = u2 - u1 = cx + (r + x) dlog``, ``dlog = ln(alpha+T) - ln(alpha+t_x)``,
    ``dinv = 1/(alpha+t_x) - 1/(alpha+T)`` and ``e = exp(-|diff|)``: the last term is
    ``-(r+x) ln(alpha+T) + softplus(diff)``, ``softplus = max(diff, 0) + log1p(e)``; the
    share of the second term is ``pi2 = exp(min(diff, 0)) / (1 + e)`` and
    ``q = pi1 pi2 = e / (1 + e)^2``. ``_LOG_AT`` holds ``ln(1 + T/alpha)``. Weighted by
    the row weights.
    """
    i_t, i_tx = data.i_t[start:stop], data.i_tx[start:stop]
    k = stop - start
    log_at, inv_at = out[_LOG_AT, :k], out[_INV_AT, :k]
    np.take(ell, i_t, out=log_at)
    np.take(inv_times, i_t, out=inv_at)
    dlog = log_at - ell[i_tx]
    inv_atx = inv_times[i_tx]
    dinv = inv_atx - inv_at
    diff = np.add(data.x[start:stop], r)
    diff *= dlog
    diff += cx[data.i_x[start:stop]]
    soft = out[_SOFTPLUS, :k]
    np.maximum(diff, 0.0, out=soft)
    np.clip(diff, -DIFF_CAP, DIFF_CAP, out=diff)
    e = np.abs(diff)
    np.negative(e, out=e)
    np.exp(e, out=e)
    soft += np.log1p(e)
    inv1e = np.add(e, 1.0)
    np.reciprocal(inv1e, out=inv1e)
    pi = out[_PI, :k]
    np.minimum(diff, 0.0, out=pi)
    np.exp(pi, out=pi)
    pi *= inv1e
    np.multiply(pi, dlog, out=out[_PI_DLOG, :k])
    np.multiply(pi, dinv, out=out[_PI_DINV, :k])
    if hessian:
        np.multiply(inv_at, inv_at, out=out[_INV_AT2, :k])
        # inv_atx^2 - inv_at^2 = dinv (inv_atx + inv_at)
        np.add(inv_atx, inv_at, out=out[_PI_DINV2, :k])
        out[_PI_DINV2, :k] *= out[_PI_DINV, :k]
        q = out[_Q, :k]
        np.multiply(e, inv1e, out=q)
        q *= inv1e
        np.multiply(q, dlog, out=out[_Q_DLOG, :k])
        np.multiply(q, dinv, out=out[_Q_DINV, :k])
        np.multiply(out[_Q_DLOG, :k], dlog, out=out[_Q_DLOG2, :k])
        np.multiply(out[_Q_DLOG, :k], dinv, out=out[_Q_DLOG_DINV, :k])
        np.multiply(out[_Q_DINV, :k], dinv, out=out[_Q_DINV2, :k])
    if not data.unit:
        out[:, :k] *= data.w[start:stop]


def _repeat_buyer_sums(
    data: BGNBDBlocks, r: float, cx: np.ndarray, ell: np.ndarray, inv_times: np.ndarray,
    hessian: bool,
) -> np.ndarray:
    """Weighted sums of the repeat buyers' row terms per distinct frequency, shape
    (terms, len(data.ux)): one pass over the rows, block by block."""
    n_terms = 14 if hessian else 6
    sums = np.zeros((n_terms, len(data.ux)))
    out = np.empty((n_terms, min(BLOCK_ROWS, len(data.x))))
    for start, stop, firsts, codes in data.blocks:
        _block_rows(data, start, stop, r, cx, ell, inv_times, out, hessian)
        sums[:, codes] += np.add.reduceat(out[:, : stop - start], firsts, axis=1)
    return sums


def _repeat_buyer_terms(
    data: BGNBDBlocks, r: float, a: float, b: float, tables: tuple[np.ndarray, np.ndarray],
    hessian: bool,
) -> tuple[float, np.ndarray, np.ndarray]:
    """The repeat buyers' ``-x ln(1 + T/alpha) + softplus(diff)`` terms (upper triangle
    of the Hessian); ``-r ln(1 + T/alpha)`` is in :func:`_time_terms`, ``-x ln(alpha)`` in
    :func:`_frequency_terms`, and the alpha-derivatives here are those of their sum
    ``-x ln(alpha + T)``.

    The per-frequency sums of :func:`_repeat_buyer_sums` times the factors that depend
    on the frequency only: ``x``, ``r + x`` and ``1 / (b + x - 1)``; with
    ``d = (dlog, -(r+x) dinv, 1/a, -1/(b+x-1))`` the Hessian of the softplus is
    ``pi2 d2(u2 - u1) + q d d'``.
    """
    ux = data.ux
    positive = ux > 0
    bx1 = np.where(positive, b + ux - 1.0, 1.0)  # used for x >= 1 only
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = np.log(a) - np.log(bx1)
    ibx = np.where(positive, 1.0 / bx1, 0.0)
    rx = r + ux
    s = _repeat_buyer_sums(data, r, cx, *tables, hessian)
    tot = s.sum(axis=1)
    ll = float(tot[_SOFTPLUS]) - wdot(ux, s[_LOG_AT])
    grad = np.array([
        tot[_PI_DLOG],
        -wdot(ux, s[_INV_AT]) - wdot(rx, s[_PI_DINV]),
        tot[_PI] / a,
        -wdot(ibx, s[_PI]),
    ])
    hess = np.zeros((4, 4))
    if hessian:
        hess[0, 0] = tot[_Q_DLOG2]
        hess[0, 1] = -tot[_PI_DINV] - wdot(rx, s[_Q_DLOG_DINV])
        hess[0, 2] = tot[_Q_DLOG] / a
        hess[0, 3] = -wdot(ibx, s[_Q_DLOG])
        hess[1, 1] = (wdot(ux, s[_INV_AT2]) + wdot(rx, s[_PI_DINV2])
                      + wdot(rx**2, s[_Q_DINV2]))
        hess[1, 2] = -wdot(rx, s[_Q_DINV]) / a
        hess[1, 3] = wdot(rx * ibx, s[_Q_DINV])
        hess[2, 2] = (tot[_Q] - tot[_PI]) / a**2
        hess[2, 3] = -wdot(ibx, s[_Q]) / a
        hess[3, 3] = wdot(ibx**2, s[_PI] + s[_Q])
    return ll, grad, hess


def bgnbd_derivatives(
    params: np.ndarray,
    frequency: np.ndarray | BGNBDBlocks,
    recency: np.ndarray | None = None,
    T: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    *,
    hessian: bool = True,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Weighted BG/NBD log-likelihood, its gradient and Hessian w.r.t. (r, alpha, a, b).

    Written with a log-sum-exp so it stays finite for frequencies of several hundred.
    With ``u1 = -(r+x) ln(alpha+T)`` and ``u2 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x)``
    the repeat buyer's last term is ``lse = ln(e^u1 + e^u2)``, whose derivatives are
    ``pi1 du1 + pi2 du2`` and ``pi1 d2u1 + pi2 d2u2 + pi1 pi2 (du2 - du1)(du2 - du1)'``
    (``pi`` the shares of the two terms). The gamma-function ratios of integer
    frequencies are finite sums, and ``ln(alpha)`` is folded into ``ln(1 + t/alpha)``,
    so the log-likelihood and its derivatives stay accurate when r and alpha are large
    (near the model's Poisson limit), where differences of large terms would cancel.

    One pass over the repeat buyers' rows computes everything: the row terms are summed
    per distinct frequency (rows sorted by frequency), and the factors that depend on the
    frequency only are applied to those sums.

    Parameters
    ----------
    params : ndarray
        ``(r, alpha, a, b)``, all > 0.
    frequency, recency, T, weights : ndarray
        One row per (grouped) customer; or a prepared :class:`BGNBDBlocks` as ``frequency``.
    hessian : bool
        False skips the Hessian (returned as None).

    Returns
    -------
    (float, ndarray, ndarray or None)
        Total weighted log-likelihood, gradient (4,) and Hessian (4, 4).
    """
    data = _prepare(frequency, recency, T, weights)
    r, alpha, a, b = (float(v) for v in params)
    ll, grad, hess = _frequency_terms(data, r, alpha, a, b, hessian)
    ll_t, grad_t, hess_t, tables = _time_terms(data, r, alpha, hessian)
    ll, grad, hess = ll + ll_t, grad + grad_t, hess + hess_t
    if len(data.x):
        ll_rep, grad_rep, hess_rep = _repeat_buyer_terms(data, r, a, b, tables, hessian)
        ll, grad, hess = ll + ll_rep, grad + grad_rep, hess + hess_rep
    if not hessian:
        return ll, grad, None
    hess = np.triu(hess) + np.triu(hess, 1).T
    return ll, grad, hess


def bgnbd_loglik(
    params: np.ndarray,
    frequency: np.ndarray | BGNBDBlocks,
    recency: np.ndarray | None = None,
    T: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Weighted BG/NBD log-likelihood and its analytic gradient w.r.t. (r, alpha, a, b).

    See :func:`bgnbd_derivatives` (this is it without the Hessian).
    """
    ll, grad, _ = bgnbd_derivatives(params, frequency, recency, T, weights, hessian=False)
    return ll, grad
