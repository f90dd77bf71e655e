"""Churn by survival analysis: the survival table, Kaplan-Meier, log-rank, Cox PH and Weibull AFT.

Everything here reads the token-only analysis tables (``valuation.tables.ANALYSIS_COLUMNS``)
and returns DataFrames ready for the brief. Only aggregate tables (curves, medians, drivers)
are meant for publication; the per-customer tables stay in the analysis zone.

The definition of churn is :mod:`valuation.lifetime`'s (the one definition shared with the
valuation's retention and the change-of-owner effect): a lifetime runs from the first
purchase to the last sign of life (order or activity); a customer is churned when more than
``inactivity_days`` have passed since; a customer not churned is right-censored at
``as_of - inactivity_days`` (the last date a churn could have been confirmed); customers whose
first purchase is after that date are left out of the estimates (``observable = False``).
Consequences:

* a one-off customer who never came back has duration 0 and ``event = 1``; Kaplan-Meier
  shows this as an immediate drop at day 0 (the Weibull AFT is fitted on ``duration + 1``
  days, i.e. "days of life" counting the first day);
* the threshold makes churn a matter of definition: a longer threshold means fewer, later
  churn events (see ``params.sensitivity.inactivity_days``);
* nothing dated after ``as_of`` is read (orders, events, feedback).

Modules: :mod:`~valuation.survival.table` (the survival table),
:mod:`~valuation.survival.design` (covariates), :mod:`~valuation.survival.km` (Kaplan-Meier,
log-rank), :mod:`~valuation.survival.model` (``ChurnModel``: Cox + AFT),
:mod:`~valuation.survival.drivers` (intervals, BH q-values, out-of-time stability),
:mod:`~valuation.survival.weibull` (closed forms). Everything public is importable from
``valuation.survival``.
"""

from valuation.survival.design import (
    CATEGORICAL_COVARIATES,
    DATA_AVAILABILITY_COLUMNS,
    DEFAULT_COVARIATES,
    MINOR_BAND,
    NUMERIC_COVARIATES,
    design_matrix,
)
from valuation.survival.drivers import bh_adjust, driver_table, later_cohort
from valuation.survival.km import (
    kaplan_meier_curves,
    logrank_tests,
    median_lifetimes,
    pairwise_logrank,
)
from valuation.survival.model import ChurnModel, stratified_sample
from valuation.survival.table import UNKNOWN, survival_table
from valuation.survival.weibull import weibull_remaining_days

DAYS_PER_MONTH = 365.25 / 12
"""Average length of a calendar month in days (used for month-by-month curves)."""

__all__ = [
    "CATEGORICAL_COVARIATES",
    "DATA_AVAILABILITY_COLUMNS",
    "DAYS_PER_MONTH",
    "DEFAULT_COVARIATES",
    "MINOR_BAND",
    "NUMERIC_COVARIATES",
    "UNKNOWN",
    "ChurnModel",
    "bh_adjust",
    "design_matrix",
    "driver_table",
    "kaplan_meier_curves",
    "later_cohort",
    "logrank_tests",
    "median_lifetimes",
    "pairwise_logrank",
    "stratified_sample",
    "survival_table",
    "weibull_remaining_days",
]
