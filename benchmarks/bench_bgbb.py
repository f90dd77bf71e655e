"""Benchmark: our BetaGeoBetaBinom fit beside lifetimes' BetaGeoBetaBinomFitter, same data.

Not a test. 10^6 simulated BG/BB customers (parameters of Fader, Hardie & Shang 2010, the
donations fit) in cohorts observed for 1 to 6 yearly opportunities. Ours fits the raw rows
(grouping of identical rows and standard errors included); lifetimes is fitted on the rows
grouped with ``weights=`` (its documented way for this model; the grouping time counted) and
on the raw rows. Ours runs before and after each lifetimes fit; the slowest of ours is
reported. Fits only, no pipeline. Run ``python benchmarks/bench_bgbb.py [--n 1000000]``;
needs the optional ``bench`` extra. Rewrites the ``BG/BB`` section of
benchmarks/RESULTS-models.md (between its markers), atomically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import warnings
from pathlib import Path

import numpy as np

from bench_models import machine, measure
from valuation.fileio import write_text_atomic
from valuation.models import BetaGeoBetaBinom
from valuation.models.bgbb import simulate_bgbb

BGBB_TRUE = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
START, END = "<!-- bgbb:start -->", "<!-- bgbb:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--repeats", type=int, default=5,
                        help="interleaved runs of ours and lifetimes-with-weights (medians)")
    parser.add_argument("--skip-plain", action="store_true",
                        help="skip lifetimes on the raw (ungrouped) rows")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-models.md"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from lifetimes import BetaGeoBetaBinomFitter

    rng = np.random.default_rng(args.seed)
    data = simulate_bgbb(BGBB_TRUE, rng.integers(1, 7, args.n), rng)
    x, tx, n = data["frequency"], data["recency"], data["n_periods"]

    def timed(label, fn):
        load = os.getloadavg()[0]
        secs, mem, result = measure(fn)
        print(f"  {label}: {secs:.2f} s (1-min load {load:.2f})", flush=True)
        return secs, mem, result, load

    def ours():
        return BetaGeoBetaBinom().fit(x, tx, n)

    def lifetimes_weights():
        g = data.groupby(["frequency", "recency", "n_periods"], sort=False).size().rename(
            "w").reset_index()
        return BetaGeoBetaBinomFitter().fit(g["frequency"], g["recency"], g["n_periods"],
                                            weights=g["w"])

    # interleaved repeats, medians compared: the machine is shared and its load moves
    runs, weighted = [], []
    for _ in range(args.repeats):
        runs.append(timed("ours BG/BB", ours))
        weighted.append(timed("lifetimes BG/BB weights", lifetimes_weights))
    lw = sorted(weighted, key=lambda run: run[0])[len(weighted) // 2]
    lp = None
    if not args.skip_plain:
        lp = timed("lifetimes BG/BB plain", lambda: BetaGeoBetaBinomFitter().fit(x, tx, n))
        runs.append(timed("ours BG/BB", ours))
    t_ours, m_ours, fit, load = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    assert np.all(np.isfinite(fit.standard_errors_))
    rows = [("valuation BetaGeoBetaBinom (checks, grouping and SE incl.; median of "
             + " / ".join(f"{r[0]:.3f}" for r in runs) + " s)", t_ours, m_ours, load, 1.0),
            ("lifetimes BetaGeoBetaBinomFitter, weights (pandas grouping incl.; median of "
             + " / ".join(f"{r[0]:.3f}" for r in weighted) + " s)", lw[0], lw[1], lw[3],
             lw[0] / t_ours)]
    if lp is not None:
        rows.append(("lifetimes BetaGeoBetaBinomFitter, plain", lp[0], lp[1], lp[3],
                     lp[0] / t_ours))
    section = [
        START,
        "## BG/BB (discrete opportunities)",
        "",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Machine: {machine()}  ",
        f"Command: `python benchmarks/bench_bgbb.py --n {args.n}` (fits only; shared machine).",
        "",
        "| model | n customers | implementation | time (s) | peak RSS increase (MB) "
        "| 1-min load at start | lifetimes time / ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for impl, secs, mem, load_at, ratio in rows:
        section.append(f"| BG/BB | {args.n:,} | {impl} | {secs:.2f} | {mem:.0f} | "
                       f"{load_at:.2f} | {ratio:.1f}x |")
    section += [
        "",
        "Target: BG/BB 10^6 >= 10x faster than lifetimes' BetaGeoBetaBinomFitter.",
        "",
        f"Estimates, ours vs lifetimes (weights): {fit.params_.round(4).to_dict()} / "
        f"{lw[2].params_.round(4).to_dict()} (true {BGBB_TRUE})",
        END,
    ]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    block = "\n".join(section)
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    print(block)
    write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
