"""The churn model: Cox PH drivers (with their uncertainty) plus a Weibull AFT.

Only the ``observable`` rows of the survival table are fitted (see :mod:`valuation.lifetime`).
The drivers table (:mod:`valuation.survival.drivers`) carries hazard ratios with 95%
intervals, Benjamini-Hochberg q-values and an out-of-time stability check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, WeibullAFTFitter
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import concordance_index

from valuation.errors import ModelError, ModelInputError, NotFittedError
from valuation.lifetime import observable_rows
from valuation.survival.design import (
    DEFAULT_COVARIATES,
    NUMERIC_COVARIATES,
    _redundant_columns,
    _reference_levels,
    design_matrix,
)
from valuation.survival.drivers import driver_table, later_cohort, refit_later_cohort
from valuation.survival.weibull import weibull_remaining_days


def stratified_sample(
    event: pd.Series | np.ndarray, size: int | None, seed: int
) -> np.ndarray | None:
    """Positions of a fixed-seed random subsample of ``size`` rows, stratified by event.

    Each event class (churned / censored) keeps its share of the rows (rounded), so the
    subsample has the table's churn rate. Rows stay in their original order.

    Parameters
    ----------
    event : array-like of 0/1
        The ``event`` column of the survival table.
    size : int or None
        Rows wanted; ``None`` or at least the table's length means no subsample.
    seed : int
        Seed of the random generator (the same seed gives the same rows).

    Returns
    -------
    ndarray of int or None
        Sorted row positions, or ``None`` when every row is used.
    """
    values = np.asarray(event)
    if size is None or len(values) <= size:
        return None
    if size < 1:
        raise ModelInputError(f"a subsample size must be at least 1, got {size}")
    rng = np.random.default_rng(seed)
    picked = []
    for level in np.unique(values):
        rows = np.flatnonzero(values == level)
        take = min(len(rows), max(1, int(round(size * len(rows) / len(values)))))
        picked.append(rng.choice(rows, take, replace=False))
    return np.sort(np.concatenate(picked))




class ChurnModel:
    """Cox PH drivers of churn plus a Weibull AFT for extrapolation.

    Parameters
    ----------
    covariates : sequence of str
        Columns of the survival table used as covariates.
    reference : mapping, optional
        Reference level per categorical covariate (default the most frequent).
    scale : mapping, optional
        Divisor per numeric covariate (default ``first_order_value`` in CNY 10,000, the unit
        of the sample generator's ground truth).
    penalizer : float
        Ridge penalty of both fitters (0 = plain maximum likelihood).
    test_size : float
        Share of customers held out for the concordance index.
    random_state : int
        Seed of the held-out split.
    alpha : float
        1 - confidence level of the intervals.
    batch_threshold : int
        From this many rows on, Cox is fitted with lifelines' ``batch_mode=True`` (its fast
        path for large tables with many tied durations); below, lifelines chooses.
    check_ph : bool
        Run the proportional-hazards test (scaled Schoenfeld residuals).
    min_level_size : int
        0/1 design columns (a categorical level, ``minor``, ``satisfaction_missing``) with
        fewer customers than this are not estimated: they are dropped and listed in
        ``dropped_``, their customers count with the reference level.
    aft_sample_size : int or None
        Large tables: the Weibull AFT is fitted on a fixed-seed subsample of this many rows,
        stratified by ``event`` (:func:`stratified_sample`, seed ``random_state``); ``None``
        fits every row. The AFT gives the shape and per-covariate scales for extrapolation,
        which a 50,000-row sample pins down to well within their confidence intervals,
        while the fit time grows with the rows.
    ph_sample_size : int or None
        Large tables: the proportional-hazards test runs on a Cox model refitted on a
        fixed-seed stratified subsample of this many rows (lifelines' scaled Schoenfeld
        residuals take time quadratic in the rows: about 2 minutes at 100,000 rows).
        ``None`` tests on every row.
    max_test_rows : int or None
        Cap on the held-out rows scored for the concordance (a fixed-seed random subset of
        the held-out split); ``None`` scores every held-out row.

    Notes
    -----
    The Cox drivers (``cox_``, ``drivers_``, risk scores, churn probabilities) always use
    every row (lifelines' batch mode from ``batch_threshold`` rows on). Below the sample
    sizes nothing is subsampled, so small and sample-scale tables give exactly the results
    of a full fit; ``sample_rows_`` records the rows each part used.

    Attributes
    ----------
    cox_ : lifelines.CoxPHFitter
        Fitted on all customers.
    aft_ : lifelines.WeibullAFTFitter
        Fitted on all customers (durations + 1 day).
    drivers_ : DataFrame
        Per design column: ``coef`` (log hazard ratio), ``se``, ``coef_lower``,
        ``coef_upper``, ``hazard_ratio``, ``hr_lower``, ``hr_upper``, ``p``, ``q``
        (Benjamini-Hochberg), ``late_coef``, ``late_p`` (later-cohort refit),
        ``significant``, ``stable``, ``kind`` and ``kept`` (see
        :mod:`valuation.survival.drivers`: only ``kept`` rows are drivers).
    concordance_ : float
        Harrell's C of the Cox model fitted on the training split, on the held-out split.
    ph_check_ : DataFrame or None
        Per covariate: ``test_statistic``, ``p``, ``violated`` (p < 0.05).
    reference_ : dict
        The reference levels used.
    columns_ : list of str
        Design-matrix columns.
    dropped_ : list of str
        Design columns left out: constant, rarer than ``min_level_size``, or collinear with
        earlier columns.
    aft_dropped_ : list of str
        Columns of ``columns_`` left out of the AFT because they are constant, too rare or
        collinear in its subsample (their AFT coefficient is taken as 0: reference level);
        empty when the AFT used every row.
    sample_rows_ : dict
        Rows used by each part: ``cox``, ``concordance`` (held-out rows scored),
        ``ph_check`` and ``aft``.
    """

    def __init__(
        self,
        covariates: Sequence[str] = DEFAULT_COVARIATES,
        *,
        reference: Mapping[str, str] | None = None,
        scale: Mapping[str, float] | None = None,
        penalizer: float = 0.0,
        test_size: float = 0.25,
        random_state: int = 0,
        alpha: float = 0.05,
        batch_threshold: int = 10_000,
        check_ph: bool = True,
        min_level_size: int = 20,
        aft_sample_size: int | None = 50_000,
        ph_sample_size: int | None = 20_000,
        max_test_rows: int | None = 50_000,
    ):
        self.covariates = covariates
        self.reference = reference
        self.scale = scale
        self.penalizer = penalizer
        self.test_size = test_size
        self.random_state = random_state
        self.alpha = alpha
        self.batch_threshold = batch_threshold
        self.check_ph = check_ph
        self.min_level_size = min_level_size
        self.aft_sample_size = aft_sample_size
        self.ph_sample_size = ph_sample_size
        self.max_test_rows = max_test_rows

    # -- fitting --------------------------------------------------------------------------
    def _design(self, table: pd.DataFrame) -> pd.DataFrame:
        return design_matrix(
            table,
            self.covariates,
            reference=self.reference_,
            levels=self.levels_,
            scale=self.scale_,
            impute=self.impute_,
        )

    def _fit_cox(self, frame: pd.DataFrame) -> CoxPHFitter:
        batch = True if len(frame) >= self.batch_threshold else None
        cox = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        try:
            cox.fit(frame, duration_col="duration", event_col="event", batch_mode=batch)
        except Exception as exc:  # lifelines raises ConvergenceError / LinAlgError
            raise ModelError(
                f"the Cox model did not converge ({type(exc).__name__}); try a penalizer "
                "(e.g. 0.01), fewer covariates, or merging rare levels"
            ) from exc
        return cox

    def fit(self, table: pd.DataFrame) -> "ChurnModel":
        """Fit Cox PH (drivers, concordance, PH check) and the Weibull AFT.

        Parameters
        ----------
        table : DataFrame
            From :func:`survival_table`.

        Returns
        -------
        self
        """
        table = observable_rows(table)
        if len(table) < 10 or table["event"].sum() < 2:
            raise ModelInputError(
                f"the survival table has {len(table)} observable customers and "
                f"{int(table['event'].sum())} churn events; the churn model needs at least 10 "
                "customers and 2 events"
            )
        covariates = list(self.covariates)
        self.reference_ = {**_reference_levels(table, covariates), **dict(self.reference or {})}
        self.levels_ = {
            c: sorted(table[c].astype(str).unique()) for c in self.reference_ if c in table.columns
        }
        self.scale_ = {"first_order_value": 10000.0, **dict(self.scale or {})}
        self.impute_ = {
            c: float(table[c].mean()) if table[c].notna().any() else 0.0
            for c in covariates
            if c in NUMERIC_COVARIATES and c != "minor"
        }
        design = self._design(table)
        self.dropped_ = _redundant_columns(design, min_level_size=self.min_level_size)
        design = design.drop(columns=self.dropped_)
        self.columns_ = list(design.columns)
        frame = design.assign(duration=table["duration"].astype("float64"),
                              event=table["event"].astype("int64"))

        self.cox_ = self._fit_cox(frame)
        late = later_cohort(table)
        late_summary = refit_later_cohort(
            frame, late, self._fit_cox,
            lambda part: _redundant_columns(part, min_level_size=self.min_level_size),
            self.columns_,
        )
        self.drivers_ = driver_table(self.cox_.summary, late_summary, alpha=self.alpha)

        self.sample_rows_ = {"cox": int(len(frame)),
                            "later_cohort": int(late.sum()) if late is not None else 0}
        self.concordance_ = self._held_out_concordance(frame)

        self.ph_check_ = None
        if self.check_ph:
            self.ph_check_ = self._ph_check(frame)

        aft_frame = frame.assign(duration=frame["duration"] + 1.0)
        positions = stratified_sample(frame["event"], self.aft_sample_size, self.random_state)
        self.aft_dropped_ = []
        if positions is not None:
            aft_frame = aft_frame.iloc[positions]
            self.aft_dropped_ = _redundant_columns(
                aft_frame[self.columns_], min_level_size=self.min_level_size
            )
            aft_frame = aft_frame.drop(columns=self.aft_dropped_)
        self.sample_rows_["aft"] = int(len(aft_frame))
        self.aft_ = WeibullAFTFitter(penalizer=self.penalizer, alpha=self.alpha)
        try:
            self.aft_.fit(aft_frame, duration_col="duration", event_col="event")
        except Exception as exc:
            raise ModelError(
                f"the Weibull AFT model did not converge ({type(exc).__name__}); try a "
                "penalizer (e.g. 0.01) or fewer covariates"
            ) from exc
        return self

    def _held_out_concordance(self, frame: pd.DataFrame) -> float:
        """Harrell's C on the held-out split of a Cox model fitted on the training split.

        At most ``max_test_rows`` held-out rows are scored (a fixed-seed random subset).
        """
        rng = np.random.default_rng(self.random_state)
        test = rng.random(len(frame)) < self.test_size
        train_frame, test_frame = frame.loc[~test], frame.loc[test]
        if self.max_test_rows is not None and len(test_frame) > self.max_test_rows:
            keep_rows = np.sort(rng.choice(len(test_frame), self.max_test_rows, replace=False))
            test_frame = test_frame.iloc[keep_rows]
        self.sample_rows_["concordance"] = int(len(test_frame))
        if train_frame["event"].sum() < 2 or test_frame["event"].sum() < 1:
            return float("nan")
        keep = [c for c in self.columns_ if train_frame[c].nunique() > 1]
        split_cox = self._fit_cox(train_frame[[*keep, "duration", "event"]])
        risk = split_cox.predict_partial_hazard(test_frame[keep])
        return float(concordance_index(test_frame["duration"], -risk, test_frame["event"]))

    def _ph_check(self, frame: pd.DataFrame) -> pd.DataFrame:
        """lifelines' PH test (rank time transform), on a stratified subsample when large.

        On a subsample the test needs a Cox model fitted on those rows; columns constant,
        too rare or collinear in the subsample are not tested (NaN, not violated).
        """
        cox = self.cox_
        positions = stratified_sample(frame["event"], self.ph_sample_size, self.random_state)
        if positions is not None:
            frame = frame.iloc[positions]
            skip = _redundant_columns(frame[self.columns_], min_level_size=self.min_level_size)
            frame = frame.drop(columns=skip)
            cox = self._fit_cox(frame)
        self.sample_rows_["ph_check"] = int(len(frame))
        result = proportional_hazard_test(cox, frame, time_transform="rank")
        ph = result.summary[["test_statistic", "p"]].reindex(self.columns_)
        ph["violated"] = ph["p"] < 0.05
        ph.index.name = "covariate"
        return ph

    # -- use ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "cox_"):
            raise NotFittedError("ChurnModel is not fitted yet: call fit(survival_table) first")

    def design(self, table: pd.DataFrame) -> pd.DataFrame:
        """The fitted design matrix of new survival-table rows (same columns as in fit)."""
        self._check_fitted()
        return self._design(table).reindex(columns=self.columns_, fill_value=0.0)

    def risk_score(self, table: pd.DataFrame) -> pd.Series:
        """Cox partial hazard ``exp(x'b)`` per customer (higher = churns sooner)."""
        self._check_fitted()
        return self.cox_.predict_partial_hazard(self.design(table)).rename("risk")

    def churn_probability(self, table: pd.DataFrame, days: np.ndarray | float) -> pd.Series:
        """Cox probability of churning within ``days`` after each customer's current age.

        ``1 - S(d + days | x) / S(d | x)`` with ``d`` the age up to which the customer is
        known to have lived: ``span_days`` (first purchase to last sign of life) when the
        table has it, else ``duration``.
        """
        self._check_fitted()
        base = self.cox_.baseline_cumulative_hazard_.iloc[:, 0]
        times = base.index.to_numpy(dtype="float64")
        values = base.to_numpy()

        def cumhaz(t: np.ndarray) -> np.ndarray:
            idx = np.searchsorted(times, t, side="right") - 1
            return np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0)

        known = "span_days" if "span_days" in table.columns else "duration"
        age = table[known].to_numpy(dtype="float64")
        later = age + np.broadcast_to(np.asarray(days, dtype="float64"), age.shape)
        hazard = (cumhaz(later) - cumhaz(age)) * self.risk_score(table).to_numpy()
        return pd.Series(1.0 - np.exp(-hazard), index=table.index, name="p_churn")

    def weibull_parameters(self, table: pd.DataFrame) -> tuple[pd.Series, float]:
        """Weibull scale (days) per customer and the common shape, from the AFT fit."""
        self._check_fitted()
        params = self.aft_.params_
        coefs = params.loc["lambda_"]
        x = self.design(table)
        linear = np.full(len(x), float(coefs.get("Intercept", 0.0)))
        for column in self.columns_:
            linear = linear + x[column].to_numpy() * float(coefs.get(column, 0.0))
        shape = float(np.exp(params.loc["rho_"]["Intercept"]))
        return pd.Series(np.exp(linear), index=table.index, name="weibull_scale"), shape

    def expected_remaining_lifetime(
        self, table: pd.DataFrame, horizon_days: float | None = None
    ) -> pd.DataFrame:
        """Expected remaining lifetime per customer beyond the window (Weibull AFT).

        Conditional on having survived to the known age (``span_days + 1`` days, or
        ``duration + 1`` without ``span_days``; the AFT's time scale): ``E[min(T - a, h) | T > a]``.

        Returns
        -------
        DataFrame
            ``age_days``, ``expected_remaining_days``, ``median_remaining_days``.
        """
        scale, shape = self.weibull_parameters(table)
        known = "span_days" if "span_days" in table.columns else "duration"
        age = table[known].to_numpy(dtype="float64") + 1.0
        lam = scale.to_numpy()
        remaining = weibull_remaining_days(lam, shape, age, horizon_days)
        # median of the conditional distribution: S(a + m) / S(a) = 1/2
        median = lam * ((age / lam) ** shape + np.log(2.0)) ** (1.0 / shape) - age
        return pd.DataFrame(
            {
                "age_days": age,
                "expected_remaining_days": remaining,
                "median_remaining_days": median,
            },
            index=table.index,
        )
