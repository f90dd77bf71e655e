"""Finite-difference check of analytic gradients (shared by the model tests)."""

from __future__ import annotations

import numpy as np


def numeric_gradient(fun, params, rel_step=1e-6):
    params = np.asarray(params, dtype=float)
    grad = np.empty_like(params)
    for i in range(len(params)):
        h = rel_step * max(abs(params[i]), 1e-3)
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (fun(up) - fun(down)) / (2 * h)
    return grad
