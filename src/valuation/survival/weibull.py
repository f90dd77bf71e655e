"""Weibull closed forms (expected remaining lifetime) used by the AFT extrapolation."""

from __future__ import annotations

import numpy as np
from scipy import special


def _scaled_upper_gamma(a: float, z: np.ndarray) -> np.ndarray:
    """``exp(z) * Gamma(a, z)`` (upper incomplete gamma), stable for large ``z``."""
    z = np.asarray(z, dtype="float64")
    out = np.empty_like(z)
    small = z < 500.0
    out[small] = np.exp(z[small]) * special.gammaincc(a, z[small]) * special.gamma(a)
    zl = z[~small]
    # asymptotic series: z^(a-1) (1 + (a-1)/z + (a-1)(a-2)/z^2 + ...)
    term = np.ones_like(zl)
    total = np.ones_like(zl)
    for k in range(1, 6):
        term = term * (a - k) / zl
        total = total + term
    out[~small] = zl ** (a - 1.0) * total
    return out


def weibull_remaining_days(
    scale: np.ndarray, shape: float, age: np.ndarray, horizon: float | None = None
) -> np.ndarray:
    """Expected remaining lifetime ``E[min(T - a, h) | T > a]`` of a Weibull lifetime.

    ``S(t) = exp(-(t / scale) ** shape)``; closed form with the incomplete gamma function.

    Parameters
    ----------
    scale : array
        Weibull scale per customer (days).
    shape : float
        Weibull shape.
    age : array
        Current age (days survived).
    horizon : float, optional
        Cap on the remaining lifetime (days); ``None`` for no cap.
    """
    scale = np.asarray(scale, dtype="float64")
    age = np.asarray(age, dtype="float64")
    a = 1.0 / shape
    z0 = (age / scale) ** shape
    full = scale / shape * _scaled_upper_gamma(a, z0)
    if horizon is None:
        return full
    z1 = ((age + horizon) / scale) ** shape
    tail = scale / shape * _scaled_upper_gamma(a, z1) * np.exp(z0 - z1)
    return full - tail

