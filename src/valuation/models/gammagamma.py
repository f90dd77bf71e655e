"""Gamma-Gamma model of the spend per transaction."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from valuation.errors import ModelError, ModelInputError
from valuation.models._mle import (
    wdot,
    FittedMixin,
    as_array,
    check_weights,
    group_rows,
    mask_labels,
    maximize_likelihood,
    penalized_log_space,
    wrap_like,
)


def frequency_levels(frequency: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct transaction counts and the total weight of the rows at each.

    The Gamma-Gamma terms that depend on x alone (gamma functions of p x and p x + q) are
    then evaluated once per distinct count, not once per customer: there are a few dozen
    counts among 10^6 customers, and the trigamma function is the costly part of a fit.
    """
    levels, inverse = np.unique(frequency, return_inverse=True)
    return levels, np.bincount(inverse, weights=weights, minlength=len(levels))


def gammagamma_derivatives(
    params: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    weights: np.ndarray,
    *,
    hessian: bool = True,
    levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Weighted log-likelihood of the mean spend, gradient and Hessian w.r.t. (p, q, gamma).

    The density of the mean spend z of x transactions (Fader & Hardie 2013 note, eq. 4):
    ``Gamma(px+q)/(Gamma(px)Gamma(q)) gamma^q z^(px-1) x^(px) / (gamma + x z)^(px+q)``.
    Rows must have x > 0 and z > 0. ``levels`` is :func:`frequency_levels` of the same
    rows (computed here when not given; pass it when evaluating the same rows repeatedly).
    """
    p, q, gam = (float(v) for v in params)
    x, z = frequency, monetary
    level, level_weight = frequency_levels(x, weights) if levels is None else levels
    total = float(level_weight.sum())
    # terms of x alone, once per distinct x, weighted by the rows at it
    pl = p * level
    psi_plq, psi_pl = digamma(pl + q), digamma(pl)
    px = p * x
    gxz = gam + x * z
    log_gxz = np.log(gxz)
    log_z, log_x = np.log(z), np.log(x)
    ll = (wdot(level_weight, gammaln(pl + q) - gammaln(pl)) + total * (q * np.log(gam) - gammaln(q))
          + wdot(weights, (px - 1) * log_z + px * log_x - (px + q) * log_gxz))
    grad = np.array([
        wdot(level_weight * level, psi_plq - psi_pl) + wdot(weights, x * (log_z + log_x - log_gxz)),
        wdot(level_weight, psi_plq) + total * (np.log(gam) - digamma(q)) - wdot(weights, log_gxz),
        total * q / gam - wdot(weights, (px + q) / gxz),
    ])
    if not hessian:
        return float(ll), grad, None
    tri_plq = polygamma(1, pl + q)
    inv = 1.0 / gxz
    h = np.empty((3, 3))
    h[0, 0] = wdot(level_weight * level**2, tri_plq - polygamma(1, pl))
    h[0, 1] = wdot(level_weight * level, tri_plq)
    h[0, 2] = -wdot(weights, x * inv)
    h[1, 1] = wdot(level_weight, tri_plq) - total * polygamma(1, q)
    h[1, 2] = total / gam - wdot(weights, inv)
    h[2, 2] = -total * q / gam**2 + wdot(weights, (px + q) * inv**2)
    h[1, 0], h[2, 0], h[2, 1] = h[0, 1], h[0, 2], h[1, 2]
    return float(ll), grad, h


def gammagamma_loglik(
    params: np.ndarray, frequency: np.ndarray, monetary: np.ndarray, weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """Weighted log-likelihood of the mean spend and its gradient w.r.t. (p, q, gamma).

    See :func:`gammagamma_derivatives` (this is it without the Hessian).
    """
    ll, grad, _ = gammagamma_derivatives(params, frequency, monetary, weights, hessian=False)
    return ll, grad


class GammaGamma(FittedMixin):
    """Gamma-Gamma spend model: mean spend per transaction, independent of purchasing.

    Implements Colombo, R. & Jiang, W. (1999), "A stochastic RFM model", *Journal of
    Interactive Marketing* 13(3), 2-12, in the form of Fader, P. S. & Hardie, B. G. S.
    (2013), "The Gamma-Gamma model of monetary value" (note). Spend per transaction is
    Gamma(p, nu) with nu ~ Gamma(q, gamma); the mean spend exists only for q > 1.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty coefficient on (p, q, gamma) as in ``lifetimes``.
    initial_params : sequence of 3 floats, optional
    on_q_le_1 : {"raise", "warn"}, default "raise"
        What to do when the fitted q <= 1 (mean spend infinite): raise ModelError, or warn
        and refuse only ``conditional_expected_spend``.

    Attributes
    ----------
    params_ : Series (p, q, gamma); standard_errors_; log_likelihood_ (density of the
    mean spend); hessian_; covariance_ (DataFrame); fit_notes_ (list of str);
    spend_scale_ (factor applied to spend for the optimiser)
    """

    _param_names = ("p", "q", "gamma")

    def __init__(
        self,
        penalizer: float = 0.0,
        initial_params: object | None = None,
        on_q_le_1: str = "raise",
    ) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.on_q_le_1 = on_q_le_1

    def _spend_rows(
        self, frequency: object, monetary_value: object, weights: object
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validated (x, z, w) of the customers with repeat purchases."""
        x, index = as_array(frequency, "frequency")
        z, _ = as_array(monetary_value, "monetary_value")
        if len(x) != len(z):
            raise ModelInputError("frequency and monetary_value must have the same length.")
        w = check_weights(weights, len(x))
        problems = []
        bad = ~np.isfinite(x) | ~np.isfinite(z)
        if bad.any():
            problems.append(f"missing frequency or monetary value: {mask_labels(index[bad])}")
        bad = np.isfinite(x) & ((x < 0) | (x != np.round(x)))
        if bad.any():
            problems.append(f"frequency not a count >= 0: {mask_labels(index[bad])}")
        bad = np.isfinite(z) & (x > 0) & (z <= 0)
        if bad.any():
            problems.append(
                "frequency > 0 but monetary value <= 0 (mean repeat spend must be positive): "
                + mask_labels(index[bad])
            )
        if problems:
            raise ModelInputError("Invalid spend inputs:\n  - " + "\n  - ".join(problems))
        keep = x > 0
        return x[keep], z[keep], w[keep]

    def loglik_derivatives(
        self,
        frequency: object,
        monetary_value: object,
        weights: object = None,
        params: object = None,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian in ``theta = log(p, q, gamma)``.

        Customers with frequency 0 are skipped (as in :meth:`fit`). The log-likelihood is
        the one :meth:`fit` maximises (minus its L2 penalty when ``penalizer > 0``, on gamma
        rescaled by ``spend_scale_``); ``params`` defaults to ``params_``. For a one-step
        Newton bootstrap: ``theta* = log(params_) - solve(H, g)``.
        """
        x, z, w = self._spend_rows(frequency, monetary_value, weights)
        values = self._check_fitted() if params is None else np.asarray(params, float)
        scale = getattr(self, "spend_scale_", None) or (1.0 / float(np.mean(z)) if len(z) else 1.0)
        ll, grad, hess = gammagamma_derivatives(values, x, z, w)
        return penalized_log_space(
            ll, grad, hess, values, self.penalizer, float(w.sum()), np.array([1.0, 1.0, scale])
        )

    def fit(
        self,
        frequency: object,
        monetary_value: object,
        weights: object = None,
        *,
        compute_se: bool = True,
    ) -> GammaGamma:
        """Fit on customers with frequency > 0 (mean REPEAT spend); others are skipped.

        ``compute_se=False`` skips the standard errors (NaN), e.g. for bootstrap refits.

        Raises
        ------
        ModelInputError
            Negative or missing values, or a zero/negative monetary value with frequency > 0.
        ModelError
            When q <= 1 and ``on_q_le_1 == "raise"``.
        """
        xs, zs, ws = self._spend_rows(frequency, monetary_value, weights)
        if len(xs) < 2:
            raise ModelError(
                "Gamma-Gamma needs customers with repeat purchases (frequency > 0); "
                f"only {len(xs)} found."
            )
        unique, counts = group_rows({"x": xs, "z": zs}, ws)
        ux, uz = unique["x"].to_numpy(float), unique["z"].to_numpy(float)
        scale = 1.0 / float(np.mean(uz))
        start = (
            np.array([1.0, 1.0, 1.0])
            if self.initial_params is None
            else np.asarray(self.initial_params, float) * np.array([1.0, 1.0, scale])
        )
        levels = frequency_levels(ux, counts)
        scaled = uz * scale
        result = maximize_likelihood(
            lambda prm: gammagamma_derivatives(prm, ux, scaled, counts, levels=levels),
            start,
            self._param_names,
            total_weight=float(counts.sum()),
            penalizer=self.penalizer,
            model_name="Gamma-Gamma",
            context=f"{counts.sum():.0f} customers with repeat purchases.",
            compute_se=compute_se,
        )
        self._store(result, unscale=np.array([1.0, 1.0, 1.0 / scale]))
        params = self.params_.to_numpy()
        self.log_likelihood_, _ = gammagamma_loglik(params, ux, uz, counts)
        self.spend_scale_ = scale
        self.n_customers_ = float(counts.sum())
        if params[1] <= 1:
            message = (
                f"Gamma-Gamma: fitted q = {params[1]:.3f} <= 1, so the mean spend per "
                "transaction does not exist (infinite); the spend data are too heavy-tailed. "
                "Check for outlier orders (bulk or corporate purchases), cap them, or use the "
                "observed mean spend instead."
            )
            if self.on_q_le_1 == "warn":
                warnings.warn(message, RuntimeWarning, stacklevel=2)
            else:
                raise ModelError(message)
        return self

    def mean_spend(self) -> float:
        """Population mean spend per transaction p*gamma/(q-1) (refused when q <= 1)."""
        p, q, gam = self._check_fitted()
        self._require_q()
        return p * gam / (q - 1)

    def _require_q(self) -> None:
        if float(self.params_["q"]) <= 1:
            raise ModelError(
                "Gamma-Gamma q <= 1: the expected spend does not exist; refit on capped "
                "spend data or use the observed mean."
            )

    def conditional_expected_spend(self, frequency: object, monetary_value: object) -> object:
        """E[spend | x, mean z] = (p gamma + p x z) / (p x + q - 1); population mean when x = 0.

        Defined for a mean repeat spend of 0 too (free items, as in CDNOW): the posterior
        mean is then ``p gamma / (p x + q - 1)``, shrunk below the population mean. (The
        model cannot be *fitted* on such customers, whose gamma density is 0 at z = 0:
        :meth:`fit` refuses them by name; fit on the customers with positive spend.)
        """
        p, q, gam = self._check_fitted()
        self._require_q()
        x, index = as_array(frequency, "frequency")
        z, _ = as_array(monetary_value, "monetary_value")
        bad = ~np.isfinite(x) | ~np.isfinite(z) | (x < 0) | (z < 0)
        if bad.any():
            raise ModelInputError(
                "Invalid frequency / monetary value (missing or negative) for: "
                f"{mask_labels(index[bad])}. Expected frequency >= 0 and a mean repeat spend "
                ">= 0.")
        z = np.where(x > 0, z, 0.0)
        value = (p * gam + p * x * z) / (p * x + q - 1)
        return wrap_like(value, index, frequency, "expected_spend")
