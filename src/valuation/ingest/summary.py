"""The ingest summary: aggregates a user can check against the source system.

Only counts, sums and dates: never a personal value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from valuation.tables import TABLES


@dataclass(frozen=True)
class IngestSummary:
    """What was read, in numbers.

    Attributes
    ----------
    rows : dict of str -> int
        Rows kept per table.
    quarantined : dict of str -> int
        Rows set aside per table.
    customers : int
        Distinct customer numbers in the customers table.
    order_date_min, order_date_max : Timestamp or None
    revenue : float
        Gross revenue: sum of order amounts (negative amounts included).
    refunds : float
        Sum of refunded amounts.
    warnings : list of str
    """

    rows: dict[str, int]
    quarantined: dict[str, int]
    customers: int
    order_date_min: pd.Timestamp | None
    order_date_max: pd.Timestamp | None
    revenue: float
    refunds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def net_revenue(self) -> float:
        """Gross revenue minus refunds."""
        return self.revenue - self.refunds


def summarize(result) -> IngestSummary:
    """Summarise an :class:`~valuation.ingest.pipeline.IngestResult`."""
    orders = result.tables["orders"]
    dates = orders["order_date"].dropna()
    return IngestSummary(
        rows={t: len(result.tables[t]) for t in TABLES if t in result.tables},
        quarantined={t: len(q) for t, q in result.quarantined.items()},
        customers=int(result.tables["customers"]["customer_id"].nunique()),
        order_date_min=dates.min() if len(dates) else None,
        order_date_max=dates.max() if len(dates) else None,
        revenue=round(float(orders["amount"].sum()), 2),
        refunds=round(float(orders["refund_amount"].sum()), 2),
        warnings=list(result.warnings),
    )


def _day(stamp: pd.Timestamp | None) -> str:
    return "-" if stamp is None else stamp.date().isoformat()


def format_summary(summary: IngestSummary) -> str:
    """The summary as lines of text for the terminal."""
    lines = ["rows read:"]
    for table, n in summary.rows.items():
        extra = summary.quarantined.get(table, 0)
        lines.append(f"  {table:<10} {n:>12,}" + (f"   ({extra:,} quarantined)" if extra else ""))
    lines += [
        f"orders from {_day(summary.order_date_min)} to {_day(summary.order_date_max)}",
        f"customers: {summary.customers:,}",
        f"gross revenue: ¥{summary.revenue:,.2f}",
        f"refunds: ¥{summary.refunds:,.2f}",
        f"net revenue: ¥{summary.net_revenue:,.2f}",
    ]
    total_q = sum(summary.quarantined.values())
    if total_q:
        lines.append(f"quarantined: {total_q:,} row(s) set aside (reasons in the warnings)")
    if summary.warnings:
        lines.append("warnings:")
        lines += [f"  - {w}" for w in summary.warnings]
    return "\n".join(lines)
