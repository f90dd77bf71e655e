"""Model choice by holdout for a purchase stream (stated in the brief's method notes).

Each candidate model is fitted on the calibration period (purchases up to
``params.calibration_end``) and predicts every calibration customer's purchases in the
holdout (``calibration_end`` to ``as_of``); the prediction is compared with what they bought:

* aggregate error: ``(predicted total - actual total) / actual total``;
* per-customer mean absolute error (MAE) of the holdout purchases.

**Rule.** The candidate with the smallest absolute aggregate error is chosen, unless another
candidate is within :data:`AGGREGATE_TIE` (2 percentage points) of it in aggregate and has
a smaller per-customer MAE (the value is a total, so the aggregate comes first; the MAE
separates models that get the total equally right). The chosen model is then refitted on
all purchases up to ``as_of`` for the valuation. A candidate whose fit fails is listed with
the reason and not chosen.

**Candidates.** BG/NBD and Pareto/NBD (continuous time) always; BG/BB when the stream's
opportunities are discrete (:func:`discrete_opportunities`): at most one purchase per
customer-year after the first in at least 95% of the customer-years with a purchase, over at
least :data:`MIN_DISCRETE_PERIODS` such years (purchases at fixed yearly occasions: an exam
sitting, a renewal window; periods anchored at each customer's first purchase). Passing a
``BetaGeoBetaBinom`` as the purchase template of :func:`~valuation.value.valuate` forces it.

**A miss.** When the chosen model misses the holdout by more than :data:`MISS_THRESHOLD`
(15%) in aggregate, the brief's first page says so and the value range widens by the
measured error (:func:`widen_range`).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from valuation.errors import ConvergenceWarning, ValuationError
from valuation.units import periods_per_year

AGGREGATE_TIE = 0.02
MISS_THRESHOLD = 0.15
MAX_COLLISION_SHARE = 0.05
MIN_DISCRETE_PERIODS = 30


@dataclass
class ModelChoice:
    """The holdout comparison of one stream's candidate models and the choice made.

    Attributes
    ----------
    table : DataFrame
        One row per candidate (index: model name): ``predicted``, ``actual`` (holdout
        totals), ``aggregate_error`` (signed, relative), ``mae`` (per customer),
        ``customers``, ``status`` (``ok`` or why it failed), ``chosen``.
    chosen : str or None
        The model chosen (None: no candidate could be fitted).
    discrete : bool
        Whether BG/BB was a candidate (discrete opportunities detected or forced).
    discrete_evidence : str
        The detection's numbers, for the method notes.
    holdout : (start, end) dates.
    """

    table: pd.DataFrame
    chosen: str | None
    discrete: bool
    discrete_evidence: str
    holdout: tuple[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def chosen_error(self) -> float:
        """Signed relative aggregate holdout error of the chosen model (NaN if none)."""
        if self.chosen is None:
            return float("nan")
        return float(self.table.loc[self.chosen, "aggregate_error"])

    @property
    def missed(self) -> bool:
        """The chosen model misses the holdout by more than :data:`MISS_THRESHOLD`."""
        return bool(abs(self.chosen_error) > MISS_THRESHOLD)

    def to_dict(self) -> dict:
        rows = self.table.reset_index().to_dict(orient="records")
        return {"chosen": self.chosen, "discrete_opportunities": self.discrete,
                "discrete_evidence": self.discrete_evidence,
                "holdout": {"start": self.holdout[0], "end": self.holdout[1]},
                "rule": RULE_TEXT, "miss_threshold": MISS_THRESHOLD,
                "chosen_aggregate_error": self.chosen_error, "missed": self.missed,
                "candidates": rows}


RULE_TEXT = ("smallest absolute aggregate holdout error; a candidate within 2 percentage "
             "points of it with a smaller per-customer MAE wins")


def discrete_opportunities(orders: pd.DataFrame, period_months: int = 12) -> tuple[bool, str]:
    """Whether purchases come at most once per period (discrete opportunities), and why."""
    from valuation.features import repeat_period_collisions

    share, cells = repeat_period_collisions(orders, date="order_date",
                                           period_months=period_months)
    ok = cells >= MIN_DISCRETE_PERIODS and share <= MAX_COLLISION_SHARE
    evidence = (f"{share:.1%} of {cells:,} customer-years with a repeat purchase hold two or "
                f"more purchases (discrete if at most {MAX_COLLISION_SHARE:.0%} over at least "
                f"{MIN_DISCRETE_PERIODS})")
    return ok, evidence


def _candidates(template, discrete: bool) -> dict[str, object]:
    from valuation import models

    if template is not None:
        name = type(template).__name__
        out = {name: template}
        if isinstance(template, models.BetaGeoBetaBinom):
            return out
    else:
        out = {"BetaGeo": models.BetaGeo(), "ParetoNBD": models.ParetoNBD()}
    if discrete:
        out["BetaGeoBetaBinom"] = models.BetaGeoBetaBinom()
    return out


def _holdout_prediction(name: str, model, orders: pd.DataFrame, params, tokens: pd.Index
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``model`` on the calibration period; (predicted, actual) holdout purchases."""
    from valuation.features import opportunity_summary, rfm_summary
    from valuation.value.opportunities import opportunity_forecast

    if name == "BetaGeoBetaBinom":
        table = opportunity_summary(orders, amount=None, calibration_end=params.calibration_end,
                                    observation_end=params.as_of)
        timing = table.attrs.get("timing")
        table = table.loc[table.index.isin(tokens)]
        table.attrs["timing"] = timing
        model.fit(*(table[c].to_numpy(float) for c in ("frequency", "recency", "n_periods")))
        predicted = opportunity_forecast(model, table["duration_holdout"].to_numpy(float), table,
                                         table.attrs.get("timing"), per_customer=True)
    else:
        table = rfm_summary(orders, amount=None, calibration_end=params.calibration_end,
                            observation_end=params.as_of, time_unit=params.time_unit)
        table = table.loc[table.index.isin(tokens)]
        x, tx, big_t = (table[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        model.fit(x, tx, big_t)
        predicted = np.asarray(model.conditional_expected_purchases(
            table["duration_holdout"].to_numpy(float), x, tx, big_t), float)
    return predicted, table["frequency_holdout"].to_numpy(float)


def compare_models(orders: pd.DataFrame, params, tokens: pd.Index, template=None,
                   births: pd.Series | None = None) -> ModelChoice:
    """Fit every candidate on the calibration period and choose by the holdout (module doc).

    Parameters
    ----------
    orders : DataFrame
        The stream's purchases (``customer_token``, ``order_date``, ``net_amount``).
    params : DealParams
        ``calibration_end``, ``as_of``, ``time_unit``.
    tokens : Index
        The customers of the base (others are ignored).
    template : estimator, optional
        A purchase model given by the caller: the only continuous candidate (BG/BB still
        joins when opportunities are discrete; a BG/BB template is the only candidate).
    births : Series, optional
        First paid order of any kind per customer (:func:`with_births`).
    """
    arrivals = with_births(orders, births)
    discrete, evidence = discrete_opportunities(arrivals)
    # the holdout compares the customers who had arrived by the calibration end, the same
    # ones for every candidate
    first = arrivals.groupby("customer_token", observed=True)["order_date"].min()
    tokens = tokens.intersection(first.index[first <= pd.Timestamp(params.calibration_end)])
    from valuation import models

    if isinstance(template, models.BetaGeoBetaBinom):
        discrete, evidence = True, "BG/BB given by the caller"
    rows = []
    for name, model in _candidates(template, discrete).items():
        row = {"model": name, "predicted": np.nan, "actual": np.nan, "aggregate_error": np.nan,
               "mae": np.nan, "customers": 0, "status": "ok"}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                predicted, actual = _holdout_prediction(
                    name, copy.deepcopy(model), with_births(
                        orders, births, 12 if name == "BetaGeoBetaBinom" else None),
                    params, tokens)
            if not np.all(np.isfinite(predicted)):
                raise ValuationError("holdout predictions are not finite")
            total = float(actual.sum())
            row.update(predicted=float(predicted.sum()), actual=total,
                       aggregate_error=(float(predicted.sum()) - total) / max(total, 1.0),
                       mae=float(np.mean(np.abs(predicted - actual))),
                       customers=int(len(actual)))
        except (ValuationError, ValueError) as exc:
            row["status"] = "failed: " + (str(exc).splitlines()[0] or type(exc).__name__)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    table["chosen"] = False
    chosen = choose(table)
    if chosen is not None:
        table.loc[chosen, "chosen"] = True
    holdout = (str(pd.Timestamp(params.calibration_end).date()), str(pd.Timestamp(params.as_of).date()))
    return ModelChoice(table, chosen, discrete, evidence, holdout)


def choose(table: pd.DataFrame) -> str | None:
    """Apply the rule of the module doc to a comparison table (``ok`` rows only)."""
    ok = table.loc[(table["status"] == "ok") & table["aggregate_error"].notna()]
    if ok.empty:
        return None
    size = ok["aggregate_error"].abs()
    close = ok.loc[size <= size.min() + AGGREGATE_TIE]
    return str(close["mae"].idxmin())


def widen_uncertainty(unc, relative_error: float, stream_value: float):
    """The value range widened by a purchase model's measured holdout miss.

    Every replicate of the combined value below the point estimate moves down, every one
    above moves up, by ``|relative_error| x stream_value`` (the purchase stream's value in the
    transferable base): the model may be off by as much as it was in the holdout, in either
    direction. The percentiles (and so the price positions read from the replicates) widen
    by that amount; the point estimate does not move.

    Returns
    -------
    (UncertaintyResult, float)
        The widened copy and the shift applied (CNY).
    """
    import dataclasses

    shift = abs(float(relative_error)) * max(float(stream_value), 0.0)
    replicates = unc.replicates.copy()
    values = replicates["combined"].to_numpy(float)
    replicates["combined"] = values + np.sign(values - unc.point) * shift
    percentiles = unc.percentiles.copy()
    kept = replicates["combined"].dropna().to_numpy(float)
    if len(kept):
        levels = [int(str(label).lstrip("P")) for label in percentiles.index]
        percentiles["combined"] = np.percentile(kept, levels)
    return dataclasses.replace(unc, replicates=replicates, percentiles=percentiles), shift


def stream_for(name: str, template, spend_model, params):
    """An unfitted stream for the chosen model, and which summary it is fitted on."""
    from valuation.value.opportunities import OpportunityStream
    from valuation.value.streams import PurchaseStream

    if name == "BetaGeoBetaBinom":
        return OpportunityStream(template, spend_model, 1.0), "opportunities"
    return PurchaseStream(template, spend_model, periods_per_year(params.time_unit)), "rfm"


def with_births(orders: pd.DataFrame, births: pd.Series | None,
                period_months: int | None = None) -> pd.DataFrame:
    """The stream's purchases plus, for every customer whose first order with the business
    (``births``: first paid order of any kind, e.g. a membership fee) comes before her first
    purchase in this stream, a zero-amount row on that date.

    A stream that leaves some orders out (membership fees valued by their own stream) then
    counts its customers from their arrival, as the generator of such a business does:
    a member who has not bought an exam course yet is a customer of the exam stream with no
    purchase so far, and her first exam purchase is a repeat transaction.

    With ``period_months`` (the BG/BB's periods) the arrival row is dated one period before
    the arrival, for every arriving customer: her first period with the business is then an
    opportunity of the stream (a member can sit an exam in her first membership year), not
    the model's birth period, which BG/BB does not forecast.
    """
    if births is None or births.empty:
        return orders
    first_stream = orders.groupby("customer_token", observed=True)["order_date"].min()
    first_stream = first_stream.reindex(births.index)
    if period_months:
        earlier = births.loc[first_stream.isna().to_numpy() | (births <= first_stream).to_numpy()]
        dates = (pd.DatetimeIndex(earlier.to_numpy()) - pd.DateOffset(months=period_months))
    else:
        earlier = births.loc[first_stream.isna().to_numpy() | (births < first_stream).to_numpy()]
        dates = pd.DatetimeIndex(earlier.to_numpy())
    if earlier.empty:
        return orders
    extra = pd.DataFrame({"customer_token": earlier.index.to_numpy(),
                          "order_date": dates, "net_amount": 0.0})
    return pd.concat([orders[["customer_token", "order_date", "net_amount"]], extra],
                     ignore_index=True)


def fit_chosen_stream(orders: pd.DataFrame, params, tokens: pd.Index, purchase_template,
                      spend_template, births: pd.Series | None = None
                      ) -> tuple[object | None, ModelChoice, str | None]:
    """Compare the candidates on the holdout, then fit the chosen one on all purchases up to
    ``as_of`` (falling back to the next-best candidate when that refit fails).

    ``births`` (first paid order of any kind per customer) start the stream's customers at
    their arrival (:func:`with_births`).

    Returns
    -------
    (stream, choice, reason)
        The fitted stream (None when no candidate could be fitted), the comparison, and why
        none could (None otherwise).
    """
    from valuation.features import opportunity_summary, rfm_summary

    choice = compare_models(orders, params, tokens, purchase_template, births)
    ok = choice.table.loc[choice.table["status"] == "ok"]
    order = ([choice.chosen] if choice.chosen else []) + [
        name for name in ok["aggregate_error"].abs().sort_values().index if name != choice.chosen]
    templates = _candidates(purchase_template, choice.discrete)
    failures = []
    for name in order:
        stream, kind = stream_for(name, copy.deepcopy(templates[name]), spend_template, params)
        if kind == "opportunities":
            table = opportunity_summary(with_births(orders, births, 12), amount="net_amount",
                                        calibration_end=params.as_of)
        else:
            table = rfm_summary(with_births(orders, births), amount="net_amount",
                                calibration_end=params.as_of, time_unit=params.time_unit)
        timing = table.attrs.get("timing")
        table = table.loc[table.index.isin(tokens)]
        if timing is not None:
            table.attrs["timing"] = timing
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                stream.fit(table)
        except ValuationError as exc:
            failures.append(f"{name}: {str(exc).splitlines()[0]}")
            continue
        if name != choice.chosen:
            choice.notes.append(f"{choice.chosen} could not be refitted on all purchases "
                                f"({'; '.join(failures)}); the next best, {name}, is used.")
            choice.table["chosen"] = choice.table.index == name
            choice.chosen = name
        return stream, choice, None
    reason = "no candidate purchase model could be fitted (" + (
        "; ".join(failures) or "; ".join(f"{n}: {s}" for n, s in choice.table["status"].items())
    ) + ")"
    return None, choice, reason


def choice_note(choice: ModelChoice) -> str:
    """One method note stating the comparison and the choice."""
    parts = []
    for name, row in choice.table.iterrows():
        if row["status"] == "ok":
            parts.append(f"{name} {row['predicted']:,.0f} predicted vs {row['actual']:,.0f} "
                         f"actual ({row['aggregate_error']:+.1%}, MAE {row['mae']:.3f})")
        else:
            parts.append(f"{name} {row['status']}")
    text = (f"Purchase model chosen by holdout ({choice.holdout[0]} to {choice.holdout[1]}; "
            f"rule: {RULE_TEXT}): " + "; ".join(parts) + f". Chosen: {choice.chosen}. "
            f"Discrete opportunities: {'yes' if choice.discrete else 'no'} "
            f"({choice.discrete_evidence}).")
    if choice.missed:
        text += (f" WARNING: the chosen model misses the holdout by {choice.chosen_error:+.1%} "
                 f"(more than {MISS_THRESHOLD:.0%}); the value range is widened by that error "
                 "applied to the purchase stream's value.")
    return " ".join([text, *choice.notes])
