"""Customer segments: value tiers, and how well churn can be predicted.

Value tiers
-----------
Tiers are *quantile tiers* of a per-customer value (CLV when available, else revenue to date):
the top 10% of customers, the next 20%, the next 30% and the bottom 40%. We chose quantiles
over KMeans on standardised log RFM because

* the tiers are explained in one sentence to a deal team ("the top 10% hold 55% of the CLV"),
  and their sizes are fixed, so tables across targets and re-runs compare directly;
* they are deterministic (no random start, no dependence on a seed or on scaling choices) and
  stable when a few customers are added, where KMeans clusters on heavily skewed, tied RFM
  values (most customers buy once) shift and relabel between runs;
* a value ranking is exactly what a buyer prices; clusters mix "recent but cheap" with "old
  but valuable" in ways that do not map to money.

Ties in value are broken by customer token, so the assignment is reproducible.

Churn prediction benchmark
--------------------------
A gradient-boosting classifier (scikit-learn ``HistGradientBoostingClassifier``, seeded) on
RFM and customer attributes is compared, on the holdout period, with the Cox model's churn
probability and ``1 - P(alive)`` of the BG/NBD. To keep the holdout untouched, the
classifier is trained *out of time*: features at ``calibration_end - h`` and labels "no order
or activity in the next ``h`` days", with ``h = as_of - calibration_end`` (the holdout length);
all three predictors are then scored on features at ``calibration_end`` against inactivity in
``(calibration_end, as_of]``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from valuation.activity import signs_of_life, suppress_for_publication
from valuation.errors import ModelInputError, NotFittedError
from valuation.survival import ChurnModel, survival_table

TIER_CUTS: tuple[float, ...] = (0.10, 0.30, 0.60)
"""Cumulative customer shares at which tiers change: top 10%, next 20%, next 30%, rest."""

TIER_LABELS: tuple[str, ...] = ("A top 10%", "B next 20%", "C next 30%", "D bottom 40%")


# ---------------------------------------------------------------------------------------
# Value tiers
# ---------------------------------------------------------------------------------------
def value_tiers(
    value: pd.Series,
    *,
    cuts: Sequence[float] = TIER_CUTS,
    labels: Sequence[str] | None = None,
) -> pd.Series:
    """Assign each customer to a quantile tier of ``value`` (highest value first).

    Parameters
    ----------
    value : Series
        Per-customer value (CLV or revenue), indexed by customer token; NaN counts as 0.
    cuts : sequence of float
        Increasing cumulative shares of customers (in (0, 1)) where a new tier starts.
    labels : sequence of str, optional
        ``len(cuts) + 1`` tier names, best first; default :data:`TIER_LABELS`.

    Returns
    -------
    Series
        Ordered categorical tier per customer, same index as ``value``.
    """
    cuts = list(cuts)
    if any(not 0 < c < 1 for c in cuts) or sorted(cuts) != cuts or len(set(cuts)) != len(cuts):
        raise ModelInputError(f"tier cuts must be increasing shares in (0, 1); got {cuts}")
    labels = list(labels) if labels is not None else (
        list(TIER_LABELS) if len(cuts) == len(TIER_CUTS) else [f"tier {i + 1}" for i in range(len(cuts) + 1)]
    )
    if len(labels) != len(cuts) + 1:
        raise ModelInputError(f"need {len(cuts) + 1} tier labels, got {len(labels)}")
    frame = pd.DataFrame(
        {"value": pd.Series(value, dtype="float64").fillna(0.0).to_numpy(),
         "token": value.index.astype(str)}
    )
    order = frame.sort_values(["value", "token"], ascending=[False, True], kind="mergesort").index
    position = np.empty(len(frame), dtype="float64")
    position[order.to_numpy()] = (np.arange(len(frame)) + 0.5) / max(len(frame), 1)
    tier = np.searchsorted(np.asarray(cuts), position, side="right")
    result = pd.Categorical.from_codes(tier, categories=labels, ordered=True)
    return pd.Series(result, index=value.index, name="tier")


def tier_summary(
    tiers: pd.Series,
    revenue: pd.Series,
    clv: pd.Series | None = None,
    *,
    min_cell_size: int = 1,
) -> pd.DataFrame:
    """Size, revenue share and CLV share per tier (aggregates only, small cells suppressed).

    Parameters
    ----------
    tiers : Series
        From :func:`value_tiers`, indexed by customer token.
    revenue : Series
        Revenue to date per customer (missing = 0).
    clv : Series, optional
        CLV per customer (missing = 0).
    min_cell_size : int
        ``params.privacy.min_cell_size``.

    Returns
    -------
    DataFrame
        ``tier``, ``customers``, ``customer_share``, ``revenue``, ``revenue_share``,
        ``mean_revenue`` and, with ``clv``, ``clv``, ``clv_share``, ``mean_clv``.
    """
    frame = pd.DataFrame({"tier": tiers})
    frame["revenue"] = pd.Series(revenue, dtype="float64").reindex(frame.index).fillna(0.0)
    if clv is not None:
        frame["clv"] = pd.Series(clv, dtype="float64").reindex(frame.index).fillna(0.0)
    grouped = frame.groupby("tier", observed=False)
    table = pd.DataFrame({"customers": grouped.size().astype("int64")})
    table["customer_share"] = table["customers"] / max(len(frame), 1)
    for column in ["revenue", *(["clv"] if clv is not None else [])]:
        total = frame[column].sum()
        table[column] = grouped[column].sum()
        table[f"{column}_share"] = table[column] / total if total else np.nan
        table[f"mean_{column}"] = table[column] / table["customers"].replace(0, np.nan)
    table = table.reset_index()
    table["tier"] = table["tier"].astype(str)
    return suppress_for_publication(table, "customers", min_cell_size)


# ---------------------------------------------------------------------------------------
# Churn classifier
# ---------------------------------------------------------------------------------------
FEATURE_CATEGORICALS: tuple[str, ...] = ("channel", "category", "age_band", "city_tier")


def churn_features(
    tables: Mapping[str, pd.DataFrame],
    cutoff: dt.date | str | pd.Timestamp,
    *,
    inactivity_days: int = 180,
) -> pd.DataFrame:
    """Per-customer features known at ``cutoff`` (nothing dated after it is read).

    One row per customer with a purchase on or before ``cutoff``: RFM (``n_orders``,
    ``revenue``, ``mean_order_value``, ``tenure_days``, ``active_span_days``,
    ``days_since_last_order``, ``days_since_last_seen``), activity (``events_90d``,
    ``events_total``), and the attributes of :func:`valuation.survival.survival_table`
    (categoricals as ``category`` dtype).
    """
    cut = pd.Timestamp(cutoff).normalize()
    table = survival_table(tables, cut, inactivity_days)
    orders = tables["orders"]
    orders = orders.loc[orders["order_date"].notna() & (orders["order_date"] <= cut)]
    last_order = orders.groupby("customer_token", observed=True)["order_date"].max()
    signs = signs_of_life(tables, cut)
    events = signs.loc[signs["source"] == "activity"]
    recent = events.loc[events["date"] > cut - pd.Timedelta(days=90)]
    features = pd.DataFrame(index=table.index)
    features["n_orders"] = table["n_orders"].astype("float64")
    features["revenue"] = table["revenue"]
    features["mean_order_value"] = table["revenue"] / table["n_orders"]
    features["first_order_value"] = table["first_order_value"]
    features["tenure_days"] = (cut - table["first_purchase"]).dt.days.astype("float64")
    features["active_span_days"] = table["span_days"].astype("float64")  # first to last seen
    features["days_since_last_order"] = (
        (cut - last_order.reindex(table.index)).dt.days.astype("float64")
    )
    features["days_since_last_seen"] = table["days_inactive"].astype("float64")
    features["events_90d"] = (
        recent.groupby("customer_token").size().reindex(table.index, fill_value=0).astype("float64")
    )
    features["events_total"] = (
        events.groupby("customer_token").size().reindex(table.index, fill_value=0).astype("float64")
    )
    features["satisfaction"] = table["satisfaction"]
    features["minor"] = table["minor"].astype("float64")
    for column in FEATURE_CATEGORICALS:
        features[column] = table[column].astype("category")
    return features


def holdout_inactive(
    tables: Mapping[str, pd.DataFrame],
    start: dt.date | str | pd.Timestamp,
    end: dt.date | str | pd.Timestamp,
    customers: pd.Index,
) -> pd.Series:
    """1 when a customer has no order and no activity event in ``(start, end]``, else 0."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    signs = signs_of_life(tables, end)
    seen = signs.loc[signs["date"] > start, "customer_token"].astype(str).unique()
    inactive = ~pd.Index(customers).astype(str).isin(seen)
    return pd.Series(inactive, index=customers, name="inactive").astype("int64")


class ChurnClassifier:
    """Gradient-boosting baseline: P(no activity in the next period) from RFM + attributes.

    Parameters
    ----------
    random_state : int
        Seed of the booster.
    max_iter, learning_rate, max_leaf_nodes, l2_regularization
        Passed to :class:`sklearn.ensemble.HistGradientBoostingClassifier`.
    n_threads : int or None
        OpenMP threads of the booster (``threadpoolctl``); default 1, because the tables are
        small and batch runs already use one process per core (more threads then only
        oversubscribe the machine). ``None`` = the library default (all cores).

    Attributes
    ----------
    estimator_ : HistGradientBoostingClassifier
    feature_names_ : list of str
    categories_ : dict
        Categories of each categorical feature seen in ``fit`` (unseen levels become NaN).
    """

    def __init__(
        self,
        *,
        random_state: int = 0,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        l2_regularization: float = 1.0,
        n_threads: int | None = 1,
    ):
        self.random_state = random_state
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.n_threads = n_threads

    def _align(self, features: pd.DataFrame) -> pd.DataFrame:
        x = features.reindex(columns=self.feature_names_).copy()
        for column, categories in self.categories_.items():
            x[column] = pd.Categorical(x[column].astype(str), categories=categories)
        return x

    def fit(self, features: pd.DataFrame, labels: pd.Series) -> "ChurnClassifier":
        """Fit on features (from :func:`churn_features`) and 0/1 inactivity labels."""
        y = pd.Series(labels).reindex(features.index)
        if y.isna().any() or y.nunique() < 2:
            raise ModelInputError(
                "the churn classifier needs a 0/1 label for every customer and both classes"
            )
        self.feature_names_ = list(features.columns)
        self.categories_ = {
            c: sorted(features[c].astype(str).unique())
            for c in features.columns
            if isinstance(features[c].dtype, pd.CategoricalDtype) or features[c].dtype == object
        }
        estimator = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            categorical_features="from_dtype",
            random_state=self.random_state,
        )
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            self.estimator_ = estimator.fit(self._align(features), y.astype(int).to_numpy())
        return self

    def predict_proba(self, features: pd.DataFrame) -> pd.Series:
        """Probability of inactivity per customer."""
        if not hasattr(self, "estimator_"):
            raise NotFittedError("ChurnClassifier is not fitted yet: call fit first")
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            proba = self.estimator_.predict_proba(self._align(features))[:, 1]
        return pd.Series(proba, index=features.index, name="p_churn")


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------
def evaluate_churn_predictions(
    labels: pd.Series,
    predictions: Mapping[str, pd.Series],
    *,
    n_bins: int = 10,
    min_cell_size: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AUC, Brier score and a calibration table of churn probabilities against 0/1 labels.

    Parameters
    ----------
    labels : Series
        1 = inactive in the holdout.
    predictions : mapping of name to Series
        Predicted probabilities of inactivity, indexed like ``labels``.
    n_bins : int
        Equal-width probability bins of the calibration table.

    Returns
    -------
    metrics : DataFrame
        ``model``, ``customers``, ``churn_rate``, ``mean_predicted``, ``auc``, ``brier``,
        ``brier_baseline`` (Brier of always predicting the observed rate).
    calibration : DataFrame
        ``model``, ``bin``, ``customers``, ``mean_predicted``, ``observed_rate`` (small
        cells suppressed).
    """
    rows, calibration = [], []
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for name, predicted in predictions.items():
        joined = pd.concat(
            [pd.Series(labels, name="y"), pd.Series(predicted, name="p", dtype="float64")], axis=1,
            join="inner",
        ).dropna()
        y, p = joined["y"].astype(int).to_numpy(), joined["p"].clip(0, 1).to_numpy()
        rate = float(y.mean()) if len(y) else np.nan
        both = len(np.unique(y)) == 2
        rows.append(
            {
                "model": name,
                "customers": int(len(y)),
                "churn_rate": rate,
                "mean_predicted": float(p.mean()) if len(p) else np.nan,
                "auc": float(roc_auc_score(y, p)) if both else np.nan,
                "brier": float(brier_score_loss(y, p)) if len(y) else np.nan,
                "brier_baseline": float(rate * (1 - rate)) if len(y) else np.nan,
            }
        )
        bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
        for b in range(n_bins):
            inside = bins == b
            calibration.append(
                {
                    "model": name,
                    "bin": f"[{edges[b]:.1f}, {edges[b + 1]:.1f}{']' if b == n_bins - 1 else ')'}",
                    "customers": int(inside.sum()),
                    "mean_predicted": float(p[inside].mean()) if inside.any() else np.nan,
                    "observed_rate": float(y[inside].mean()) if inside.any() else np.nan,
                }
            )
    calibration_table = suppress_for_publication(
        pd.DataFrame(calibration), "customers", min_cell_size
    )
    return pd.DataFrame(rows), calibration_table


@dataclass(frozen=True)
class ChurnBenchmark:
    """How well churn is predicted on the holdout.

    Attributes
    ----------
    metrics, calibration : DataFrame
        From :func:`evaluate_churn_predictions`.
    predictions : DataFrame
        Per customer (analysis zone only): ``inactive`` and one column per model.
    """

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    predictions: pd.DataFrame


def churn_benchmark(
    tables: Mapping[str, pd.DataFrame],
    calibration_end: dt.date | str | pd.Timestamp,
    as_of: dt.date | str | pd.Timestamp,
    *,
    inactivity_days: int = 180,
    p_alive: pd.Series | None = None,
    random_state: int = 0,
    churn_model: ChurnModel | None = None,
    n_bins: int = 10,
    min_cell_size: int = 1,
) -> ChurnBenchmark:
    """Compare the classifier, the Cox model and BG/NBD at predicting holdout inactivity.

    See the module docstring for the out-of-time design.

    Parameters
    ----------
    tables : mapping
        Analysis tables.
    calibration_end, as_of : date
        The holdout is ``(calibration_end, as_of]``.
    inactivity_days : int
        Churn threshold of the survival table the Cox model is fitted on.
    p_alive : Series, optional
        BG/NBD P(alive) at ``calibration_end`` per customer token (fitted on calibration data
        only); included as ``bgnbd`` with ``1 - p_alive``.
    random_state : int
        Seed of the classifier and of the Cox held-out split.
    churn_model : ChurnModel, optional
        Unfitted model to use (default ``ChurnModel(random_state=random_state)``).
    """
    cal = pd.Timestamp(calibration_end).normalize()
    end = pd.Timestamp(as_of).normalize()
    if cal >= end:
        raise ModelInputError("calibration_end must be before as_of")
    horizon = end - cal
    train_cut = cal - horizon
    try:
        train_x = churn_features(tables, train_cut, inactivity_days=inactivity_days)
    except ModelInputError as exc:
        raise ModelInputError(
            f"no purchases before {train_cut.date()} (calibration end minus the holdout length) "
            "to train the churn classifier out of time; shorten the holdout"
        ) from exc
    train_y = holdout_inactive(tables, train_cut, cal, train_x.index)
    test_x = churn_features(tables, cal, inactivity_days=inactivity_days)
    test_y = holdout_inactive(tables, cal, end, test_x.index)

    classifier = ChurnClassifier(random_state=random_state).fit(train_x, train_y)
    predictions = {"gradient_boosting": classifier.predict_proba(test_x)}

    table = survival_table(tables, cal, inactivity_days)
    model = churn_model if churn_model is not None else ChurnModel(random_state=random_state,
                                                                  check_ph=False)
    model.fit(table)
    predictions["cox"] = model.churn_probability(table, table["days_inactive"].to_numpy())
    if p_alive is not None:
        predictions["bgnbd"] = 1.0 - pd.Series(p_alive, dtype="float64")

    metrics, calibration = evaluate_churn_predictions(
        test_y, predictions, n_bins=n_bins, min_cell_size=min_cell_size
    )
    frame = pd.DataFrame({"inactive": test_y, **{k: v.reindex(test_y.index) for k, v in predictions.items()}})
    return ChurnBenchmark(metrics=metrics, calibration=calibration, predictions=frame)
