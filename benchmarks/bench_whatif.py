"""Benchmark: one what-if revaluation (no refit) of a 10^5-customer fitted base.

Issue 16 asks for one revaluation under changed assumptions in under a second at 10^5
customers. The base (BG/NBD + Gamma-Gamma on simulated RFM rows, as in bench_bootstrap.py)
is fitted first and not timed; then :class:`valuation.value.whatif.Revaluer` revalues it:

* ``cold``: the first revaluation (the streams compute their expected purchases per grid
  interval once; later calls reuse them);
* ``warm``: the median of further revaluations, each with a different margin, discount rate,
  one-off loss, hazard multiplier and a horizon between two grid edges (interpolated: two
  evaluations), and one with a retention scale;
* ``joint draws``: the range's assumption draws (``--draws``, default 400) at this size.

Usage::

    .venv/bin/python benchmarks/bench_whatif.py [--customers 100000] [--draws 400]

Results: benchmarks/RESULTS-whatif.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bootstrap import build_base, synthetic_rfm  # noqa: E402

from valuation.value import Assumptions, BridgeInputs  # noqa: E402
from valuation.value.joint_range import joint_range  # noqa: E402
from valuation.value.whatif import Revaluer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20240101)
    args = parser.parse_args()
    rfm = synthetic_rfm(args.customers, args.seed)
    start = time.perf_counter()
    base = build_base(rfm, args.seed)
    fitted = time.perf_counter()
    a = Assumptions(annual_discount_rate=0.12, gross_margin=0.6, horizon_years=5.0)
    what = Revaluer(base, BridgeInputs(notification_cost_per_customer=1.5,
                                       integration_cost=100_000.0), a)
    t0 = time.perf_counter()
    point = what.value()
    cold = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    warm = []
    for _ in range(10):
        changes = {"gross_margin": rng.uniform(0.4, 0.8),
                   "annual_discount_rate": rng.uniform(0.08, 0.2),
                   "one_off_loss": rng.uniform(0.0, 0.3),
                   "hazard_multiplier": rng.uniform(1.0, 1.6),
                   "horizon_years": rng.uniform(1.1, 4.9)}
        t0 = time.perf_counter()
        what.value(**changes)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    what.value(retention_scale=0.7, horizon_years=4.4)
    scaled = time.perf_counter() - t0
    ranges = {"annual_discount_rate": (0.08, 0.2), "gross_margin": (0.5, 0.7),
              "one_off_loss": (0.0, 0.3), "hazard_multiplier": (1.0, 1.6),
              "horizon_years": (3.0, 5.0), "inactivity_days": (180, 180)}
    t0 = time.perf_counter()
    joint = joint_range(what, np.array([point]), point, ranges, n_draws=args.draws,
                        seed=args.seed)
    draws = time.perf_counter() - t0
    print(f"customers            {args.customers}")
    print(f"fit (not timed)      {fitted - start:.1f} s")
    print(f"value (base case)    {point:,.0f}")
    print(f"revaluation, cold    {cold * 1000:.0f} ms")
    print(f"revaluation, warm    {statistics.median(warm) * 1000:.0f} ms median "
          f"(max {max(warm) * 1000:.0f} ms; horizon between grid edges: two evaluations)")
    print(f"with retention scale {scaled * 1000:.0f} ms")
    print(f"{args.draws} joint draws      {draws:.1f} s "
          f"(P10/P50/P90 {joint.value_at(10):,.0f} / {joint.value_at(50):,.0f} / "
          f"{joint.value_at(90):,.0f})")


if __name__ == "__main__":
    main()
