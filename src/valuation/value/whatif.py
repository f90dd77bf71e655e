"""What-if: revalue a fitted base under changed assumptions, without refitting (issue 16).

One engine, :class:`Revaluer`, serves the joint assumption draws of the range
(:mod:`valuation.value.joint_range`), the "what you must believe" solver
(:mod:`valuation.value.implied`) and the exploration notebook (``notebooks/05_whatif.ipynb``).
A revaluation reuses every stream's expected revenue per grid interval (cached by the
streams): only discounting, the horizon, the margin, the change-of-owner shock and an
optional retention scale change, so one revaluation of 10^5 customers takes well under a
second (``benchmarks/bench_whatif.py``).

Besides :class:`~valuation.value.assumptions.Assumptions` two levers exist only here:

``retention_scale`` (``k``)
    the churn hazard of the transferred customers multiplied by ``k`` over the whole horizon
    (proportional hazards on the base's residual retention curve ``S``): the expected revenue
    of interval ``t`` is multiplied by ``S(t)^(k - 1)`` (``S`` floored at
    :data:`SURVIVAL_FLOOR`), so the 12-month retention becomes
    ``S(1)^k``. ``k < 1`` is better retention than the data show; ``k = 0`` none lost.
``acquisitions_per_year``
    new customers a year (future acquisitions, a labelled assumption, never part of the
    value of existing customers).

A horizon between two grid edges (quarterly to ten years, yearly on) is interpolated
linearly between the values at the two edges, so the value is continuous in the horizon
(the root finder needs that).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.errors import ModelInputError
from valuation.value.acquisitions import acquisition_value
from valuation.value.assumptions import Assumptions
from valuation.value.bridge import BridgeInputs, bridge_amounts
from valuation.value.equity import STREAM_COLUMNS

__all__ = ["SURVIVAL_FLOOR", "Revaluer", "WhatIfResult"]

SURVIVAL_FLOOR = 0.01
"""Floor of the retention curve in the retention lever's factor ``S(t)^(k - 1)``: where the
Kaplan-Meier curve of the data has (almost) reached zero, the purchase model's own flows do
not fall with it, and an unfloored factor would multiply them without bound (at most
``1 / SURVIVAL_FLOOR`` per interval)."""


@dataclass(frozen=True)
class WhatIfResult:
    """One revaluation.

    Attributes
    ----------
    transferable : float
        Value of the transferable base (existing customers; the bridge's total).
    standalone : float
        What the base is worth to its current owner kept as it is: gross equity of all
        customers after the data-quality haircut, no transfer, no attrition, no costs (the
        seller's alternative to selling).
    acquisitions : float or None
        Value of future acquisitions (``None`` when off).
    amounts : dict
        The bridge's step amounts (:func:`~valuation.value.bridge.bridge_amounts`).
    """

    transferable: float
    standalone: float
    acquisitions: float | None
    amounts: dict

    @property
    def with_acquisitions(self) -> float:
        """Transferable value plus future acquisitions (when on)."""
        return self.transferable + (self.acquisitions or 0.0)


class Revaluer:
    """Revalue a fitted :class:`~valuation.value.equity.CustomerBase` under changed
    assumptions (no refit).

    Parameters
    ----------
    base : CustomerBase
        Fitted.
    inputs : BridgeInputs
        Haircut and costs of the bridge (acquisitions in it are ignored: see
        ``acquisitions``).
    assumptions : Assumptions
        The base case.
    acquisitions : AcquisitionParams, optional
        Future acquisitions (``customers_per_year``, ``cost_per_customer``, ``years``).

    Examples
    --------
    >>> what = Revaluer(result.base, inputs, assumptions)  # doctest: +SKIP
    >>> what.value(gross_margin=0.55, horizon_years=7)  # doctest: +SKIP
    """

    def __init__(self, base, inputs: BridgeInputs, assumptions: Assumptions,
                 acquisitions=None) -> None:
        self.base = base
        self.inputs = dataclasses.replace(inputs, acquisitions_value=None)
        self.assumptions = assumptions
        self.acquisitions = acquisitions
        self.transferable_mask = base.customers_["transferable"].to_numpy(bool)

    # -- the engine --------------------------------------------------------------------------
    def _survival(self, inactivity_days: int, times: np.ndarray) -> np.ndarray:
        """The residual retention curve at ``times`` relative to the transfer (``t = 0``), as
        :func:`~valuation.value.retention.attrition_ratio` takes it (cached: the Kaplan-Meier
        lookup is the slow part of a small revaluation)."""
        cache = self.__dict__.setdefault("_survival_cache", {})
        key = (int(inactivity_days), times.tobytes())
        if key not in cache:
            retention = self.base.retention(inactivity_days)
            now = max(float(retention.survival([0.0])[0]), 1e-12)
            cache[key] = np.clip(np.asarray(retention.survival(times), float) / now, 0.0, 1.0)
        return cache[key]

    def _shock(self, a: Assumptions, mid: np.ndarray) -> np.ndarray:
        """:func:`~valuation.value.retention.attrition_ratio` on the cached curve."""
        capped = np.minimum(mid, a.hazard_months / 12.0)
        shock = np.ones_like(capped)
        if a.hazard_multiplier != 1 and a.hazard_months > 0:
            s = np.maximum(self._survival(a.inactivity_days, capped), 1e-12)
            shock = s ** (a.hazard_multiplier - 1.0)
        return (1.0 - a.one_off_loss) * shock

    def _membership_revenue(self, stream, edges, disc, disc_t, a):
        """A membership stream's present values, its distinct (payments, next due, active)
        rows found once (the stream's own method finds them on every call)."""
        cache = self.__dict__.setdefault("_member_rows", {})
        if id(stream) not in cache:
            keys = stream.members_[["payments", "next_due_years", "active"]].to_numpy(float)
            rows, inverse = np.unique(keys, axis=0, return_inverse=True)
            distinct = pd.DataFrame({"payments": rows[:, 0].astype(int),
                                     "next_due_years": rows[:, 1], "active": rows[:, 2] > 0})
            cache[id(stream)] = (distinct, inverse.ravel())
        distinct, inverse = cache[id(stream)]
        plain = stream._flows(distinct, edges)
        shocked = stream._flows(distinct, edges, hazard_multiplier=a.hazard_multiplier,
                                hazard_years=a.hazard_months / 12.0, shocked=True)
        pv = (plain @ disc)[inverse]
        pv_t = (1 - a.one_off_loss) * (shocked @ disc_t)[inverse]
        return pv, pv_t

    def _stream_revenue(self, stream, edges, disc, disc_t, shock, a):
        if getattr(stream, "method", "") == "membership_sbg" and hasattr(stream, "_flows"):
            return self._membership_revenue(stream, edges, disc, disc_t, a)
        pv, pv_t = stream.customer_revenue(edges, disc, shock, a)
        if disc_t is not disc:
            pv_t = stream.customer_revenue(edges, disc_t, shock, a)[1]
        return np.asarray(pv), np.asarray(pv_t)

    def _on_grid(self, a: Assumptions, retention_scale: float) -> dict:
        """Bridge amounts for a horizon that is a grid edge."""
        base = self.base
        edges = base.edges_[base.edges_ <= a.horizon_years + 1e-9]
        mid = (edges[:-1] + edges[1:]) / 2
        disc = (1 + a.annual_discount_rate) ** (-mid)
        shock = self._shock(a, mid)
        disc_t = disc
        if retention_scale != 1.0:
            s = np.clip(self._survival(a.inactivity_days, mid), SURVIVAL_FLOOR, 1.0)
            disc_t = disc * s ** (float(retention_scale) - 1.0)
        n = len(base.customers_)
        clv, clv_t = np.zeros(n), np.zeros(n)
        for name, stream in base.streams_.items():
            if name not in STREAM_COLUMNS:
                continue
            pos = base._stream_positions(name, stream)
            ok = pos >= 0
            pv, pv_t = self._stream_revenue(stream, edges, disc, disc_t, shock, a)
            clv[pos[ok]] += a.gross_margin * pv[ok]
            clv_t[pos[ok]] += a.gross_margin * pv_t[ok]
        return bridge_amounts(clv, clv_t, self.transferable_mask, self.inputs)

    def amounts(self, assumptions: Assumptions, retention_scale: float = 1.0) -> dict:
        """Bridge step amounts under ``assumptions`` (horizon interpolated between edges)."""
        edges = self.base.edges_
        h = float(assumptions.horizon_years)
        if h > edges[-1] + 1e-9:
            raise ModelInputError(
                f"horizon {h:g} years is beyond the grid of this fit ({edges[-1]:g}); refit "
                "with a larger max_horizon_years")
        h = max(h, float(edges[1]))
        upper = float(edges[np.searchsorted(edges, h - 1e-9)])
        if abs(upper - h) <= 1e-9:
            return self._on_grid(assumptions.replace(horizon_years=upper), retention_scale)
        lower = float(edges[np.searchsorted(edges, h - 1e-9) - 1])
        lo = self._on_grid(assumptions.replace(horizon_years=lower), retention_scale)
        hi = self._on_grid(assumptions.replace(horizon_years=upper), retention_scale)
        w = (h - lower) / (upper - lower)
        return {key: (1 - w) * lo[key] + w * hi[key] for key in lo}

    def acquisition_value(self, assumptions: Assumptions,
                          customers_per_year: float | None = None) -> float | None:
        """Value of future acquisitions under ``assumptions`` (``None`` when off and no
        count is given)."""
        acq = self.acquisitions
        if acq is None and customers_per_year is None:
            return None
        if acq is None:
            from valuation.params import AcquisitionParams

            acq = AcquisitionParams(customers_per_year=max(customers_per_year, 1e-9),
                                    cost_per_customer=0.0)
        if customers_per_year is not None:
            acq = acq.model_copy(update={"customers_per_year": max(customers_per_year, 0.0)})
        if acq.customers_per_year <= 0:
            return 0.0
        clv_new = self.base.new_customer_value(assumptions)
        return acquisition_value(clv_new, acq, assumptions).value

    def revalue(self, assumptions: Assumptions | None = None, *, retention_scale: float = 1.0,
                acquisitions_per_year: float | None = None, **changes) -> WhatIfResult:
        """Revalue under the base case changed by ``assumptions`` / ``changes``.

        Parameters
        ----------
        assumptions : Assumptions, optional
            Default: the base case.
        retention_scale : float
            Churn hazard multiplier over the whole horizon (see the module doc), >= 0.
        acquisitions_per_year : float, optional
            Overrides ``customers_per_year`` of the acquisitions (turns them on).
        **changes
            Fields of :class:`Assumptions` to change (e.g. ``gross_margin=0.5``).
        """
        if retention_scale < 0:
            raise ModelInputError(f"retention_scale must be >= 0, not {retention_scale!r}")
        a = (assumptions or self.assumptions).replace(**changes) if changes else \
            (assumptions or self.assumptions)
        amounts = self.amounts(a, retention_scale)
        keep = 1.0 - self.inputs.haircut
        return WhatIfResult(transferable=float(amounts["final"]),
                            standalone=float(keep * amounts["gross_equity"]),
                            acquisitions=self.acquisition_value(a, acquisitions_per_year),
                            amounts=amounts)

    def value(self, assumptions: Assumptions | None = None, **changes) -> float:
        """The transferable value only (see :meth:`revalue` for the arguments)."""
        return self.revalue(assumptions, **changes).transferable

    def retention_12m(self, assumptions: Assumptions | None = None,
                      retention_scale: float = 1.0) -> dict[str, float]:
        """12-month retention: the data's (current owner), after the change of owner under
        ``assumptions``, and with ``retention_scale`` on top."""
        a = assumptions or self.assumptions
        one = np.array([1.0])
        s12 = float(np.clip(self._survival(a.inactivity_days, one)[0], 1e-12, 1.0))
        shock = float(self._shock(a, one)[0])
        return {"observed": s12, "after_transfer": s12 * shock,
                "scaled_after_transfer": s12 ** retention_scale * shock}
