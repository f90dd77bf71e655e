"""Benchmark: bootstrap with refits on a 10^5-customer synthetic target.

Prints the number of customers, replicates, wall and CPU time, how the replicates were
refitted (two Newton steps from the point estimate, see valuation.value.newton) and peak
memory (tracemalloc, Python allocations incl. numpy). Usage::

    .venv/bin/python benchmarks/bench_bootstrap.py [--customers 100000] [--replicates 200]

Customers follow a BG/NBD process (weekly units) with Gamma-Gamma spend, simulated directly
as RFM rows, so the benchmark times the valuation, not the data generation.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from valuation.models import BetaGeo, GammaGamma
from valuation.value import Assumptions, BridgeInputs, CustomerBase, bootstrap_value
from valuation.value.retention import ResidualRetention
from valuation.value.streams import PurchaseStream, time_grid


def synthetic_rfm(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD customers observed 0-156 weeks, same-day purchases on a daily grid."""
    rng = np.random.default_rng(seed)
    big_t = np.round(rng.uniform(1, 156, n) * 7) / 7
    lam = rng.gamma(0.25, 1 / 4.4, n)
    p = rng.beta(0.8, 2.4, n)
    alive_purchases = rng.geometric(p) - 1  # repeat purchases before dropping out
    poisson = rng.poisson(lam * big_t)
    x = np.minimum(poisson, alive_purchases)
    last = np.where(x > 0, big_t * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    recency = np.round(last * 7) / 7
    money = np.where(x > 0, rng.gamma(6.0, 1 / (rng.gamma(3.7, 1 / 15.4, n) * 6.0 / 35.0)), 0.0)
    return pd.DataFrame({"frequency": x.astype(float), "recency": recency, "T": big_t,
                         "monetary_value": np.round(money, 2)},
                        index=pd.Index([f"c{i}" for i in range(n)], name="customer_token"))


def build_base(rfm: pd.DataFrame, seed: int) -> CustomerBase:
    rng = np.random.default_rng(seed)
    n = len(rfm)
    base = CustomerBase(max_horizon_years=5)
    base.customers_ = pd.DataFrame({"all": True, "transferable": rng.random(n) < 0.8,
                                    "active": True}, index=rfm.index)
    base.customers_["transferable_contactable"] = base.customers_["transferable"]
    base.purchase_ = PurchaseStream(BetaGeo(), GammaGamma(), 52.0).fit(rfm)
    base.membership_ = None
    age = rfm["T"].to_numpy() * 7
    lifetimes = pd.DataFrame({"age_days": age, "duration_days": rfm["recency"].to_numpy() * 7,
                              "churned": age - rfm["recency"].to_numpy() * 7 > 180},
                             index=rfm.index)
    lifetimes.loc[~lifetimes["churned"], "duration_days"] = age[~lifetimes["churned"].to_numpy()]
    base._retention = {180: ResidualRetention().fit(lifetimes)}
    base.edges_ = time_grid(5.0, (1.0,))
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240101)
    args = parser.parse_args()
    rfm = synthetic_rfm(args.customers, args.seed)
    tracemalloc.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    base = build_base(rfm, args.seed)
    fitted, cpu_fitted = time.perf_counter(), time.process_time()
    assumptions = Assumptions(annual_discount_rate=0.12, gross_margin=0.6, horizon_years=5.0)
    result = bootstrap_value(base, assumptions, BridgeInputs(notification_cost_per_customer=1.5),
                             replicates=args.replicates, seed=args.seed)
    done, cpu_done = time.perf_counter(), time.process_time()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"customers          {args.customers}")
    print(f"unique (x,t_x,T)   {len(base.purchase_.rows_)}")
    print(f"replicates         {args.replicates} (+ as many parameter draws); failed {result.failed}")
    print(f"point fit          {fitted - start:.1f} s")
    print(f"bootstrap          {done - fitted:.1f} s ({(done - fitted) / max(args.replicates, 1):.3f} s a replicate)")
    print(f"bootstrap CPU      {cpu_done - cpu_fitted:.1f} s (process time; wall > CPU when "
          "the machine is shared)")
    refits = result.replicates["refit"].value_counts().to_dict()
    print(f"refits             {refits}")
    print(f"peak memory        {peak / 2**20:.0f} MiB (tracemalloc)")
    print(f"value P10/P50/P90  {result.value_at(10):,.0f} / {result.value_at(50):,.0f} / "
          f"{result.value_at(90):,.0f} (point {result.point:,.0f})")


if __name__ == "__main__":
    main()
