"""The monitor's measurement on a tiny synthetic token dataset: every month's retained count
known by hand (roster, window boundaries, refunds, customers off the roster)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from valuation.errors import ReportError
from valuation.monitor.measure import TermSheetView, binomial_forecast, measure

CLOSING = dt.date(2025, 6, 30)  # month dates: 07-30, 08-30, 09-30, 10-30


def _customers(rows):
    return pd.DataFrame(rows, columns=["customer_token", "consent_transfer",
                                       "guardian_consent", "minor"])


def _orders(rows):
    return pd.DataFrame(rows, columns=["customer_token", "order_date", "amount",
                                       "refund_amount"]).astype({"order_date": "datetime64[ns]"})


def _activity(rows):
    return pd.DataFrame(rows, columns=["customer_token", "event_date"]).astype(
        {"event_date": "datetime64[ns]"})


PRE = {
    "customers": _customers([
        ("c1", True, None, False), ("c2", True, None, False), ("c3", True, None, False),
        ("c4", False, None, False), ("c5", True, None, False), ("c6", True, None, False),
        ("c7", True, False, True)]),  # a minor without a guardian's consent: not transferable
    "orders": _orders([
        ("c1", "2025-06-20", 100, 0), ("c2", "2025-06-01", 100, 0),
        ("c3", "2025-01-01", 100, 0),  # inactive at closing: not on the roster
        ("c4", "2025-06-20", 100, 0), ("c5", "2025-06-20", 100, 0),
        ("c6", "2025-05-31", 100, 0),  # exactly 30 days before closing: still active
        ("c7", "2025-06-20", 100, 0)]),
    "activity": _activity([]),
}
POST = {
    "customers": PRE["customers"][["customer_token"]],
    "orders": _orders([("c2", "2025-07-15", 200, 0),
                       ("c5", "2025-08-20", 200, 200)]),  # fully refunded: no sign of life
    "activity": _activity([
        ("c1", "2025-07-25"), ("c1", "2025-08-28"), ("c1", "2025-09-29"),
        ("c6", "2025-07-01"), ("c6", "2025-08-31"),  # 08-31 is 30 days before 09-30
        ("c3", "2025-07-30"), ("c3", "2025-10-02"), ("c4", "2025-08-30"), ("c7", "2025-07-30")]),
}
TERMS = {"threshold": 1.0, "slope_per_customer": 100.0, "cap": 150.0, "floor": 0.0}


def _sheet(months: int, terms=TERMS) -> TermSheetView:
    return TermSheetView(status="accept", eligible=4, expected_retained=2.0, window_days=30,
                         months=months, terms=dict(terms),
                         forecast=binomial_forecast(4, 2.0, months))


def test_retained_by_month_known_answers():
    out = measure(PRE, POST, _sheet(3), CLOSING)
    assert out["roster_customers"] == 4  # c1, c2, c5, c6
    assert [r["retained"] for r in out["by_month"]] == [3, 1, 2]
    assert out["final"] and out["months_observed"] == 3 and out["data_until"] == "2025-10-02"
    assert out["payout"]["kind"] == "final"
    assert out["payout"]["amount"] == 100.0  # (2 - 1) x 100, under the cap


def test_unobserved_months_make_a_provisional_payout():
    out = measure(PRE, POST, _sheet(4), CLOSING)
    assert [r["observed"] for r in out["by_month"]] == [True, True, True, False]
    assert out["by_month"][-1]["retained"] is pd.NA or pd.isna(out["by_month"][-1]["retained"])
    assert not out["final"] and out["payout"]["kind"].startswith("provisional")
    assert out["latest_retained"] == 2


def test_no_terms_no_payout_but_a_measurement():
    out = measure(PRE, POST, _sheet(3, terms={}), CLOSING)
    assert out["payout"] is None and out["latest_retained"] == 2


def test_exports_without_any_transferred_customer_are_refused():
    other = {**POST, "customers": pd.DataFrame({"customer_token": ["x1", "x2"]})}
    with pytest.raises(ReportError, match="another deal key"):
        measure(PRE, other, _sheet(3), CLOSING)


def test_page_escapes_params_text_and_has_no_script():
    from valuation.monitor.publish import monitor_document, monitor_html

    doc = monitor_document("t1", "<script>alert(1)</script> School",
                           measure(PRE, POST, _sheet(3), CLOSING))
    html = monitor_html(doc)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert html.count("<tr>") == 1 + 3 + 5  # header, three months, five payout lines
