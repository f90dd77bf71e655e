"""The named review checks of ``docs/contract.md`` ("Review checks"), on analysis tables only.

Every check is a small function ``(ReviewContext) -> CheckResult`` registered once, with its
group, unit, treatment and base severity, in :data:`CHECKS`. The checks read only the
token-only analysis tables (``valuation.tables.ANALYSIS_COLUMNS``); the identifier flags
(``id_checksum_ok``, ``mobile_dummy``, ``person_token``, ``minor`` ...) are computed by the
privacy gate.

Treatments (what the valuation does with the records a check finds)
-------------------------------------------------------------------
exclude
    ``duplicate_person``: the second and later records of a person are merged into the first
    (earliest signup), so one person is valued once, with all of their orders.
    ``signup_burst``: signups on a burst day look fabricated (bulk-created accounts inflate
    the customer count a seller shows); a buyer should not pay for them.
    ``dummy_phone``: a placeholder number (13800000000 ...) is the signature of an account
    typed in to fill a form; the person can neither be verified nor contacted after the
    transfer.
    ``orphan_orders``: an order without a customer cannot be attributed to anybody.
    ``non_positive_amount``: a zero or negative "payment" is not revenue.
    ``future_dates``: a date after ``as_of`` cannot have happened yet; a customer whose signup
    lies in the future is excluded with all of their records.
flag
    Every other check. The record is probably real with a wrong or missing field (a mistyped
    ID number, a family sharing one phone, a date typed before the opening), or the problem
    is legal rather than economic (missing consent, minors without guardian consent, which the
    consent cohorts of the valuation handle). Those records stay in the valuation and the
    uncertainty is priced by the report's haircut instead.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from valuation.quality.base import (
    DATE_COLUMNS,
    Check,
    CheckResult,
    ReviewContext,
    day,
    is_blank,
    is_false,
    is_true,
)

BURST_FLOOR = 30
"""A signup day is a burst only if its count exceeds at least this many signups."""
BURST_MADS = 10.0
"""... and exceeds the median daily count by this many median absolute deviations."""
REFUND_ACTIVITY_GRACE_DAYS = 30
"""Activity this many days after the last (fully refunded) order is still normal."""


def _result(table: str, frame: pd.DataFrame, mask: pd.Series) -> CheckResult:
    """A result counting the rows of ``frame`` selected by ``mask``."""
    mask = mask.reindex(frame.index, fill_value=False).astype(bool)
    hit = frame.loc[mask]
    tokens = pd.Index(hit["customer_token"].dropna().unique())
    return CheckResult(failed=int(mask.sum()), customers=tokens, rows={table: hit.index})


def _customer_result(ctx: ReviewContext, mask: pd.Series) -> CheckResult:
    return _result("customers", ctx.customers, mask)


def _order_result(ctx: ReviewContext, mask: pd.Series) -> CheckResult:
    return _result("orders", ctx.orders, mask)


def duplicate_map(customers: pd.DataFrame) -> pd.Series:
    """Map each second-or-later record of a person to the person's first record.

    The first record is the earliest signup (ties: the smaller customer token, so the
    choice does not depend on row order). Customers without a person token are never
    duplicates.

    Returns
    -------
    Series
        Index: customer token of a duplicate record; values: customer token of the first
        record of the same person.
    """
    known = customers.loc[customers["person_token"].notna(), ["customer_token", "person_token",
                                                               "signup_date"]]
    ordered = known.sort_values(["person_token", "signup_date", "customer_token"],
                                na_position="last", kind="mergesort")
    first = ordered.groupby("person_token", sort=False)["customer_token"].transform("first")
    later = ordered["customer_token"] != first
    return pd.Series(first[later].to_numpy(), index=pd.Index(ordered.loc[later, "customer_token"]),
                     name="first_customer_token", dtype="string")


# ---------------------------------------------------------------------------------------
# authenticity (真实性)
# ---------------------------------------------------------------------------------------
def invalid_id_checksum(ctx: ReviewContext) -> CheckResult:
    """ID number present but its MOD 11-2 check digit is wrong (``id_checksum_ok`` False)."""
    c = ctx.customers
    return _customer_result(ctx, is_true(c["id_present"]) & is_false(c["id_checksum_ok"]))


def impossible_birth_date(ctx: ReviewContext) -> CheckResult:
    """Check digit OK but the birth date is impossible (``id_birthdate_ok`` False).

    The gate sets ``id_birthdate_ok`` against the signup date: a real calendar date, not
    after signup, age at signup at most 100 (``valuation.privacy.gate.MAX_AGE_AT_SIGNUP``).
    """
    c = ctx.customers
    return _customer_result(ctx, is_true(c["id_checksum_ok"]) & is_false(c["id_birthdate_ok"]))


def dummy_phone(ctx: ReviewContext) -> CheckResult:
    """The mobile is a known dummy number (``mobile_dummy``)."""
    return _customer_result(ctx, is_true(ctx.customers["mobile_dummy"]))


def repeated_phone(ctx: ReviewContext) -> CheckResult:
    """A valid non-dummy mobile shared with a customer of a different person token."""
    c = ctx.customers
    usable = (is_true(c["mobile_valid"]) & ~is_true(c["mobile_dummy"])
              & c["mobile_token"].notna().to_numpy())
    # A missing person token is a person of its own (never "the same" as another).
    person = c["person_token"].astype("string").fillna("<none>:" + c["customer_token"].astype(str))
    persons_per_mobile = person[usable].groupby(c.loc[usable, "mobile_token"]).transform("nunique")
    mask = pd.Series(False, index=c.index)
    mask.loc[persons_per_mobile.index] = persons_per_mobile.gt(1).to_numpy()
    return _customer_result(ctx, mask)


def duplicate_person(ctx: ReviewContext) -> CheckResult:
    """Second and later customer records of the same person token (n records count n-1)."""
    c = ctx.customers
    return _customer_result(ctx, c["customer_token"].isin(duplicate_map(c).index))


def signup_burst(ctx: ReviewContext) -> CheckResult:
    """Signups on days whose count exceeds max(30, median + 10 x MAD) of daily signups.

    Daily counts are taken over the days with at least one signup; MAD is the unscaled
    median absolute deviation of those counts.
    """
    c = ctx.customers
    days = day(c["signup_date"])
    daily = days.value_counts()
    if daily.empty:
        return _customer_result(ctx, pd.Series(False, index=c.index))
    median = float(daily.median())
    mad = float((daily - median).abs().median())
    threshold = max(BURST_FLOOR, median + BURST_MADS * mad)
    burst_days = daily.index[daily > threshold]
    return _customer_result(ctx, days.isin(burst_days))


# ---------------------------------------------------------------------------------------
# completeness (完整性)
# ---------------------------------------------------------------------------------------
def missing_fields(ctx: ReviewContext) -> CheckResult:
    """Any of name, mobile, ID number, city, channel empty (e-mail is optional)."""
    c = ctx.customers
    mask = (~is_true(c["name_present"]) | ~is_true(c["mobile_present"])
            | ~is_true(c["id_present"]) | is_blank(c["city"]) | is_blank(c["channel"]))
    return _customer_result(ctx, mask)


def orphan_orders(ctx: ReviewContext) -> CheckResult:
    """Orders whose customer token is not in the customers table."""
    o = ctx.orders
    return _order_result(ctx, ~o["customer_token"].isin(ctx.customers["customer_token"]))


def missing_consent(ctx: ReviewContext) -> CheckResult:
    """Customers whose transfer consent is empty (neither yes nor no)."""
    return _customer_result(ctx, ctx.customers["consent_transfer"].isna())


def minor_without_guardian_consent(ctx: ReviewContext) -> CheckResult:
    """Under 14 at signup and guardian consent not true (PIPL Art. 31)."""
    c = ctx.customers
    return _customer_result(ctx, is_true(c["minor"]) & ~is_true(c["guardian_consent"]))


# ---------------------------------------------------------------------------------------
# consistency (一致性)
# ---------------------------------------------------------------------------------------
def _signup_of_orders(ctx: ReviewContext) -> pd.Series:
    signup = ctx.customers.drop_duplicates("customer_token").set_index("customer_token")
    return ctx.orders["customer_token"].map(day(signup["signup_date"]))


def payment_before_signup(ctx: ReviewContext) -> CheckResult:
    """Orders dated before their customer's signup date."""
    signup = _signup_of_orders(ctx)
    return _order_result(ctx, (day(ctx.orders["order_date"]) < signup).fillna(False))


def non_positive_amount(ctx: ReviewContext) -> CheckResult:
    """Orders with an amount of zero or less."""
    return _order_result(ctx, (ctx.orders["amount"] <= 0).fillna(False))


def refund_exceeds_payment(ctx: ReviewContext) -> CheckResult:
    """Orders refunded more than was paid (amount > 0)."""
    o = ctx.orders
    too_much = (o["refund_amount"] > o["amount"]) & (o["amount"] > 0)
    return _order_result(ctx, too_much.fillna(False))


def activity_after_full_refund(ctx: ReviewContext) -> CheckResult:
    """Every order fully refunded, yet activity more than 30 days after the last order."""
    o = ctx.orders
    refund = o["refund_amount"].fillna(0.0)
    fully = ((o["amount"] > 0) & (refund >= o["amount"])).fillna(False)
    per_customer = fully.groupby(o["customer_token"]).all().astype(bool)
    refunded = per_customer.index[per_customer.to_numpy()]
    last_order = day(o["order_date"]).groupby(o["customer_token"]).max().reindex(refunded)
    a = ctx.activity
    limit = a["customer_token"].map(last_order + pd.Timedelta(days=REFUND_ACTIVITY_GRACE_DAYS))
    late = (day(a["event_date"]) > limit).fillna(False)
    bad_tokens = pd.Index(a.loc[late, "customer_token"].unique())
    return _customer_result(ctx, ctx.customers["customer_token"].isin(bad_tokens))


def _dated_records(ctx: ReviewContext, test: Callable[[pd.Series], pd.Series]) -> CheckResult:
    """Rows of all four tables whose date passes ``test`` (records summed over tables)."""
    rows: dict[str, pd.Index] = {}
    tokens: list[pd.Index] = []
    failed = 0
    for table, column in DATE_COLUMNS.items():
        frame = ctx.tables[table]
        mask = test(day(frame[column])).fillna(False).astype(bool)
        rows[table] = frame.index[mask]
        tokens.append(pd.Index(frame.loc[mask, "customer_token"].dropna().unique()))
        failed += int(mask.sum())
    merged = tokens[0].append(tokens[1:]).unique() if tokens else pd.Index([])
    return CheckResult(failed=failed, customers=pd.Index(merged), rows=rows)


def future_dates(ctx: ReviewContext) -> CheckResult:
    """Signup, order, event and feedback dates after ``as_of`` (all four tables summed)."""
    return _dated_records(ctx, lambda dates: dates > ctx.as_of)


def before_opening(ctx: ReviewContext) -> CheckResult:
    """Signup, order, event and feedback dates before ``data.opened`` (all tables summed)."""
    if ctx.opened is None:
        return CheckResult(failed=0, customers=pd.Index([]),
                           skipped="not checked: data.opened is not set in the params")
    opened = ctx.opened
    return _dated_records(ctx, lambda dates: dates < opened)


# ---------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------
CHECKS: tuple[Check, ...] = (
    Check("invalid_id_checksum", "authenticity", "customers", invalid_id_checksum, "flag",
          "low", True, "likely a typing error in a real record; value kept, priced by the haircut"),
    Check("impossible_birth_date", "authenticity", "customers", impossible_birth_date, "flag",
          "low", True, "identity doubtful but orders may be real; kept, priced by the haircut"),
    Check("dummy_phone", "authenticity", "customers", dummy_phone, "exclude",
          "medium", False, "placeholder number: account cannot be verified or contacted"),
    Check("repeated_phone", "authenticity", "customers", repeated_phone, "flag",
          "low", True, "families often share a phone; kept, priced by the haircut"),
    Check("duplicate_person", "authenticity", "customers", duplicate_person, "exclude",
          "medium", False, "same person under several numbers: merged into the first record"),
    Check("signup_burst", "authenticity", "customers", signup_burst, "exclude",
          "high", False, "bulk signups look fabricated: not paid for"),
    Check("missing_fields", "completeness", "customers", missing_fields, "flag",
          "low", True, "incomplete record, orders real; kept, priced by the haircut"),
    Check("orphan_orders", "completeness", "orders", orphan_orders, "exclude",
          "medium", False, "revenue without a customer cannot be attributed"),
    Check("missing_consent", "completeness", "customers", missing_consent, "flag",
          "medium", False, "legal, not economic: handled by the consent cohorts"),
    Check("minor_without_guardian_consent", "completeness", "customers",
          minor_without_guardian_consent, "flag", "high", False,
          "PIPL Art. 31 risk: handled by the consent cohorts, flagged for the lawyers"),
    Check("payment_before_signup", "consistency", "orders", payment_before_signup, "flag",
          "low", True, "signup date probably wrong, payment real; kept, priced by the haircut"),
    Check("non_positive_amount", "consistency", "orders", non_positive_amount, "exclude",
          "low", False, "a zero or negative payment is not revenue"),
    Check("refund_exceeds_payment", "consistency", "orders", refund_exceeds_payment, "flag",
          "medium", True, "books do not reconcile; kept, priced by the haircut"),
    Check("activity_after_full_refund", "consistency", "customers", activity_after_full_refund,
          "flag", "medium", True, "possible refund abuse or fake refunds; priced by the haircut"),
    Check("future_dates", "consistency", "records", future_dates, "exclude",
          "medium", False, "cannot have happened by as_of: records removed"),
    Check("before_opening", "consistency", "records", before_opening, "flag",
          "low", True, "date probably mistyped, record real; kept, priced by the haircut"),
)
"""Every review check, in report order. Names are binding (``docs/contract.md``)."""

CHECK_NAMES: tuple[str, ...] = tuple(check.name for check in CHECKS)
