"""Known answers for the lean helpers of the valuation fit (issue: bootstrap memory at 10^6)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuation.value.equity import net_orders
from valuation.value.instalments import InstalmentStream
from valuation.value.retention import last_events
from valuation.value.streams import matches_lower


def test_matches_lower_is_case_insensitive_and_false_on_missing():
    column = pd.Series(["Instalment", "full", None, "INSTALMENT", "instalments"], dtype="string")
    assert matches_lower(column, "instalment").tolist() == [True, False, False, True, False]
    assert not matches_lower(pd.Series([None, None], dtype=object), "full").any()


def test_net_orders_keeps_paid_rows_up_to_as_of_and_leaves_input_alone():
    orders = pd.DataFrame({
        "customer_token": ["a", "a", "b", "c"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-02-01", "2023-12-01"]),
        "amount": [100.0, 50.0, 80.0, 30.0],
        "refund_amount": [np.nan, 0.0, 80.0, 10.0],
    }, index=[10, 11, 12, 13])
    before = orders.copy()
    out = net_orders(orders, pd.Timestamp("2024-03-01"))
    assert out.index.tolist() == [10, 13]  # after as_of and fully refunded dropped
    assert out["net_amount"].tolist() == [100.0, 20.0]
    pd.testing.assert_frame_equal(orders, before)


def test_last_events_ignores_events_after_as_of():
    activity = pd.DataFrame({
        "customer_token": ["a", "a", "b", "b"],
        "event_date": pd.to_datetime(["2024-01-05", "2024-05-01", "2024-02-01", "2024-01-01"]),
        "event_type": ["login"] * 4, "count": [1] * 4,
    })
    last = last_events(activity, pd.Timestamp("2024-03-01"))
    assert last.to_dict() == {"a": pd.Timestamp("2024-01-05"), "b": pd.Timestamp("2024-02-01")}


def test_expected_payments_chain_continuation_rates():
    stream = InstalmentStream()
    stream.as_of_ = pd.Timestamp("2025-01-01")
    stream.cadence_days_ = 30.0
    stream.running_ = pd.DataFrame({"paid": [2, 5], "length": [4, 6], "instalment": [100.0, 10.0],
                                    "last": pd.to_datetime(["2024-12-22", "2025-01-01"])})
    stream.continuation_ = np.array([0.9, 0.8, 0.5, 0.4, 0.2])
    rows, due, amount = stream.expected_payments()
    assert rows.tolist() == [0, 0, 1]
    # plan 0: payment 3 with c_2 = 0.8, payment 4 with c_2 c_3 = 0.8 * 0.5; plan 1: payment 6, c_5
    np.testing.assert_allclose(amount, [80.0, 40.0, 2.0])
    # last payment 10 days before as_of, then every 30 days
    np.testing.assert_allclose(due, [20 / 365.25, 50 / 365.25, 30 / 365.25])


class _GeometricSurvival:
    """S(t) = 0.8^t: a stand-in for a fitted sBG (the renewal arithmetic is what is tested)."""

    def survival(self, t):
        return 0.8 ** np.asarray(t, float)


def test_membership_revenue_on_distinct_rows_equals_the_dense_per_member_flows():
    from types import SimpleNamespace

    from valuation.value.streams import MembershipStream, time_grid

    rng = np.random.default_rng(20240101)
    n = 500
    members = pd.DataFrame({"payments": rng.integers(1, 5, n),
                            "next_due_years": rng.integers(0, 365, n) / 365.25,
                            "active": rng.random(n) < 0.7},
                           index=[f"tok{i}" for i in range(n)])
    stream = MembershipStream(None, fee=1200.0)
    stream.members_, stream.tokens_ = members, members.index
    stream.survival_model_ = _GeometricSurvival()
    edges = time_grid(5.0)
    disc = 1.1 ** -((edges[:-1] + edges[1:]) / 2)
    assumptions = SimpleNamespace(hazard_multiplier=1.5, hazard_months=12, one_off_loss=0.1)
    pv, pv_s = stream.customer_revenue(edges, disc, np.ones(len(disc)), assumptions)
    dense = stream.revenue_flows(edges) @ disc
    dense_s = 0.9 * (stream.revenue_flows(edges, hazard_multiplier=1.5, hazard_years=1.0,
                                          shocked=True) @ disc)
    np.testing.assert_allclose(pv, dense, rtol=1e-12)
    np.testing.assert_allclose(pv_s, dense_s, rtol=1e-12)
    # inactive members pay nothing; the shock lowers every active member's value
    assert pv[~members["active"].to_numpy()].max() == 0.0
    assert (pv_s < pv)[members["active"].to_numpy()].all()
