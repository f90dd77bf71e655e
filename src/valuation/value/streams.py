"""Revenue streams of the existing base, each able to give per-customer expected revenue per
future period and to replicate itself for the uncertainty range.

Streams (all in :mod:`valuation.value`): :class:`PurchaseStream` (BG/NBD or Pareto/NBD with
Gamma-Gamma spend), :class:`MembershipStream` (sBG renewals times the fee),
:class:`~valuation.value.fallback.EmpiricalRateStream` (the simple fallback when the purchase
models cannot be fitted) and :class:`~valuation.value.instalments.InstalmentStream`
(instalments of running payment plans). Every fitted stream offers the same small protocol:

``tokens_``
    the customers it covers (customer tokens);
``customer_revenue(edges, disc, shock, assumptions) -> (pv, pv_transferred)``
    present value of each customer's expected revenue over the grid ``edges`` (years) with
    per-interval discount weights ``disc`` (zero beyond the horizon), without and with the
    change-of-owner shock (``shock``: the attrition ratio per interval, one-off loss
    included);
``replicate(weights, rng) -> (bootstrap_stream, parameter_stream, how)``
    a copy refitted on a resample (``weights``: bootstrap count per customer of ``tokens_``)
    and a copy with parameters drawn from their sampling law; ``how`` says how the refit was
    done (``newton``: one Newton step, :mod:`valuation.value.newton`; ``refit``: a full
    refit; ``exact``: closed-form re-estimation);
``new_customer_revenue(edges, disc) -> float``
    present value of the revenue of one new customer acquired at time 0 (for the value of
    future acquisitions);
``method``, ``label``
    a short code and a readable name of the method.

All work on a time grid in years (:func:`time_grid`): quarterly to ten years, yearly to
fifty; discounting, the horizon, the margin and the change-of-owner shock are vector
products, so sensitivities never refit a model.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pandas as pd

from valuation.errors import ModelError, ModelInputError
from valuation.units import DAYS_PER_YEAR, WEEKS_PER_YEAR
from valuation.value.assumptions import UNLIMITED_HORIZON_YEARS
from valuation.value.draws import draw_parameters
from valuation.value.newton import newton_params, with_params

# model time units per year (weeks: 365.25 / 7 = 52.18): one definition, valuation.units


def time_grid(max_years: float, extra_points: tuple[float, ...] = ()) -> np.ndarray:
    """Grid edges in years from 0 to ``max_years``: quarterly to 10, yearly on.

    ``extra_points`` (e.g. horizons of a sensitivity, the end of the hazard window) are added
    so every horizon falls exactly on an edge.
    """
    max_years = float(min(max_years, UNLIMITED_HORIZON_YEARS))
    edges = np.concatenate([
        np.arange(0, 10, 0.25), np.arange(10, UNLIMITED_HORIZON_YEARS + 1, 1.0)
    ])
    edges = np.concatenate([edges, np.asarray(extra_points, float), [max_years]])
    edges = np.unique(np.round(edges[(edges >= 0) & (edges <= max_years)], 10))
    return edges


def interval_of(edges: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Index of the grid interval ``[edges[k], edges[k+1])`` holding each time (clipped)."""
    return np.clip(np.searchsorted(edges, years, side="right") - 1, 0, len(edges) - 2)


def matches_lower(column: pd.Series, value: str) -> np.ndarray:
    """Rows whose text, lower-cased, equals ``value`` (missing: False), as a boolean array.

    Lower-cases the distinct values only, then matches rows with ``isin``: no lower-cased copy
    of a column of millions of rows is built.
    """
    distinct = pd.unique(column.dropna())
    hits = [item for item in distinct if str(item).lower() == value]
    return column.isin(hits).to_numpy(bool)


def _accepts(method, name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _accepts_weights(method) -> bool:
    return _accepts(method, "weights")


def _fit_options(model, compute_se: bool) -> dict:
    return {} if compute_se or not _accepts(model.fit, "compute_se") else {"compute_se": False}


class PurchaseStream:
    """Repeat purchases (BG/NBD or Pareto/NBD) times expected spend (Gamma-Gamma).

    Parameters
    ----------
    purchase_model : estimator
        Unfitted, with ``fit(frequency, recency, T, weights=None)``, ``p_alive`` and
        ``conditional_expected_purchases(t, frequency, recency, T)``; ideally also
        ``loglik_derivatives`` (one-step Newton bootstrap; else full refits).
    spend_model : estimator
        Unfitted, with ``fit(frequency, monetary_value[, weights])`` and
        ``conditional_expected_spend(frequency, monetary_value)``.
    periods_per_year : float
        Model time units in a year (52.18 for weeks, :data:`valuation.units.WEEKS_PER_YEAR`).
    """

    method = "purchase_model"

    def __init__(self, purchase_model, spend_model, periods_per_year: float = WEEKS_PER_YEAR) -> None:
        self.purchase_model = purchase_model
        self.spend_model = spend_model
        self.periods_per_year = periods_per_year

    @property
    def label(self) -> str:
        names = (type(self.purchase_model).__name__, type(self.spend_model).__name__)
        return f"{names[0]} purchases x {names[1]} spend"

    # -- fitting -------------------------------------------------------------------------
    def fit(self, rfm: pd.DataFrame, weights: np.ndarray | None = None, *,
            warm_start: "PurchaseStream | None" = None,
            compute_se: bool = True) -> "PurchaseStream":
        """Fit both models on an RFM summary (``frequency, recency, T, monetary_value``).

        Parameters
        ----------
        rfm : DataFrame
            One row per customer (index: customer token).
        weights : ndarray, optional
            Non-negative integer weight per row (bootstrap counts).
        warm_start : PurchaseStream, optional
            A fitted stream whose estimates start the optimisers (bootstrap refits).
        compute_se : bool
            False skips the models' standard errors (refits inside the bootstrap).
        """
        missing = {"frequency", "recency", "T", "monetary_value"} - set(rfm.columns)
        if missing:
            raise ModelInputError(f"RFM summary lacks column(s) {sorted(missing)}")
        self.rfm_ = rfm
        self.tokens_ = rfm.index
        keys = rfm[["frequency", "recency", "T"]].to_numpy(float)
        self.rows_, self.inverse_ = np.unique(keys, axis=0, return_inverse=True)
        self.inverse_ = self.inverse_.ravel()
        self.xt_, self.xt_inverse_ = np.unique(keys[:, [0, 2]], axis=0, return_inverse=True)
        self.xt_inverse_ = self.xt_inverse_.ravel()
        freq = rfm["frequency"].to_numpy(float)
        money = np.nan_to_num(np.maximum(np.where(
            freq > 0, rfm["monetary_value"].to_numpy(float), 0.0), 0.0))
        # unique (x, mean spend) rows: every customer (predictions), repeat buyers (fits)
        self.spend_rows_, self.spend_inverse_ = np.unique(
            np.column_stack([freq, money]), axis=0, return_inverse=True)
        self.spend_inverse_ = self.spend_inverse_.ravel()
        self.repeat_ = (freq > 0) & (money > 0)
        w = np.ones(len(rfm)) if weights is None else np.asarray(weights, float)
        self.purchase_model_ = copy.deepcopy(self.purchase_model)
        if warm_start is not None and hasattr(self.purchase_model_, "initial_params"):
            self.purchase_model_.initial_params = np.asarray(
                warm_start.purchase_model_.params_, float)
        row_w = np.bincount(self.inverse_, weights=w, minlength=len(self.rows_))
        keep = row_w > 0
        self.purchase_model_.fit(
            self.rows_[keep, 0], self.rows_[keep, 1], self.rows_[keep, 2], weights=row_w[keep],
            **_fit_options(self.purchase_model_, compute_se))
        self.spend_model_ = self._fit_spend(w, warm_start, compute_se)
        self._cache = {}
        return self

    def _spend_fit_rows(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unique (x, spend) rows of the repeat buyers with their summed weights (> 0)."""
        rows_w = np.bincount(self.spend_inverse_[self.repeat_], weights=w[self.repeat_],
                             minlength=len(self.spend_rows_))
        keep = (rows_w > 0) & (self.spend_rows_[:, 0] > 0) & (self.spend_rows_[:, 1] > 0)
        return self.spend_rows_[keep, 0], self.spend_rows_[keep, 1], rows_w[keep]

    def _fit_spend(self, w: np.ndarray, warm_start: "PurchaseStream | None" = None,
                   compute_se: bool = True):
        model = copy.deepcopy(self.spend_model)
        if warm_start is not None and hasattr(model, "initial_params"):
            model.initial_params = np.asarray(warm_start.spend_model_.params_, float)
        freq, money, wr = self._spend_fit_rows(w)
        if _accepts_weights(model.fit):
            model.fit(freq, money, weights=wr, **_fit_options(model, compute_se))
        else:  # repeat rows by their bootstrap count
            reps = np.rint(wr).astype(int)
            model.fit(np.repeat(freq, reps), np.repeat(money, reps))
        return model

    def with_models(self, purchase_model, spend_model) -> "PurchaseStream":
        """A copy using already fitted models (e.g. parameters drawn from their sampling law)."""
        other = copy.copy(self)
        other.purchase_model_ = purchase_model
        other.spend_model_ = spend_model
        other._cache = {}
        return other

    # -- the bootstrap -----------------------------------------------------------------
    def _purchase_replicate(self, w: np.ndarray):
        model = self.purchase_model_
        row_w = np.bincount(self.inverse_, weights=w, minlength=len(self.rows_))
        keep = row_w > 0
        rows = self.rows_[keep]
        if hasattr(model, "loglik_derivatives"):
            values = newton_params(model, lambda m: m.loglik_derivatives(
                rows[:, 0], rows[:, 1], rows[:, 2], weights=row_w[keep]))
            if values is not None:
                return with_params(model, values), "newton"
        refit = copy.deepcopy(self.purchase_model)
        if hasattr(refit, "initial_params"):
            refit.initial_params = np.asarray(model.params_, float)
        refit.fit(rows[:, 0], rows[:, 1], rows[:, 2], weights=row_w[keep],
                  **_fit_options(refit, False))
        return refit, "refit"

    def _spend_replicate(self, w: np.ndarray):
        model = self.spend_model_
        if hasattr(model, "loglik_derivatives"):
            freq, money, wr = self._spend_fit_rows(w)
            values = newton_params(model, lambda m: m.loglik_derivatives(freq, money,
                                                                         weights=wr))
            if values is not None:
                return with_params(model, values), "newton"
        return self._fit_spend(w, self, compute_se=False), "refit"

    def replicate(self, weights: np.ndarray, rng: np.random.Generator):
        """Bootstrap and parameter-draw copies (see the module's protocol).

        The bootstrap copy takes one Newton step from the fitted parameters on the
        reweighted likelihood of the grouped unique rows (:mod:`valuation.value.newton`),
        refitting fully only when the step is refused.
        """
        w = np.asarray(weights, float)
        purchase, how_p = self._purchase_replicate(w)
        spend, how_s = self._spend_replicate(w)
        boot = self.with_models(purchase, spend)
        param = self.with_models(draw_parameters(self.purchase_model_, rng),
                                 draw_parameters(self.spend_model_, rng))
        return boot, param, ("newton" if how_p == how_s == "newton" else "refit")

    # -- prediction ----------------------------------------------------------------------
    def expected_spend(self) -> np.ndarray:
        """Expected spend per transaction of every customer (population mean when x = 0)."""
        if "spend" not in self._cache:
            rows = self.spend_rows_
            spend = np.asarray(self.spend_model_.conditional_expected_spend(
                rows[:, 0], rows[:, 1]), float)
            self._cache["spend"] = spend[self.spend_inverse_]
        return self._cache["spend"]

    def alive(self) -> np.ndarray:
        """P(alive) of every customer (``rfm_`` order)."""
        if "alive" not in self._cache:
            rows = self.rows_
            alive = np.asarray(self.purchase_model_.p_alive(rows[:, 0], rows[:, 1], rows[:, 2]),
                               float)
            self._cache["alive"] = alive[self.inverse_]
        return self._cache["alive"]

    def expected_transactions(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected transactions in each grid interval, per unique (x, T) pair, for a customer
        certainly alive (multiply by :meth:`alive` to get each customer's).

        Both purchase models factor as ``E[X(t) | x, t_x, T] = P(alive | x, t_x, T) g(t; x, T)``
        (``t_x`` enters only through P(alive)), so ``g`` is computed once per (x, T) pair
        from the public ``conditional_expected_purchases`` and ``p_alive`` with ``t_x = T``
        (``t_x = 0`` when x = 0), in one vectorised call over pairs x grid times (the
        model's own ``_conditional_core`` when it has one, as BetaGeo does, which skips the
        P(alive) factor). A result is cached; a prefix of the cached grid (a shorter
        horizon) is a slice of it.

        Returns
        -------
        ndarray of shape (n unique (x, T) pairs, len(edges_years) - 1)
        """
        edges = np.asarray(edges_years, float)
        cached = self._cache.get("tx")
        if cached is not None:
            cached_edges, cached_tx = cached
            if len(edges) <= len(cached_edges) and np.array_equal(cached_edges[:len(edges)], edges):
                return cached_tx[:, :len(edges) - 1]
        x, big_t = self.xt_[:, 0], self.xt_[:, 1]
        model = self.purchase_model_
        times = edges[1:] * self.periods_per_year  # E[X(0)] = 0: the first edge is free
        n, k = len(x), len(times)
        core = getattr(model, "_conditional_core", None)
        if callable(core):  # BetaGeo: g(t; x, T) itself, broadcast over pairs x times
            cumulative = np.asarray(core(times[None, :], x[:, None], big_t[:, None]), float)
        else:  # any model: the public conditional expectation over the flattened grid
            recency = np.where(x > 0, big_t, 0.0)  # no repeat purchase: recency is 0
            alive_at_t = np.asarray(model.p_alive(x, recency, big_t), float)
            cumulative = np.asarray(model.conditional_expected_purchases(
                np.tile(times, n), np.repeat(x, k), np.repeat(recency, k),
                np.repeat(big_t, k)), float).reshape(n, k)
            cumulative /= np.maximum(alive_at_t, 1e-300)[:, None]
        if not np.all(np.isfinite(cumulative)):
            raise ModelError("expected purchases are not finite for some customers")
        tx = np.maximum(np.diff(cumulative, axis=1, prepend=0.0), 0.0)
        self._cache["tx"] = (edges, tx)
        return tx

    def revenue_flows(self, edges_years: np.ndarray) -> np.ndarray:
        """Expected revenue per customer and grid interval, shape (n customers, intervals)."""
        per_pair = self.expected_transactions(edges_years)
        return per_pair[self.xt_inverse_] * (self.alive() * self.expected_spend())[:, None]

    def customer_revenue(self, edges: np.ndarray, disc: np.ndarray, shock: np.ndarray,
                         assumptions=None) -> tuple[np.ndarray, np.ndarray]:
        """Present value of each customer's expected revenue, without and with the shock."""
        tx = self.expected_transactions(edges)
        factor = self.alive() * self.expected_spend()
        inv = self.xt_inverse_
        # einsum, not BLAS: see valuation.models._mle.wdot (thread start-up on a busy machine)
        pv = np.einsum("ij,j->i", tx, disc)
        pv_s = np.einsum("ij,j->i", tx, disc * shock)
        return factor * pv[inv], factor * pv_s[inv]

    def new_customer_revenue(self, edges: np.ndarray, disc: np.ndarray) -> float:
        """Present value of a new customer's revenue: the first purchase at 0 plus the model's
        expected repeat purchases of a new customer, times the population mean spend."""
        cumulative = np.asarray(self.purchase_model_.expected_purchases(
            np.asarray(edges, float) * self.periods_per_year), float)
        repeats = np.maximum(np.diff(cumulative), 0.0) @ disc
        mean_spend = float(np.asarray(self.spend_model_.conditional_expected_spend(
            np.zeros(1), np.zeros(1)), float)[0])
        return mean_spend * (1.0 + float(repeats))


class MembershipStream:
    """Annual memberships: shifted-beta-geometric renewals times the membership fee.

    A member who has paid ``n`` times (``n - 1`` renewals) pays again ``j + 1`` years on with
    probability ``S(n + j) / S(n - 1)`` (``S``: sBG survival), the ``j``-th future payment
    falling due ``next_due + j`` years after the valuation date. The model is fitted on the
    renewal record of every member: a member observed for ``o`` renewal decisions who made
    ``n - 1`` renewals churned at ``n`` if ``n - 1 < o``, else is right-censored at ``n - 1``.

    Parameters
    ----------
    survival_model : estimator
        Unfitted, with ``fit(survivors)`` (or the per-member form, see :meth:`fit`) and
        ``survival(t)``.
    fee : float
        Annual membership fee (CNY, net revenue).
    """

    method = "membership_sbg"

    def __init__(self, survival_model, fee: float) -> None:
        self.survival_model = survival_model
        self.fee = fee

    @property
    def label(self) -> str:
        return f"memberships: {type(self.survival_model).__name__} renewals x fee {self.fee:,.0f}"

    def fit(self, members: pd.DataFrame, weights: np.ndarray | None = None, *,
            warm_start: "MembershipStream | None" = None) -> "MembershipStream":
        """Fit on ``members`` (index token; ``payments``, ``observed_decisions``,
        ``next_due_years``, ``active``).

        Parameters
        ----------
        members : DataFrame
            One row per member, from :func:`membership_table`.
        weights : ndarray, optional
            Bootstrap count per member.
        """
        self.members_ = members
        self.tokens_ = members.index
        w = np.ones(len(members)) if weights is None else np.asarray(weights, float)
        self.survivors_ = survivors_curve(members, w)
        model = copy.deepcopy(self.survival_model)
        if warm_start is not None and hasattr(model, "initial_params"):
            model.initial_params = np.asarray(warm_start.survival_model_.params_, float)
        if hasattr(model, "fit_members"):  # each member censored where its record ends
            model.fit_members(members["payments"].to_numpy(int) - 1,
                              members["observed_decisions"].to_numpy(int), w)
        else:
            model.fit(self.survivors_)
        self.survival_model_ = model
        return self

    def with_model(self, survival_model) -> "MembershipStream":
        other = copy.copy(self)
        other.survival_model_ = survival_model
        return other

    def replicate(self, weights: np.ndarray, rng: np.random.Generator):
        """Bootstrap copy (the sBG refitted on the reweighted survivor curve: a two-parameter
        fit, cheap) and a parameter-draw copy (see the module's protocol)."""
        boot = copy.copy(self).fit(self.members_, np.asarray(weights, float), warm_start=self)
        return boot, self.with_model(draw_parameters(self.survival_model_, rng)), "refit"

    def customer_revenue(self, edges: np.ndarray, disc: np.ndarray, shock: np.ndarray,
                         assumptions) -> tuple[np.ndarray, np.ndarray]:
        """Present value of each member's fees, without and with the change-of-owner shock
        (the hazard multiplier acting on the member's own sBG curve, then the one-off loss;
        ``shock`` is not used)."""
        # the flows depend on (payments, next due, active) only: computed once per distinct
        # row, not as a dense (members x intervals) array per member
        keys = self.members_[["payments", "next_due_years", "active"]].to_numpy(float)
        rows, inverse = np.unique(keys, axis=0, return_inverse=True)
        distinct = pd.DataFrame({"payments": rows[:, 0].astype(int),
                                 "next_due_years": rows[:, 1], "active": rows[:, 2] > 0})
        base = self._flows(distinct, edges) @ disc
        shocked = self._flows(
            distinct, edges, hazard_multiplier=assumptions.hazard_multiplier,
            hazard_years=assumptions.hazard_months / 12.0, shocked=True) @ disc
        inverse = inverse.ravel()
        return base[inverse], (1 - assumptions.one_off_loss) * shocked[inverse]

    def new_customer_revenue(self, edges: np.ndarray, disc: np.ndarray) -> float:
        """Present value of a new member's fees: the first at 0, renewal ``j`` at year ``j``
        with the sBG survival ``S(j)``, within the grid."""
        horizon = float(edges[-1])
        due = np.arange(0, int(np.ceil(horizon)) + 1, dtype=float)
        due = due[due < horizon]
        survival = np.asarray(self.survival_model_.survival(due.astype(int)), float)
        weights = np.where(due == 0, 1.0, disc[interval_of(edges, due)])
        return float(self.fee * survival @ weights)

    def payment_probabilities(self, n_payments: int) -> np.ndarray:
        """``P[i, j]``: probability member i makes future payment j (j = 0..n_payments-1)."""
        return self._payment_probabilities(self.members_["payments"].to_numpy(int), n_payments)

    def _payment_probabilities(self, n: np.ndarray, n_payments: int) -> np.ndarray:
        top = int(n.max()) + n_payments + 1
        s = np.asarray(self.survival_model_.survival(np.arange(top)), float)
        j = np.arange(n_payments)
        alive_now = np.maximum(s[n - 1], 1e-300)
        return s[n[:, None] + j[None, :]] / alive_now[:, None]

    def revenue_flows(self, edges_years: np.ndarray, *, hazard_multiplier: float = 1.0,
                      hazard_years: float = 0.0, shocked: bool = False) -> np.ndarray:
        """Expected fee revenue per member and grid interval (active members only).

        With ``shocked=True`` the change-of-owner hazard multiplier acts on each member's own
        sBG curve: a payment due after ``j`` decisions is made with probability
        ``P_j * P_{j*}^(m - 1)``, ``j*`` the last decision inside the hazard window (the
        one-off loss is applied by the caller).
        """
        return self._flows(self.members_, edges_years, hazard_multiplier=hazard_multiplier,
                           hazard_years=hazard_years, shocked=shocked)

    def _flows(self, members: pd.DataFrame, edges_years: np.ndarray, *,
               hazard_multiplier: float = 1.0, hazard_years: float = 0.0,
               shocked: bool = False) -> np.ndarray:
        """:meth:`revenue_flows` of the rows of ``members`` (``payments``, ``next_due_years``,
        ``active``)."""
        horizon = float(edges_years[-1])
        n_payments = int(np.ceil(horizon)) + 1
        prob = self._payment_probabilities(members["payments"].to_numpy(int), n_payments)
        due = members["next_due_years"].to_numpy(float)[:, None] + np.arange(n_payments)[None, :]
        if shocked and hazard_multiplier != 1.0 and hazard_years > 0:
            inside = due <= hazard_years
            last_inside = np.where(inside.any(axis=1), inside.sum(axis=1) - 1, -1)
            j = np.arange(n_payments)[None, :]
            capped = np.minimum(j, last_inside[:, None])
            p_cap = np.take_along_axis(prob, np.maximum(capped, 0), axis=1)
            shock = np.where(capped >= 0, p_cap ** (hazard_multiplier - 1.0), 1.0)
            prob = prob * shock
        active = members["active"].to_numpy(bool)[:, None]
        amount = np.where(active & (due < horizon), prob * self.fee, 0.0)
        interval = interval_of(edges_years, due)
        flows = np.zeros((len(members), len(edges_years) - 1))
        rows = np.repeat(np.arange(len(members)), n_payments)
        np.add.at(flows, (rows, interval.ravel()), amount.ravel())
        return flows


def survivors_curve(members: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
    """Pooled survivors of an initial cohort implied by every member's renewal record.

    The renewal hazard at decision ``t`` is estimated from all members who faced that
    decision (actuarial life table over cohorts), and the survivors of a cohort of
    ``sum(weights)`` members are built from it: ``N_t = N_0 * prod_{s<=t} (1 - h_s)``,
    rounded to whole customers. Decisions beyond the point where fewer than 5 weighted
    members were at risk are dropped.
    """
    n = members["payments"].to_numpy(int)
    observed = members["observed_decisions"].to_numpy(int)
    w = np.asarray(weights, float)
    renewals = n - 1
    top = int(observed.max()) if len(observed) else 0
    survivors = [float(w.sum())]
    level = 1.0
    for t in range(1, top + 1):
        at_risk = w[(observed >= t) & (renewals >= t - 1)].sum()
        if at_risk < 5:
            break
        lost = w[(observed >= t) & (renewals == t - 1)].sum()
        level *= 1.0 - lost / at_risk
        survivors.append(survivors[0] * level)
    return np.rint(np.asarray(survivors)).astype(int)


def membership_table(orders: pd.DataFrame, as_of: pd.Timestamp, *,
                     category: str = "membership", grace_days: int = 60) -> pd.DataFrame:
    """Renewal record of every member from the membership orders.

    Parameters
    ----------
    orders : DataFrame
        Analysis orders; membership orders are those whose ``category`` equals ``category``
        (case-insensitive), fully refunded ones excluded.
    as_of : Timestamp
        Valuation date.
    grace_days : int
        A membership is active if its last payment is less than one year plus this many days
        before ``as_of``.

    Returns
    -------
    DataFrame indexed by customer token: ``payments`` (n), ``observed_decisions`` (renewal
    dates passed, grace included), ``next_due_years`` (>= 0) and ``active``.
    """
    as_of = pd.Timestamp(as_of)
    is_member = matches_lower(orders["category"], category)
    net = orders["amount"] - orders["refund_amount"].fillna(0.0)
    paid = orders.loc[is_member & (net > 0).to_numpy(bool)
                      & (orders["order_date"] <= as_of).to_numpy(bool)]
    if paid.empty:
        return pd.DataFrame(columns=["payments", "observed_decisions", "next_due_years", "active"])
    grouped = paid.groupby("customer_token")["order_date"]
    first, last, count = grouped.min(), grouped.max(), grouped.size()
    years_since_first = (as_of - first).dt.days / DAYS_PER_YEAR
    observed = np.floor(years_since_first - grace_days / DAYS_PER_YEAR).clip(lower=0).astype(int)
    next_due = ((last + pd.Timedelta(days=365)) - as_of).dt.days / DAYS_PER_YEAR
    return pd.DataFrame({
        "payments": count.astype(int),
        "observed_decisions": np.maximum(observed, count - 1).astype(int),
        "next_due_years": next_due.clip(lower=0.0).astype(float),
        "active": ((as_of - last).dt.days <= 365 + grace_days).to_numpy(),
    })
