"""The data review: run every check, then score the data and derive the valuation haircut.

Shares
------
``share_of_customers`` is the share of customer records owning at least one failing record.
``share_of_revenue`` is the net revenue (amount - refund, floored at 0 per customer) of the
affected customers over the total; orphan orders count with their own net revenue, keyed by
the unknown customer token they carry.

Severity
--------
``info`` when nothing fails. Otherwise the larger of the check's base severity and a level
set by ``share = max(share_of_customers, share_of_revenue)``: under 1 % low, under 5 % medium,
5 % or more high.

Score (0-100)
-------------
``score = max(0, 100 - sum_i (POINTS[sev_i] + 100 * WEIGHT[sev_i] * share_i))`` over the
failing checks, with POINTS = low 1, medium 2, high 4 (a fixed cost per failing check) and
WEIGHT = low 0.5, medium 1, high 2. Clean data scores exactly 100; the score never rises when a
share rises (severity only goes up with the share).

Haircut
-------
``haircut = min(HAIRCUT_CAP, sum_i HAIRCUT_WEIGHT[sev_i] * share_of_revenue_i)`` over the
failing checks whose records are *kept with a flag* and priced here (``Check.in_haircut``):
low 0.25, medium 0.5, high 1.0 of the revenue at stake. Excluded records are not in the
haircut (they are already out of the valuation), and consent checks are priced by the consent
cohorts instead. The cap, 30 %, is where the report says the data are not fit for a customer-
based valuation without a re-audit. Clean data: haircut 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from valuation.errors import ReviewError
from valuation.params import DealParams
from valuation.quality.base import (
    GROUP_ZH,
    Check,
    CheckResult,
    ReviewContext,
    build_context,
    missing_columns,
)
from valuation.quality.checks import CHECKS

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high")
SEVERITY_ZH: dict[str, str] = {"info": "无", "low": "低", "medium": "中", "high": "高"}
TREATMENT_ZH: dict[str, str] = {"exclude": "剔除", "flag": "标记保留"}
UNIT_ZH: dict[str, str] = {"customers": "学员", "orders": "订单", "records": "记录"}
COUNTED_ZH: dict[str, str] = {"customers": "名学员", "orders": "笔订单", "records": "条记录"}
SHARE_LEVELS: tuple[tuple[float, str], ...] = ((0.05, "high"), (0.01, "medium"), (0.0, "low"))
POINTS: dict[str, float] = {"info": 0.0, "low": 1.0, "medium": 2.0, "high": 4.0}
WEIGHT: dict[str, float] = {"info": 0.0, "low": 0.5, "medium": 1.0, "high": 2.0}
HAIRCUT_WEIGHT: dict[str, float] = {"info": 0.0, "low": 0.25, "medium": 0.5, "high": 1.0}
HAIRCUT_CAP = 0.30

CHECK_COLUMNS: tuple[str, ...] = (
    "check", "group", "group_zh", "unit", "failed", "share_of_customers", "share_of_revenue",
    "severity", "treatment", "why", "note",
)


def severity_for(failed: int, share: float, base: str) -> str:
    """The severity of a check: ``info`` if nothing fails, else max(base, level of share).

    Examples
    --------
    >>> severity_for(0, 0.0, "high")
    'info'
    >>> severity_for(3, 0.002, "low"), severity_for(3, 0.02, "low"), severity_for(3, 0.2, "low")
    ('low', 'medium', 'high')
    """
    if failed <= 0:
        return "info"
    by_share = next(level for bound, level in SHARE_LEVELS if share >= bound)
    return max(base, by_share, key=SEVERITIES.index)


def quality_score(rows: pd.DataFrame) -> float:
    """Score 0-100 of a checks table (see the module docstring for the formula)."""
    share = rows[["share_of_customers", "share_of_revenue"]].max(axis=1)
    points = rows["severity"].map(POINTS) + 100.0 * rows["severity"].map(WEIGHT) * share
    return float(max(0.0, 100.0 - points[rows["failed"] > 0].sum()))


def valuation_haircut(rows: pd.DataFrame, in_haircut: pd.Series) -> float:
    """Fraction of value to deduct for kept-but-flagged records (module docstring), capped."""
    priced = (rows["failed"] > 0) & (rows["treatment"] == "flag") & in_haircut.astype(bool)
    total = (rows["severity"].map(HAIRCUT_WEIGHT) * rows["share_of_revenue"])[priced].sum()
    return float(min(HAIRCUT_CAP, total))


def net_revenue_by_owner(orders: pd.DataFrame) -> pd.Series:
    """Net revenue (amount - refund) per customer token, floored at 0 per customer."""
    if orders.empty:
        return pd.Series(dtype="float64")
    net = orders["amount"].fillna(0.0) - orders["refund_amount"].fillna(0.0)
    return net.groupby(orders["customer_token"]).sum().clip(lower=0.0)


@dataclass
class QualityReport:
    """The result of :func:`review`.

    Attributes
    ----------
    checks : DataFrame
        One row a check (columns :data:`CHECK_COLUMNS`).
    score : float
        Data quality 0-100 (100 = no finding).
    haircut : float
        Fraction of value the valuation deducts, in [0, ``HAIRCUT_CAP``].
    excluded_customers : frozenset of str
        Customer tokens left out of the valuation (duplicates merged into their first
        record, burst signups, dummy phones, signups after ``as_of``).
    flagged_customers : frozenset of str
        Customer tokens kept but flagged by at least one check (excluded ones not repeated).
    n_customers, n_orders : int
        Records reviewed.
    revenue_total : float
        Net revenue reviewed (CNY).
    results : dict of str to CheckResult
        The raw findings per check (tokens and row labels; never published).
    """

    checks: pd.DataFrame
    score: float
    haircut: float
    excluded_customers: frozenset[str]
    flagged_customers: frozenset[str]
    n_customers: int
    n_orders: int
    revenue_total: float
    target: str = ""
    as_of: dt.date | None = None
    results: dict[str, CheckResult] = field(default_factory=dict, repr=False)

    def failed_counts(self) -> dict[str, int]:
        """``{check name: records failing}``, in report order."""
        return {row.check: int(row.failed) for row in self.checks.itertuples()}

    def findings(self) -> pd.DataFrame:
        """The rows of the checks table that failed."""
        return self.checks[self.checks["failed"] > 0].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The checks table (a copy)."""
        return self.checks.copy()

    def to_json_dict(self) -> dict:
        """Counts, shares, score and haircut only: no token, no row, no personal data."""
        checks = [
            {
                "check": row.check, "group": row.group, "group_zh": row.group_zh,
                "unit": row.unit, "failed": int(row.failed),
                "share_of_customers": round(float(row.share_of_customers), 6),
                "share_of_revenue": round(float(row.share_of_revenue), 6),
                "severity": row.severity, "treatment": row.treatment, "why": row.why,
                "note": row.note,
            }
            for row in self.checks.itertuples()
        ]
        return {
            "target": self.target,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "score": round(self.score, 2),
            "haircut": round(self.haircut, 6),
            "haircut_cap": HAIRCUT_CAP,
            "n_customers": self.n_customers,
            "n_orders": self.n_orders,
            "revenue_total": round(self.revenue_total, 2),
            "excluded_customers": len(self.excluded_customers),
            "flagged_customers": len(self.flagged_customers),
            "checks": checks,
        }

    def summary(self, lang: str = "en") -> str:
        """A short readable account of the review, in English (``"en"``) or Chinese (``"zh"``)."""
        if lang not in ("en", "zh"):
            raise ReviewError(f"unknown summary language {lang!r}; use 'en' or 'zh'")
        found = self.findings()
        zh = lang == "zh"
        if zh:
            lines = [f"数据审查（{self.target or '目标公司'}）：{self.n_customers} 名学员，"
                     f"{self.n_orders} 笔订单，净收入 ¥{self.revenue_total:,.2f}。",
                     f"质量评分 {self.score:.1f}/100；估值扣减 {self.haircut:.1%}"
                     f"（上限 {HAIRCUT_CAP:.0%}）。",
                     f"剔除 {len(self.excluded_customers)} 名学员，"
                     f"标记保留 {len(self.flagged_customers)} 名学员。"]
        else:
            lines = [f"Data review of {self.target or 'the target'}: {self.n_customers} customers,"
                     f" {self.n_orders} orders, net revenue CNY {self.revenue_total:,.2f}.",
                     f"Quality score {self.score:.1f}/100; valuation haircut {self.haircut:.1%}"
                     f" (cap {HAIRCUT_CAP:.0%}).",
                     f"{len(self.excluded_customers)} customers excluded, "
                     f"{len(self.flagged_customers)} kept with a flag."]
        if found.empty:
            lines.append("未发现问题。" if zh else "No finding: every check passed.")
        for row in found.itertuples():
            if zh:
                lines.append(f"- [{row.group_zh}] {row.check}: {row.failed} {COUNTED_ZH[row.unit]}，"
                             f"涉及学员 {row.share_of_customers:.1%}、收入 {row.share_of_revenue:.1%}；"
                             f"严重度{SEVERITY_ZH[row.severity]}，{TREATMENT_ZH[row.treatment]}。")
            else:
                lines.append(f"- [{row.group}] {row.check}: {row.failed} {row.unit}, "
                             f"{row.share_of_customers:.1%} of customers, "
                             f"{row.share_of_revenue:.1%} of revenue; {row.severity}, "
                             f"{row.treatment} ({row.why}).")
        for row in self.checks[self.checks["note"] != ""].itertuples():
            lines.append(f"- {row.check}: " + ("未检查：参数未设置 data.opened" if zh else row.note))
        return "\n".join(lines)


def _check_row(check: Check, result: CheckResult, customers: pd.Index,
               revenue: pd.Series, total: float) -> dict:
    affected = result.customers
    share_customers = (float(customers.isin(affected).sum()) / len(customers)
                       if len(customers) else 0.0)
    share_revenue = float(revenue.reindex(affected).fillna(0.0).sum()) / total if total > 0 else 0.0
    share_revenue = min(max(share_revenue, 0.0), 1.0)
    share = max(share_customers, share_revenue)
    return {
        "check": check.name, "group": check.group, "group_zh": GROUP_ZH[check.group],
        "unit": check.unit, "failed": int(result.failed),
        "share_of_customers": share_customers, "share_of_revenue": share_revenue,
        "severity": severity_for(result.failed, share, check.base_severity),
        "treatment": check.treatment, "why": check.why, "note": result.skipped,
    }


def _excluded(ctx: ReviewContext, results: dict[str, CheckResult]) -> frozenset[str]:
    tokens: set[str] = set()
    for check in CHECKS:
        if check.treatment == "exclude" and check.unit == "customers":
            tokens.update(map(str, results[check.name].customers))
    future_customer_rows = results["future_dates"].rows.get("customers", pd.Index([]))
    tokens.update(map(str, ctx.customers.loc[future_customer_rows, "customer_token"].dropna()))
    return frozenset(tokens)


def _flagged(ctx: ReviewContext, results: dict[str, CheckResult],
             excluded: frozenset[str]) -> frozenset[str]:
    known = set(map(str, ctx.customers["customer_token"].dropna()))
    tokens: set[str] = set()
    for check in CHECKS:
        if check.treatment == "flag":
            tokens.update(map(str, results[check.name].customers))
    return frozenset((tokens & known) - excluded)


def review_context(ctx: ReviewContext, *, target: str = "",
                   as_of: dt.date | None = None) -> QualityReport:
    """Run every check of :data:`~valuation.quality.checks.CHECKS` on a prepared context."""
    results = {check.name: check.func(ctx) for check in CHECKS}
    revenue = net_revenue_by_owner(ctx.orders)
    total = float(revenue.sum())
    customers = pd.Index(ctx.customers["customer_token"].dropna())
    rows = pd.DataFrame(
        [_check_row(check, results[check.name], customers, revenue, total) for check in CHECKS],
        columns=list(CHECK_COLUMNS),
    )
    in_haircut = pd.Series([check.in_haircut for check in CHECKS], index=rows.index)
    excluded = _excluded(ctx, results)
    return QualityReport(
        checks=rows,
        score=quality_score(rows),
        haircut=valuation_haircut(rows, in_haircut),
        excluded_customers=excluded,
        flagged_customers=_flagged(ctx, results, excluded),
        n_customers=len(ctx.customers),
        n_orders=len(ctx.orders),
        revenue_total=total,
        target=target,
        as_of=as_of,
        results=results,
    )


REQUIRED_TABLES: tuple[str, ...] = ("customers", "orders")


def validate_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    """Raise :class:`ReviewError` unless the tables follow ``tables.ANALYSIS_COLUMNS``."""
    absent = [name for name in REQUIRED_TABLES if name not in tables]
    if absent:
        raise ReviewError(
            f"the analysis dataset lacks the table(s) {', '.join(absent)}; "
            "run `valuation ingest <params yaml>` to (re)build it"
        )
    check_contract_columns(tables)


def check_contract_columns(tables: Mapping[str, pd.DataFrame]) -> None:
    """Raise :class:`ReviewError` when a table given lacks a contract column."""
    gaps = missing_columns(tables)
    if gaps:
        text = "; ".join(f"{name}: {', '.join(cols)}" for name, cols in gaps.items())
        raise ReviewError(
            f"the analysis tables lack contract columns ({text}); they were written by another "
            "version of the privacy gate: run `valuation ingest <params yaml>` again"
        )


def review(tables: dict[str, pd.DataFrame], params: DealParams) -> QualityReport:
    """Review the analysis tables of a target: authenticity, completeness, consistency.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The token-only analysis tables (``valuation.analysis.load_analysis``); customers and
        orders are required, activity and feedback optional.
    params : DealParams
        Supplies ``as_of`` (future dates) and ``data.opened`` (dates before the opening).

    Returns
    -------
    QualityReport

    Raises
    ------
    ReviewError
        If a table or a contract column is missing.
    """
    validate_tables(tables)
    ctx = build_context(tables, params.as_of, params.data.opened)
    return review_context(ctx, target=params.target, as_of=params.as_of)
