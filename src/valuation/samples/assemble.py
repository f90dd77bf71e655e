"""One sample target end to end, in memory-bounded chunks: population, simulation, defects,
raw canonical tables and the ground truth computed from exactly what is exported."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from valuation.errors import SampleError
from valuation.samples import defects as plant
from valuation.samples.population import day_number, draw_population, to_datetime64
from valuation.samples.simulate import SIMULATORS
from valuation.samples.specs import CHECKS, DefectPlan, TARGETS, TargetSpec
from valuation.samples.truth import generator_truth
from valuation.tables import RAW_COLUMNS

CHUNK_CUSTOMERS = 50_000
MIN_CUSTOMERS = 200


def target_spec(name: str) -> TargetSpec:
    """The spec of a sample target, or a :class:`SampleError` naming the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise SampleError(f"unknown sample target {name!r}; choose one of: {', '.join(TARGETS)}") from None


def scaled_purchase_rate(spec: TargetSpec, purchase_rate: float) -> TargetSpec:
    """``spec`` with every customer's BG/NBD purchase rate multiplied by ``purchase_rate``.

    The rate of a customer is Gamma(r, alpha) distributed, so scaling it by ``c`` divides
    ``alpha`` by ``c``; the ground truth then records the new ``alpha``. Only targets with a
    BG/NBD purchase process (the online school) accept a rate other than 1.
    """
    if purchase_rate == 1.0:
        return spec
    if not purchase_rate > 0:
        raise SampleError(f"--purchase-rate must be positive (got {purchase_rate})")
    if "bgnbd" not in spec.generator:
        raise SampleError(f"{spec.name} has no BG/NBD purchase process: --purchase-rate applies "
                          "only to online_school")
    bg = spec.generator["bgnbd"]
    generator = {**spec.generator, "bgnbd": {**bg, "alpha": bg["alpha"] / purchase_rate}}
    return replace(spec, generator=generator)


def seed_sequence(seed: int, name: str, *stream: int) -> np.random.SeedSequence:
    """An independent random stream per (seed, target, purpose); stable across runs."""
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), *stream])


def effective_plan(spec: TargetSpec, customers: int, defects: bool) -> DefectPlan:
    """The defect plan for a size: none when clean; the burst scaled so it clears the
    threshold max(30, median + 10 MAD) however many customers there are."""
    if not defects:
        return DefectPlan()
    days = (spec.signup_end - spec.signup_start).days + 1
    burst = max(spec.defects.burst_extra, int(np.ceil(4.0 * customers / days)))
    return replace(spec.defects, burst_extra=burst)


def _as_raw(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    columns = RAW_COLUMNS[table]
    out = frame[list(columns)].copy()
    for col, dtype in columns.items():
        out[col] = out[col].astype(dtype)
    return out.reset_index(drop=True)


@dataclass
class _Tally:
    """Counts of the exported tables, accumulated chunk by chunk.

    ``active`` counts, per calendar month, the known customers with an order or an activity
    event dated on or before ``as_of`` (planted future-dated records are left out, so the
    months stop at the as-of month, as in :func:`valuation.activity.monthly_activity_panel`).
    """

    as_of: pd.Timestamp
    rows: Counter = field(default_factory=Counter)
    revenue: float = 0.0
    refunds: float = 0.0
    order_min: pd.Timestamp | None = None
    order_max: pd.Timestamp | None = None
    active: Counter = field(default_factory=Counter)
    pii: Counter = field(default_factory=Counter)
    students: int = 0
    follow_on_buyers: int = 0
    follow_on_purchases: int = 0

    def add_latent(self, latent: pd.DataFrame | None) -> None:
        """Follow-on purchases of the simulated students (bootcamp only)."""
        if latent is None or "follow_on_arrivals" not in latent:
            return
        arrivals = latent["follow_on_arrivals"].to_numpy()
        self.students += len(arrivals)
        self.follow_on_buyers += int((arrivals > 0).sum())
        self.follow_on_purchases += int(arrivals.sum())

    def add(self, tables: dict[str, pd.DataFrame], known_ids: pd.Series, pii: pd.Series) -> None:
        for name, frame in tables.items():
            self.rows[name] += len(frame)
        orders = tables["orders"]
        self.revenue += float(orders["amount"].sum())
        self.refunds += float(orders["refund_amount"].sum())
        if len(orders):
            lo, hi = orders["order_date"].min(), orders["order_date"].max()
            self.order_min = lo if self.order_min is None else min(self.order_min, lo)
            self.order_max = hi if self.order_max is None else max(self.order_max, hi)
        events = pd.concat([
            orders[["customer_id", "order_date"]].set_axis(["customer_id", "date"], axis=1),
            tables["activity"][["customer_id", "event_date"]].set_axis(["customer_id", "date"], axis=1),
        ])
        events = events[events["customer_id"].isin(known_ids) & (events["date"] <= self.as_of)]
        month = np.datetime_as_string(events["date"].to_numpy(dtype="datetime64[M]"), unit="M")
        pairs = pd.DataFrame({"c": events["customer_id"].to_numpy(), "m": month}).drop_duplicates()
        self.active.update(pairs["m"].value_counts().to_dict())
        self.pii.update(pii[pii != ""].value_counts().to_dict())


class TargetBuild:
    """A sample target being generated: the customer table, then its chunks, then the truth.

    Iterate :meth:`chunks` once (each item holds raw ``orders``, ``activity`` and ``feedback``
    tables); :attr:`ground_truth` is complete after the last chunk.
    """

    def __init__(self, name: str, seed: int, customers: int | None = None, defects: bool = True,
                 purchase_rate: float = 1.0):
        self.spec = scaled_purchase_rate(target_spec(name), purchase_rate)
        self.seed = int(seed)
        self.n = int(customers or self.spec.default_customers)
        if self.n < MIN_CUSTOMERS:
            raise SampleError(f"--customers must be at least {MIN_CUSTOMERS} (got {self.n}): "
                              "smaller targets cannot hold the planted defects")
        self.defects = bool(defects)
        self.plan = effective_plan(self.spec, self.n, self.defects)
        rng = np.random.default_rng(seed_sequence(self.seed, name, 0))
        self._pop = draw_population(rng, self.spec, self.n, self.plan.burst_extra,
                                    self.plan.future.get("customers", 0))
        self._carriers = plant.choose_customer_carriers(
            np.random.default_rng(seed_sequence(self.seed, name, 1)), self._pop, self.spec, self.plan)
        final = plant.apply_customer_defects(
            np.random.default_rng(seed_sequence(self.seed, name, 2)), self._pop, self._carriers, self.spec)
        self._check_burst(final)
        self.customers = _as_raw(final, "customers")
        self._known_ids = self.customers["customer_id"]
        self._tally = _Tally(pd.Timestamp(self.spec.as_of))
        self.ground_truth: dict | None = None

    def _check_burst(self, final: pd.DataFrame) -> None:
        """The burst must clear max(30, median + 10 MAD) and no other day may: verify."""
        daily = final["_signup"].value_counts()
        median = float(daily.median())
        mad = float((daily - median).abs().median())
        threshold = max(30.0, median + 10.0 * mad)
        over = daily[daily > threshold]
        expected = {day_number(self.spec.burst_day)} if self.plan.burst_extra else set()
        if set(over.index) != expected:
            raise SampleError(f"{self.spec.name}: the signup burst does not separate from the "
                              f"natural signups at {self.n} customers; try another size")
        self._burst_count = int(over.sum())

    def chunks(self) -> Iterator[dict[str, pd.DataFrame]]:
        """Yield raw ``orders``, ``activity``, ``feedback`` tables, chunk by chunk."""
        spec, pop = self.spec, self._pop
        simulate = SIMULATORS[spec.name]
        live = np.flatnonzero(pop["_kind"].to_numpy() != "future")
        carrier_rows = np.zeros(len(pop), dtype=bool)
        for rows in self._carriers.values():
            carrier_rows[rows] = True
        burst_day = pop["_signup"].to_numpy() == day_number(spec.burst_day)
        blank = np.zeros(len(pop), dtype=bool)
        missing = self._carriers.get("missing_fields", np.zeros(0, dtype=int))
        blank[missing[plant.MISSING_FIELDS.index("name")::len(plant.MISSING_FIELDS)]] = True
        next_order = 1
        width = len(self._known_ids.iat[0]) - len(spec.id_prefix)
        orphan_start = int(self._known_ids.str[len(spec.id_prefix):].astype(int).max()) + 5001
        for k, start in enumerate(range(0, live.size, CHUNK_CUSTOMERS)):
            rows = live[start:start + CHUNK_CUSTOMERS]
            cust = pop.iloc[rows].reset_index(drop=True)
            rng = np.random.default_rng(seed_sequence(self.seed, spec.name, 100 + k))
            chunk = simulate(rng, spec, cust)
            self._tally.add_latent(chunk.latent)
            orphans = chunk.orders.iloc[:0].assign(customer_id=pd.Series(dtype="string"))
            if k == 0 and self.defects:
                clean = ~carrier_rows[rows] & ~burst_day[rows]
                chunk, orphans = plant.plant_chunk_defects(
                    np.random.default_rng(seed_sequence(self.seed, spec.name, 3)), chunk, cust,
                    clean, spec, self.plan, blank[rows])
                orphans = orphans.assign(customer_id=[
                    f"{spec.id_prefix}{orphan_start + 37 * j:0{width}d}" for j in range(len(orphans))])
            ids = cust["customer_id"].to_numpy(dtype=object)
            orders = pd.concat([chunk.orders.assign(customer_id=ids[chunk.orders["_row"].to_numpy()]),
                                orphans], ignore_index=True)
            orders = orders.sort_values(["day", "customer_id"], kind="stable").reset_index(drop=True)
            orders["order_id"] = [f"{spec.order_prefix}{next_order + j:08d}" for j in range(len(orders))]
            next_order += len(orders)
            orders = orders.rename(columns={"refund": "refund_amount", "plan": "payment_plan"})
            orders["order_date"] = to_datetime64(orders["day"].to_numpy())
            activity = chunk.activity.assign(
                customer_id=ids[chunk.activity["_row"].to_numpy()],
                event_date=to_datetime64(chunk.activity["day"].to_numpy()),
            ).rename(columns={"type": "event_type"})
            activity = activity.sort_values(["customer_id", "event_date", "event_type"], kind="stable")
            feedback = chunk.feedback.assign(
                customer_id=ids[chunk.feedback["_row"].to_numpy()],
                feedback_date=to_datetime64(chunk.feedback["day"].to_numpy()),
            ).sort_values(["feedback_date", "customer_id"], kind="stable")
            tables = {"orders": _as_raw(orders, "orders"), "activity": _as_raw(activity, "activity"),
                      "feedback": _as_raw(feedback, "feedback")}
            self._tally.add(tables, self._known_ids, feedback["pii"])
            yield tables
        self.ground_truth = self._truth()

    def _defect_counts(self) -> dict[str, int]:
        p = self.plan
        counts = {
            "invalid_id_checksum": p.invalid_id_checksum,
            "impossible_birth_date": p.impossible_birth_date,
            "dummy_phone": p.dummy_phone,
            "repeated_phone": 2 * p.repeated_phone_pairs,
            "duplicate_person": p.duplicate_person,
            "signup_burst": self._burst_count,
            "missing_fields": p.missing_fields,
            "orphan_orders": p.orphan_orders,
            "missing_consent": p.missing_consent,
            "minor_without_guardian_consent": p.minor_without_guardian_consent,
            "payment_before_signup": p.payment_before_signup,
            "non_positive_amount": p.non_positive_amount,
            "refund_exceeds_payment": p.refund_exceeds_payment,
            "activity_after_full_refund": p.activity_after_full_refund,
            "future_dates": sum(p.future.values()),
            "before_opening": sum(p.before_opening.values()),
        }
        return {check: int(counts[check]) for check in CHECKS}

    def _generator_truth(self) -> dict:
        """The generating processes, with the realised follow-on purchases of the bootcamp."""
        truth = generator_truth(self.spec)
        t = self._tally
        if "follow_on" in truth:
            truth["follow_on"]["observed"] = {
                "students": t.students,
                "students_with_follow_on": t.follow_on_buyers,
                "share_with_follow_on": round(t.follow_on_buyers / max(t.students, 1), 4),
                "follow_on_purchases": t.follow_on_purchases,
                "note": ("simulated students (burst signups included, future-dated records "
                         "excluded); a purchase is one enrolment, paid in one order or in "
                         "instalments"),
            }
        return truth

    def _truth(self) -> dict:
        spec, t = self.spec, self._tally
        date = lambda d: None if d is None else pd.Timestamp(d).strftime("%Y-%m-%d")  # noqa: E731
        return {
            "target": spec.name,
            "company": spec.company,
            "seed": self.seed,
            "customers_requested": self.n,
            "clean": not self.defects,
            "opened": spec.opened.isoformat(),
            "as_of": spec.as_of.isoformat(),
            "calibration_end": spec.calibration_end.isoformat(),
            "counts": {
                "customers": len(self.customers),
                "orders": t.rows["orders"],
                "activity": t.rows["activity"],
                "feedback": t.rows["feedback"],
                "revenue": round(t.revenue, 2),
                "refunds": round(t.refunds, 2),
                "order_date_min": date(t.order_min),
                "order_date_max": date(t.order_max),
            },
            "activity": {"active_customers_by_month": dict(sorted(t.active.items()))},
            "generator": self._generator_truth(),
            "defects": self._defect_counts(),
            "defect_detail": {
                "signup_burst_day": spec.burst_day.isoformat() if self.plan.burst_extra else None,
                "future_dates_by_table": dict(self.plan.future),
                "before_opening_by_table": dict(self.plan.before_opening),
                "repeated_phone_pairs": self.plan.repeated_phone_pairs,
            },
            "feedback_pii": {kind: int(t.pii.get(kind, 0)) for kind in ("phone", "email", "name")},
        }


def generate_target(
    name: str, seed: int, *, customers: int | None = None, defects: bool = True,
    purchase_rate: float = 1.0,
) -> dict[str, pd.DataFrame | dict]:
    """Generate one sample target in memory.

    Parameters
    ----------
    name : str
        ``online_school``, ``bootcamp`` or ``cert_school``.
    seed : int
        Same seed, same tables (on any day).
    customers : int, optional
        Natural customers to generate (default: the committed sample's size; at least 200).
    defects : bool
        Plant the review-check defects at their exact counts (``False``: every count is 0).
    purchase_rate : float
        Multiplies every customer's purchase rate (BG/NBD targets only; see
        :func:`scaled_purchase_rate`). Benchmarks use it to reach 10^7 orders.

    Returns
    -------
    dict
        ``customers``, ``orders``, ``activity``, ``feedback``: raw canonical tables
        (:data:`valuation.tables.RAW_COLUMNS`), and ``ground_truth``: the truth dict written
        to ``ground_truth.json``.
    """
    build = TargetBuild(name, seed, customers, defects, purchase_rate)
    parts = list(build.chunks())
    out: dict[str, pd.DataFrame | dict] = {"customers": build.customers}
    for table in ("orders", "activity", "feedback"):
        out[table] = pd.concat([p[table] for p in parts], ignore_index=True)
    out["ground_truth"] = build.ground_truth
    return out
