"""Planting the review-check defects at exact counts, on disjoint records.

Customer-level defects are chosen on the population before simulation and applied after it;
order, activity and feedback defects are planted in the first chunk, on clean customers only
(no natural refund, not a customer-level carrier, not signed up on the burst day). Every
carrier is drawn without replacement from one shrinking pool, so one record carries one defect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.errors import SampleError
from valuation.privacy.identifiers import ID_CHECK_CHARS, id_check_digit
from valuation.samples import vocab
from valuation.samples.population import day_number, to_datetime64
from valuation.samples.simulate import Chunk
from valuation.samples.specs import DefectPlan, TargetSpec

MISSING_FIELDS = ("name", "mobile", "id_number", "city", "channel")


def _take(rng: np.random.Generator, pool: np.ndarray, k: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``k`` carriers from ``pool`` (positions); return them and the remaining pool."""
    if k > pool.size:
        raise SampleError(
            f"too few eligible customers to plant {k} '{what}' defect(s) (found {pool.size}); "
            "generate more customers (--customers 200 or more)"
        )
    chosen = np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]
    return chosen, np.setdiff1d(pool, chosen)


def choose_customer_carriers(
    rng: np.random.Generator, pop: pd.DataFrame, spec: TargetSpec, plan: DefectPlan
) -> dict[str, np.ndarray]:
    """Population positions carrying each customer-level defect (disjoint sets)."""
    natural = pop["_kind"].to_numpy() == "natural"
    age = pop["_age"].to_numpy()
    signup = pop["_signup"].to_numpy()
    as_of = day_number(spec.as_of)
    adults = np.flatnonzero(natural & (age >= 20) & (age <= 60))
    minors = np.flatnonzero(natural & (age < 14))
    carriers: dict[str, np.ndarray] = {}
    # before_opening: the earliest adult signups, moved a few weeks before the opening.
    earliest = adults[np.argsort(signup[adults], kind="stable")][: max(40, 4 * plan.before_opening.get("customers", 0))]
    carriers["before_opening"], _ = _take(rng, earliest, plan.before_opening.get("customers", 0), "before_opening")
    pool = np.setdiff1d(adults, carriers["before_opening"])
    dup_pool = pool[signup[pool] <= as_of - 90]
    carriers["duplicate_person"], _ = _take(rng, dup_pool, plan.duplicate_person, "duplicate_person")
    pool = np.setdiff1d(pool, carriers["duplicate_person"])
    for name, k in (("invalid_id_checksum", plan.invalid_id_checksum),
                    ("impossible_birth_date", plan.impossible_birth_date),
                    ("dummy_phone", plan.dummy_phone),
                    ("repeated_phone", 2 * plan.repeated_phone_pairs),
                    ("missing_fields", plan.missing_fields),
                    ("missing_consent", plan.missing_consent)):
        carriers[name], pool = _take(rng, pool, k, name)
    carriers["minor_without_guardian_consent"], _ = _take(
        rng, minors, plan.minor_without_guardian_consent, "minor_without_guardian_consent")
    return carriers


def _with_check(first17: str) -> str:
    return first17 + id_check_digit(first17)


def apply_customer_defects(
    rng: np.random.Generator, pop: pd.DataFrame, carriers: dict[str, np.ndarray], spec: TargetSpec
) -> pd.DataFrame:
    """The exported customer table: population with its defects applied and duplicates added."""
    out = pop.copy()
    col = out.columns.get_loc
    # invalid_id_checksum: a wrong check character.
    for i in carriers.get("invalid_id_checksum", []):
        first17 = out.iat[i, col("id_number")][:17]
        right = id_check_digit(first17)
        wrong = [c for c in ID_CHECK_CHARS if c != right]
        out.iat[i, col("id_number")] = first17 + wrong[rng.integers(0, len(wrong))]
    # impossible_birth_date: valid check digit, but an unreal date, a birth after signup,
    # or an age over 100 at signup. Guardian consent is set so no minor rule can also fire.
    for j, i in enumerate(carriers.get("impossible_birth_date", [])):
        ident = out.iat[i, col("id_number")]
        signup = pd.Timestamp(out.iat[i, col("signup_date")])
        variant = j % 3
        if variant == 0:
            birth = f"{ident[6:10]}{('0230', '1315', '0431', '0000')[j // 3 % 4]}"
        elif variant == 1:
            later = signup + pd.Timedelta(days=int(rng.integers(30, 300)))
            birth = later.strftime("%Y%m%d")
        else:
            birth = f"{rng.integers(1898, 1915)}{ident[10:14]}"
            if birth[4:] == "0229":
                birth = birth[:4] + "0228"
        out.iat[i, col("id_number")] = _with_check(ident[:6] + birth + ident[14:17])
        out.iat[i, col("guardian_consent")] = True
    for j, i in enumerate(carriers.get("dummy_phone", [])):
        out.iat[i, col("mobile")] = vocab.PLANTED_DUMMIES[j % len(vocab.PLANTED_DUMMIES)]
    pairs = carriers.get("repeated_phone", np.zeros(0, dtype=int))
    for a, b in zip(pairs[0::2], pairs[1::2]):
        m = out.iat[a, col("_mobile")]
        out.iat[b, col("mobile")] = f"+86 {m[:3]} {m[3:7]} {m[7:]}" if rng.random() < 0.5 else m
        out.iat[b, col("_mobile")] = m
    for j, i in enumerate(carriers.get("missing_fields", [])):
        out.iat[i, col(MISSING_FIELDS[j % len(MISSING_FIELDS)])] = pd.NA
    for i in carriers.get("missing_consent", []):
        out.iat[i, col("consent_transfer")] = pd.NA
    for j, i in enumerate(carriers.get("minor_without_guardian_consent", [])):
        out.iat[i, col("guardian_consent")] = False if j % 2 == 0 else pd.NA
    opened = day_number(spec.opened)
    for i in carriers.get("before_opening", []):
        day = opened - int(rng.integers(1, 60))
        out.iat[i, col("signup_date")] = to_datetime64(np.array([day]))[0]
        out.iat[i, col("_signup")] = day
    return pd.concat([out, _duplicates(rng, out, carriers.get("duplicate_person", []), spec)],
                     ignore_index=True)


def _duplicates(rng: np.random.Generator, pop: pd.DataFrame, originals, spec: TargetSpec) -> pd.DataFrame:
    """Second customer records of the same people, registered again later."""
    copies = pop.iloc[list(originals)].copy()
    if copies.empty:
        return copies
    as_of, burst = day_number(spec.as_of), day_number(spec.burst_day)
    signup = copies["_signup"].to_numpy()
    day = signup + rng.integers(20, np.maximum(21, np.minimum(400, as_of - 30 - signup)))
    day = np.where(day == burst, day + 1, day)
    copies["_signup"] = day
    copies["signup_date"] = to_datetime64(day)
    width = len(pop["customer_id"].iat[0]) - len(spec.id_prefix)
    start = int(pop["customer_id"].str[len(spec.id_prefix):].astype(int).max()) + 1
    copies["customer_id"] = [f"{spec.id_prefix}{start + k:0{width}d}" for k in range(len(copies))]
    dashed = copies["_mobile"].map(lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}")
    copies["mobile"] = np.where(rng.random(len(copies)) < 0.5, dashed, copies["_mobile"])
    copies["channel"] = np.array([c for c, _ in spec.channels])[rng.integers(0, len(spec.channels), len(copies))]
    copies["_kind"] = "duplicate"
    for c in ("customer_id", "mobile", "channel"):
        copies[c] = copies[c].astype("string")
    return copies


def plant_chunk_defects(
    rng: np.random.Generator, chunk: Chunk, cust: pd.DataFrame, clean: np.ndarray,
    spec: TargetSpec, plan: DefectPlan, blank_names: np.ndarray,
) -> tuple[Chunk, pd.DataFrame]:
    """Plant order, activity and feedback defects in one chunk; also its orphan orders.

    Parameters
    ----------
    cust : DataFrame
        The chunk's customers (population rows, before customer-level defects).
    clean : ndarray of bool
        Chunk rows that carry no customer-level defect and did not sign up on the burst day.
    blank_names : ndarray of bool
        Chunk rows whose name will be blanked: their feedback must not quote the name.

    Returns
    -------
    Chunk, DataFrame
        The chunk with defects, and the orphan orders (with a ``customer_id`` column).
    """
    orders, activity, feedback = chunk.orders.copy(), chunk.activity.copy(), chunk.feedback.copy()
    as_of, opened = day_number(spec.as_of), day_number(spec.opened)
    signup = cust["_signup"].to_numpy()
    n = len(cust)
    quote = blank_names[feedback["_row"].to_numpy()] & (feedback["pii"] == "name").to_numpy()
    feedback.loc[quote, "text"] = "整体满意。"
    feedback.loc[quote, "pii"] = ""
    o_row = orders["_row"].to_numpy()
    n_orders = np.bincount(o_row, minlength=n)
    refunded = np.bincount(o_row, weights=(orders["refund"] > 0).to_numpy(float), minlength=n) > 0
    last_order = np.full(n, -1)
    np.maximum.at(last_order, o_row, orders["day"].to_numpy())
    n_feedback = np.bincount(feedback["_row"].to_numpy(), minlength=n)
    n_activity = np.bincount(activity["_row"].to_numpy(), minlength=n)
    eligible = clean & ~refunded & (n_orders >= 1) & (signup >= opened + 60) & (signup <= as_of - 150)
    pool = np.flatnonzero(eligible)

    def take(k: int, what: str, mask: np.ndarray | None = None) -> np.ndarray:
        nonlocal pool
        sub = pool if mask is None else pool[mask[pool]]
        chosen, _ = _take(rng, sub, k, what)
        pool = np.setdiff1d(pool, chosen)
        return chosen

    for r in take(plan.payment_before_signup, "payment_before_signup"):
        first = orders.index[orders["_row"] == r][0]
        orders.at[first, "day"] = signup[r] - int(rng.integers(1, 21))
    for j, r in enumerate(take(plan.non_positive_amount, "non_positive_amount")):
        first = orders.index[orders["_row"] == r][0]
        orders.at[first, "amount"] = 0.0 if j % 2 == 0 else -orders.at[first, "amount"]
    for r in take(plan.refund_exceeds_payment, "refund_exceeds_payment", n_orders >= 2):
        first = orders.index[orders["_row"] == r][0]
        orders.at[first, "refund"] = round(orders.at[first, "amount"] + float(rng.integers(10, 300)), 2)
    new_activity = []
    for r in take(plan.activity_after_full_refund, "activity_after_full_refund", last_order <= as_of - 100):
        mine = orders["_row"] == r
        orders.loc[mine, "refund"] = orders.loc[mine, "amount"]
        acts = activity.loc[activity["_row"] == r, "day"]
        if not (acts > last_order[r] + 30).any():
            new_activity.append((r, last_order[r] + int(rng.integers(35, 90)), "login", 1))
    new_orders = []
    for r in take(plan.future.get("orders", 0), "future_dates (orders)"):
        first = orders[orders["_row"] == r].iloc[0]
        new_orders.append({**first.to_dict(), "day": as_of + int(rng.integers(1, 120)),
                           "refund": 0.0, "plan": "full"})
    for r in take(plan.future.get("activity", 0), "future_dates (activity)"):
        new_activity.append((r, as_of + int(rng.integers(1, 60)), "login", 1))
    for r in take(plan.future.get("feedback", 0), "future_dates (feedback)", n_feedback >= 1):
        last = feedback.index[feedback["_row"] == r][-1]
        feedback.at[last, "day"] = as_of + int(rng.integers(1, 60))
    for r in take(plan.before_opening.get("activity", 0), "before_opening (activity)", n_activity >= 1):
        first = activity.index[activity["_row"] == r][0]
        activity.at[first, "day"] = opened - int(rng.integers(1, 90))
    for r in take(plan.before_opening.get("feedback", 0), "before_opening (feedback)", n_feedback >= 1):
        first = feedback.index[feedback["_row"] == r][0]
        feedback.at[first, "day"] = opened - int(rng.integers(1, 90))
    if new_orders:
        orders = pd.concat([orders, pd.DataFrame(new_orders)], ignore_index=True)
    if new_activity:
        activity = pd.concat([activity, pd.DataFrame(new_activity, columns=["_row", "day", "type", "count"])],
                             ignore_index=True)
    plain = chunk.orders[(chunk.orders["refund"] == 0) & (chunk.orders["amount"] > 0)]
    orphans = plain.sample(n=plan.orphan_orders, random_state=rng) if plan.orphan_orders else plain.iloc[:0]
    orphans = orphans.assign(refund=0.0, plan="full",
                             day=rng.integers(opened + 30, as_of, size=len(orphans)), _row=-1)
    for frame in (orders, activity, feedback):
        frame.sort_values(["_row", "day"], kind="stable", inplace=True)
        frame.reset_index(drop=True, inplace=True)
    return Chunk(orders, activity, feedback), orphans
