"""Issue 16 figures: the bridge figure equals the bridge table; the football field shows the
methods, the counterparty's price and our positions."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from valuation.plots import negotiation as PN
from valuation.value.bridge import BridgeInputs, value_bridge

matplotlib.use("Agg")


def _bootcamp_like_bridge() -> pd.DataFrame:
    """A bridge shaped like the bootcamp's: acquisitions (an assumption) and a re-consent
    scenario after the transferable total, and the excluded-records memo row."""
    values = pd.DataFrame({"clv": [600_000.0, 300_000.0, 108_730.83],
                           "clv_transferred": [400_000.0, 150_000.0, 50_000.0]},
                          index=["a", "b", "c"])
    customers = pd.DataFrame({"transferable": [True, True, False]}, index=values.index)
    inputs = BridgeInputs(haircut=0.0044, notification_cost_per_customer=2.0,
                          integration_cost=200_000.0, excluded_customers=54,
                          acquisitions_value=995_382.36, reconsent_value=15_517.65,
                          show_excluded=True)
    return value_bridge(values, customers, inputs)


def test_bridge_bars_are_the_table_rows():
    bridge = _bootcamp_like_bridge()
    fig = PN.bridge_figure(bridge, list(bridge["label"]))
    bars = fig.axes[0].patches
    assert len(bars) == len(bridge)  # one bar a row, no extra total bar
    for bar, (_, row) in zip(bars, bridge.iterrows()):
        assert abs(bar.get_height()) == pytest.approx(abs(row["amount"]), abs=1e-6), row["step"]
    steps = list(bridge["step"])
    total = bars[steps.index("transferable_value")]
    with_acq = bars[steps.index("value_with_acquisitions")]
    acq = bars[steps.index("future_acquisitions")]
    # totals stand on zero; acquisitions float on the transferable total (its own bar)
    assert total.get_y() == 0 and with_acq.get_y() == 0
    assert acq.get_y() == pytest.approx(total.get_height())
    assert with_acq.get_height() == pytest.approx(total.get_height() + acq.get_height())
    # the old figure summed every non-total row (2.47m on the bootcamp); never again
    tallest = max(b.get_y() + b.get_height() for b in bars)
    assert tallest == pytest.approx(max(bridge["amount"].max(),
                                        bridge.set_index("step").loc["gross_equity", "amount"]))


def test_adjustments_hang_from_the_running_total():
    bridge = _bootcamp_like_bridge()
    bars = PN.bridge_bars(bridge)
    running = 0.0
    for (_, row), (_, bar) in zip(bridge.iterrows(), bars.iterrows()):
        if row["kind"] == "adjustment":
            assert bar["bottom"] == pytest.approx(running)
            running += row["amount"]
        elif row["kind"] == "start":
            running = row["amount"]
    assert running == pytest.approx(bridge.set_index("step").loc["transferable_value", "amount"])


def test_football_field_draws_methods_price_and_positions():
    rows = pd.DataFrame({"label": ["combined", "model only", "revenue multiple"],
                         "low": [1.5e6, 1.8e6, 5.9e6], "high": [2.7e6, 2.3e6, 5.9e6],
                         "mid": [2.07e6, 2.1e6, 5.9e6]})
    positions = {"anchor": 1.53e6, "target": 1.91e6, "walk_away": 2.07e6}
    fig = PN.football_field(rows, price=6e6, positions=positions)
    ax = fig.axes[0]
    widths = sorted(round(p.get_width()) for p in ax.patches)
    assert widths == sorted(round(w) for w in rows["high"] - rows["low"])
    vertical = sorted(line.get_xdata()[0] for line in ax.lines
                      if len(set(line.get_xdata())) == 1 and line.get_ydata()[0] == 0)
    assert set(np.round([*positions.values(), 6e6])) <= set(np.round(vertical))
