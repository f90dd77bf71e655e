"""The known generating processes of the sample targets, vectorised with numpy.

Each function draws from one textbook model; the parameters end up in ``ground_truth.json``
so model tests can check recovery. Time is continuous inside a function; callers round to
calendar days.
"""

from __future__ import annotations

import numpy as np


def group_index(counts: np.ndarray) -> np.ndarray:
    """Owner index of each element when ``counts[i]`` elements belong to owner ``i``."""
    return np.repeat(np.arange(len(counts)), counts)


def rank_within_group(owner: np.ndarray) -> np.ndarray:
    """0-based position of each element inside its (contiguous, sorted) owner group."""
    if len(owner) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    lengths = np.diff(np.r_[starts, len(owner)])
    return np.arange(len(owner)) - np.repeat(starts, lengths)


def bgnbd_repeat_times(
    rng: np.random.Generator,
    horizon: np.ndarray,
    r: float,
    alpha: float,
    a: float,
    b: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat-purchase times of the BG/NBD model (Fader, Hardie & Lee 2005).

    Each customer buys at time 0 (not returned), then at the arrivals of a Poisson process of
    rate ``lambda ~ Gamma(r, rate=alpha)``; after each repeat purchase she drops out for good
    with probability ``p ~ Beta(a, b)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    horizon : ndarray of float
        Length of each customer's observation window (same unit as ``1/alpha``).
    r, alpha, a, b : float
        The BG/NBD parameters.

    Returns
    -------
    owner, times : ndarray
        The customer index and time (since the first purchase) of every repeat purchase in
        the window, sorted by customer then time.
    """
    n = len(horizon)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    # Purchases until drop-out (the last one included): geometric on 1, 2, ...
    until_dropout = rng.geometric(np.clip(p, 1e-12, 1.0))
    # Poisson arrivals in the window; given their number K they are uniform order statistics,
    # i.e. normalised partial sums of K+1 unit exponentials. Only the first M = min(K, N)
    # are kept, so only those M exponentials are drawn; the rest enters via a Gamma(K+1-M).
    arrivals = rng.poisson(lam * np.maximum(horizon, 0.0))
    kept = np.minimum(arrivals, until_dropout)
    owner = group_index(kept)
    cums = np.cumsum(rng.exponential(1.0, size=owner.size))
    ends = np.cumsum(kept)
    starts = ends - kept
    before = np.where(starts > 0, cums[np.maximum(starts - 1, 0)] if cums.size else 0.0, 0.0)
    partial = cums - np.repeat(before, kept)
    last_partial = np.zeros(n)
    has = kept > 0
    last_partial[has] = partial[ends[has] - 1]
    total = last_partial + rng.gamma(arrivals + 1 - kept, 1.0)
    times = horizon[owner] * partial / total[owner]
    return owner, times


def gamma_gamma_spend(
    rng: np.random.Generator, owner: np.ndarray, n_customers: int, p: float, q: float, gamma: float
) -> np.ndarray:
    """Spend per transaction of the Gamma-Gamma model (Fader, Hardie & Lee 2005b).

    ``nu_i ~ Gamma(q, rate=gamma)`` per customer and each transaction ``z ~ Gamma(p, rate=nu_i)``,
    so the mean spend of the population is ``p * gamma / (q - 1)``.
    """
    nu = rng.gamma(q, 1.0 / gamma, size=n_customers)
    return rng.gamma(p, 1.0 / nu[owner])


def weibull_ph_lifetimes(
    rng: np.random.Generator, linear_predictor: np.ndarray, shape: float, scale: float
) -> np.ndarray:
    """Lifetimes of a Weibull proportional-hazards model.

    The hazard is ``h(t | x) = (shape / scale) (t / scale)^(shape - 1) exp(x'beta)``, so
    ``S(t | x) = exp(-(t / scale)^shape exp(x'beta))`` and a lifetime is
    ``scale * (E / exp(x'beta))^(1 / shape)`` with ``E ~ Exp(1)``.
    """
    e = rng.exponential(1.0, size=len(linear_predictor))
    return scale * (e * np.exp(-linear_predictor)) ** (1.0 / shape)


def sbg_periods(rng: np.random.Generator, n: int, alpha: float, beta: float) -> np.ndarray:
    """Paid periods of the shifted-beta-geometric model (Fader & Hardie 2007).

    Each customer's churn probability is ``theta ~ Beta(alpha, beta)``; she pays period 1,
    then renews at the end of every period with probability ``1 - theta``. Returns the number
    of periods paid (1, 2, ...), before any observation cut-off.
    """
    theta = rng.beta(alpha, beta, size=n)
    return rng.geometric(np.clip(theta, 1e-12, 1.0))


def poisson_event_days(
    rng: np.random.Generator, start: np.ndarray, length: np.ndarray, rate_per_day: float
) -> tuple[np.ndarray, np.ndarray]:
    """Event days of a homogeneous Poisson process on ``[start, start + length)`` per owner.

    Returns
    -------
    owner, day : ndarray of int64
        Owner index and integer day (``start`` plus the floored offset) of every event.
    """
    length = np.maximum(length, 0.0)
    k = rng.poisson(rate_per_day * length)
    owner = group_index(k)
    offset = np.floor(rng.random(owner.size) * length[owner]).astype(np.int64)
    return owner, start[owner].astype(np.int64) + offset


def poisson_gamma_arrivals(
    rng: np.random.Generator, window: np.ndarray, r: float, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times of a Poisson process with gamma heterogeneity (the NBD model).

    Each owner ``i`` buys at the arrivals of a Poisson process of rate
    ``lambda_i ~ Gamma(r, rate=alpha)`` on ``[0, window[i])``. Given ``K_i`` arrivals their
    times are uniform, so the count in a window of length ``T`` is negative binomial:
    ``P(K = 0) = (alpha / (alpha + T))^r`` and ``E[K] = r T / alpha``.

    Parameters
    ----------
    rng : numpy.random.Generator
    window : ndarray of float
        Length of each owner's window (same unit as ``1/alpha``); negative means empty.
    r, alpha : float
        Shape and rate of the gamma distribution of the purchase rates.

    Returns
    -------
    owner, times : ndarray
        Owner index and time (from the window's start) of every arrival, sorted by owner
        then time.
    """
    window = np.maximum(np.asarray(window, dtype=float), 0.0)
    lam = rng.gamma(r, 1.0 / alpha, size=window.size)
    owner = group_index(rng.poisson(lam * window))
    times = rng.random(owner.size) * window[owner]
    order = np.lexsort((times, owner))
    return owner[order], times[order]
