"""The workbench at the scale of a large school, beside the libraries people use today (issue 8).

Usage::

    python benchmarks/run.py [--sizes 1e4,1e5,1e6] [--skip-reference] [--out benchmarks/RESULTS.md]

For each size N (natural customers of the ``online_school`` generator with its purchase rate
raised by :data:`PURCHASE_RATE`, so that 10^6 customers give about 10^7 orders and
2.4 x 10^7 activity rows, the scale issue 8 asks for) the script

1. generates the target twice with ``valuation samples --customers N --target online_school
   --purchase-rate 1.4`` (``--format csv`` and ``--format parquet``) into
   ``benchmarks/data/n<N>/`` (git-ignored), reusing an earlier generation of the same size,
   seed and purchase rate;
2. writes a params YAML per format there (the settings of ``params/online_school.yaml``; work
   and output folders under ``benchmarks/data/``; the deal key in ``VALUATION_DEAL_KEY``, a
   random key the script sets for this run);
3. runs every stage in a fresh Python process (``run.py --worker STAGE``), so each stage's peak
   memory is its own and no stage's garbage pollutes the next. A worker prepares the stage's
   inputs untimed, then measures the stage itself (:mod:`_measure`);
4. writes the tables, the PASS/FAIL of each target, the scaling table and ``scaling.png``.

Reference fits (lifetimes, lifelines defaults) run beside ours on the same data in the same
run, capped by size where they take very long (:data:`REFERENCE_CAPS`). ``--skip-reference``
leaves them out. Results of each size are also kept in ``benchmarks/data/n<N>/results.json``,
so a long 10^6 run can be added later and the report rebuilt with ``--report-only``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import secrets
import shutil
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:  # the helpers next to this script, when run as a script
    sys.path.insert(0, str(BENCH_DIR))

from _measure import Measurement, measure_block, run_child  # noqa: E402

from valuation.fileio import atomic_path, write_text_atomic  # noqa: E402

KEY_ENV = "VALUATION_DEAL_KEY"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_SEED = 7
TARGET = "online_school"
PURCHASE_RATE = 1.4
"""Multiplies the online school's purchase rates: 10.2 orders per customer instead of 8.5, so
10^6 customers place 10^7 orders (issue 8)."""
TEMPLATE_PARAMS = REPO / "params" / f"{TARGET}.yaml"
SAMPLE_DATA = REPO / "data" / "samples" / TARGET
BOOTSTRAP_REPLICATES = 200
RESULT_PREFIX = "BENCH-RESULT "
STAGE_TIMEOUT_S = 4 * 3600
MEMORY_GUARD_GIB = 12.0
"""A stage whose process tree goes over this is killed and marked FAILED (the machine is shared;
anything above the 8 GiB target fails it anyway)."""

REFERENCE_CAPS: dict[str, int] = {
    "ref_bgnbd_plain": 1_000_000,
    "ref_bgnbd_weights": 1_000_000,
    "ref_pnbd": 100_000,
    "ref_gg": 1_000_000,
    "ref_cox_default": 1_000_000,
}
"""Largest size at which each reference fit runs (lifetimes' Pareto/NBD takes about 2 minutes
at 10^5 here and grows linearly, so it is not run at 10^6)."""


# ---------------------------------------------------------------------------------------
# where a size's data lives
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workspace:
    """The folders and params files of one benchmark size under the data folder.

    Parameters
    ----------
    root : Path
        The data folder (``benchmarks/data``).
    size : int
        Natural customers asked of the generator; 0 = the committed sample target.
    bootstrap_replicates : int
        Replicates of the bootstrap stage (200 as in the deal params; fewer in the smoke test).
    memory_guard_gib : float
        A stage process tree above this RSS is killed (see :data:`MEMORY_GUARD_GIB`).
    """

    root: Path
    size: int
    bootstrap_replicates: int = BOOTSTRAP_REPLICATES
    memory_guard_gib: float = MEMORY_GUARD_GIB

    @property
    def folder(self) -> Path:
        return self.root / (f"n{self.size}" if self.size else "sample")

    def export_dir(self, fmt: str) -> Path:
        if not self.size:
            return SAMPLE_DATA
        return self.folder / fmt / TARGET

    def params_path(self, fmt: str) -> Path:
        return self.folder / f"params_{fmt}.yaml"

    @property
    def cache(self) -> Path:
        return self.folder / "cache"

    @property
    def results_path(self) -> Path:
        return self.folder / "results.json"


def _generated_alpha() -> float:
    """The BG/NBD alpha of the benchmark target (the spec's, divided by the purchase rate)."""
    from valuation.samples.assemble import scaled_purchase_rate, target_spec

    return scaled_purchase_rate(target_spec(TARGET), PURCHASE_RATE).generator["bgnbd"]["alpha"]


def generate(ws: Workspace, fmt: str, seed: int) -> dict | None:
    """Write the target of ``ws.size`` in ``fmt`` with the generator's CLI (in a child process).

    Returns the measurement row, or ``None`` when the same size and seed already exist.
    """
    truth = ws.export_dir(fmt) / "ground_truth.json"
    if truth.is_file():
        meta = json.loads(truth.read_text(encoding="utf-8"))
        alpha = meta.get("generator", {}).get("bgnbd", {}).get("alpha")
        if meta.get("customers_requested") == ws.size and meta.get("seed") == seed \
                and alpha is not None and math.isclose(alpha, _generated_alpha()):
            return None
    argv = [sys.executable, "-m", "valuation.cli", "samples", "--customers", str(ws.size),
            "--target", TARGET, "--format", fmt, "--seed", str(seed),
            "--purchase-rate", str(PURCHASE_RATE), "--out", str(ws.folder / fmt)]
    child = run_child(argv, cwd=REPO, timeout=STAGE_TIMEOUT_S)
    row = {"stage": f"generate_{fmt}", "size": ws.size, "seconds": child.seconds,
           "peak_rss_mib": child.max_rss_mib, "process_max_rss_mib": child.max_rss_mib,
           "note": "generator CLI; not a workbench stage"}
    if child.returncode != 0:
        raise SystemExit(f"generating {fmt} at {ws.size} failed:\n{child.stderr[-2000:]}")
    return row


def write_params(ws: Workspace, fmt: str) -> Path:
    """Write the params YAML of one size and format: the settings of params/online_school.yaml,
    our data files and folders, the key from ``VALUATION_DEAL_KEY``, the bootstrap replicates."""
    raw = yaml.safe_load(TEMPLATE_PARAMS.read_text(encoding="utf-8"))
    ext = "parquet" if fmt == "parquet" else "csv"
    export = ws.export_dir(fmt)
    raw["data"]["files"] = {t: str(export / f"{t}.{ext}")
                            for t in ("customers", "orders", "activity", "feedback")}
    if fmt == "parquet":
        raw["data"].pop("encoding", None)
    raw["privacy"] = {**raw.get("privacy", {}), "demo_key": False, "key_env": KEY_ENV}
    raw["uncertainty"] = {**raw.get("uncertainty", {}),
                          "bootstrap_replicates": ws.bootstrap_replicates}
    raw["paths"] = {"work_dir": str(ws.folder / "work" / TARGET),
                    "output_dir": str(ws.folder / "outputs" / TARGET)}
    path = ws.params_path(fmt)
    write_text_atomic(path, "# written by benchmarks/run.py\n" + yaml.safe_dump(raw, allow_unicode=True))
    return path


def prepare_workspace(ws: Workspace, seed: int) -> list[dict]:
    """Generate the data (if needed) and write both params files; return generation rows."""
    rows = []
    formats = ("csv",) if not ws.size else ("csv", "parquet")
    for fmt in formats:
        if ws.size:
            row = generate(ws, fmt, seed)
            if row:
                rows.append(row)
        write_params(ws, fmt)
    if rows:  # new data: the analysis dataset and caches of the old data are stale
        for stale in (ws.cache, ws.folder / "work"):  # work/ holds the dataset and the log
            if stale.exists():
                shutil.rmtree(stale)
    return rows


# ---------------------------------------------------------------------------------------
# stage inputs (prepared untimed inside the worker)
# ---------------------------------------------------------------------------------------
def _params(ws: Workspace, fmt: str = "parquet"):
    from valuation.params import load_params

    return load_params(ws.params_path(fmt if ws.size else "csv"))


def _key(params) -> bytes:
    """The deal key, from ``VALUATION_DEAL_KEY`` (the params say so; no demo key)."""
    from valuation.privacy.keys import load_key

    return load_key(params, notify=None)


def _analysis(ws: Workspace) -> dict[str, pd.DataFrame]:
    """The analysis dataset of ``ws`` (built by the gate stage; built here if missing)."""
    from valuation.analysis import load_analysis

    params = _params(ws)
    if not (params.analysis_dir / "orders.parquet").is_file():
        from valuation.ingest import read_exports
        from valuation.privacy.gate import run_gate

        run_gate(read_exports(params), params, _key(params))
    return load_analysis(params)


def _rfm(ws: Workspace) -> pd.DataFrame:
    """The RFM summary of ``ws`` (cached by the rfm stage)."""
    path = ws.cache / "rfm.parquet"
    if not path.is_file():
        stage_rfm(ws)
    return pd.read_parquet(path)


def _survival(ws: Workspace) -> pd.DataFrame:
    from valuation.survival import survival_table

    params = _params(ws)
    path = ws.cache / "survival.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    table = survival_table(_analysis(ws), params.as_of, params.churn.inactivity_days)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp)
    return table


def cox_frame(table: pd.DataFrame, min_level_size: int = 20) -> pd.DataFrame:
    """The Cox design of a survival table: the default covariates, as ``ChurnModel`` builds it
    (first order value in CNY 10,000; constant and rare 0/1 columns dropped)."""
    from valuation.survival import DEFAULT_COVARIATES, design_matrix

    design = design_matrix(table, DEFAULT_COVARIATES, scale={"first_order_value": 10000.0})
    drop = []
    for column in design.columns:
        values = design[column]
        binary = values.isin([0.0, 1.0]).all()
        if values.nunique() <= 1 or (binary and min(values.sum(), len(values) - values.sum())
                                      < min_level_size):
            drop.append(column)
    frame = design.drop(columns=drop)
    return frame.assign(duration=table["duration"].astype("float64"),
                        event=table["event"].astype("int64"))


# ---------------------------------------------------------------------------------------
# stages: each prepares its inputs, then measures exactly the stage in measure_block
# ---------------------------------------------------------------------------------------
@dataclass
class StageOutput:
    """What one stage measured, plus a short note (rows, settings, sub-timings)."""

    measurement: Measurement
    note: str = ""
    extra: dict = field(default_factory=dict)


def stage_ingest_csv(ws: Workspace) -> StageOutput:
    from valuation.ingest import read_exports

    params = _params(ws, "csv")
    with measure_block() as m:
        result = read_exports(params)
    rows = {t: len(f) for t, f in result.tables.items()}
    return StageOutput(m, f"rows {rows}", {"rows": rows})


def stage_ingest_parquet(ws: Workspace) -> StageOutput:
    from valuation.ingest import read_exports

    params = _params(ws, "parquet")
    with measure_block() as m:
        result = read_exports(params)
    rows = {t: len(f) for t, f in result.tables.items()}
    return StageOutput(m, f"rows {rows}", {"rows": rows})


def stage_gate(ws: Workspace) -> StageOutput:
    from valuation.ingest import read_exports
    from valuation.privacy.gate import run_gate

    params = _params(ws)
    raw = read_exports(params)
    key = _key(params)
    with measure_block() as m:
        result = run_gate(raw, params, key)
    return StageOutput(m, "raw tables in memory (Parquet ingest, untimed); writes the dataset + log",
                       {"rows": dict(result.row_counts)})


def stage_rfm(ws: Workspace) -> StageOutput:
    from valuation.features import rfm_summary
    from valuation.value.equity import net_orders

    params = _params(ws)
    orders = _analysis(ws)["orders"]
    with measure_block() as m:
        net = net_orders(orders, pd.Timestamp(params.as_of))
        rfm = rfm_summary(net, customer_id="customer_token", date="order_date",
                          amount="net_amount", calibration_end=params.as_of,
                          time_unit=params.time_unit)
    with atomic_path(ws.cache / "rfm.parquet") as tmp:
        rfm.to_parquet(tmp)
    return StageOutput(m, f"{len(orders):,} orders -> {len(rfm):,} customers (net orders, as the "
                          "valuation)", {"customers": len(rfm)})


def _xtT(rfm: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    return rfm["frequency"], rfm["recency"], rfm["T"]


def stage_fit_bgnbd(ws: Workspace) -> StageOutput:
    from valuation.models import BetaGeo

    rfm = _rfm(ws)
    with measure_block() as m:
        model = BetaGeo().fit(*_xtT(rfm))
    ok = bool(np.all(np.isfinite(model.standard_errors_)))
    return StageOutput(m, f"grouping + standard errors incl. (finite SE: {ok})",
                       {"params": model.params_.round(4).to_dict()})


def stage_ref_bgnbd_plain(ws: Workspace) -> StageOutput:
    from lifetimes import BetaGeoFitter

    rfm = _rfm(ws)
    with measure_block() as m:
        model = BetaGeoFitter().fit(*_xtT(rfm))
    return StageOutput(m, "lifetimes BetaGeoFitter, one row per customer",
                       {"params": model.params_.round(4).to_dict()})


def stage_ref_bgnbd_weights(ws: Workspace) -> StageOutput:
    from bench_models import grouped  # the colleague's grouping for lifetimes' weights=
    from lifetimes import BetaGeoFitter

    rfm = _rfm(ws)
    with measure_block() as m:
        g = grouped(rfm)
        model = BetaGeoFitter().fit(g["frequency"], g["recency"], g["T"], weights=g["w"])
    return StageOutput(m, f"lifetimes BetaGeoFitter weights= ({len(g):,} rows; grouping incl.)",
                       {"params": model.params_.round(4).to_dict()})


def stage_fit_pnbd(ws: Workspace) -> StageOutput:
    from valuation.models import ParetoNBD

    rfm = _rfm(ws)
    with measure_block() as m:
        model = ParetoNBD().fit(*_xtT(rfm))
    ok = bool(np.all(np.isfinite(model.standard_errors_)))
    return StageOutput(m, f"grouping + standard errors incl. (finite SE: {ok})",
                       {"params": model.params_.round(4).to_dict()})


def stage_ref_pnbd(ws: Workspace) -> StageOutput:
    from lifetimes import ParetoNBDFitter

    rfm = _rfm(ws)
    with measure_block() as m:
        model = ParetoNBDFitter().fit(*_xtT(rfm))
    return StageOutput(m, "lifetimes ParetoNBDFitter, one row per customer",
                       {"params": model.params_.round(4).to_dict()})


def stage_fit_gg(ws: Workspace) -> StageOutput:
    from valuation.models import GammaGamma

    rfm = _rfm(ws)
    with measure_block() as m:
        model = GammaGamma().fit(rfm["frequency"], rfm["monetary_value"])
    return StageOutput(m, "repeat buyers only (skipped inside fit)",
                       {"params": model.params_.round(4).to_dict()})


def stage_ref_gg(ws: Workspace) -> StageOutput:
    from lifetimes import GammaGammaFitter

    rfm = _rfm(ws)
    with measure_block() as m:
        repeat = rfm.loc[rfm["frequency"] > 0]
        model = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    return StageOutput(m, f"lifetimes GammaGammaFitter on {len(repeat):,} repeat buyers",
                       {"params": model.params_.round(4).to_dict()})


def stage_clv(ws: Workspace) -> StageOutput:
    from valuation.clv import customer_clv
    from valuation.models import BetaGeo, GammaGamma

    params = _params(ws)
    rfm = _rfm(ws)
    purchase = BetaGeo().fit(*_xtT(rfm))
    spend = GammaGamma().fit(rfm["frequency"], rfm["monetary_value"])
    econ = params.economics
    with measure_block() as m:
        clv = customer_clv(rfm, purchase, spend, gross_margin=econ.gross_margin,
                           annual_discount_rate=econ.annual_discount_rate,
                           horizon_years=econ.horizon_years)
    total = float(clv["clv"].sum())
    return StageOutput(m, f"BG/NBD + Gamma-Gamma fitted untimed; horizon {econ.horizon_years} y",
                       {"finite": bool(np.isfinite(total))})


def stage_bootstrap(ws: Workspace) -> StageOutput:
    from valuation.analysis import AnalysisFiles
    from valuation.quality import clean_tables, review
    from valuation.value import Assumptions, BridgeInputs, CustomerBase, bootstrap_value
    from valuation.value.assumptions import UNLIMITED_HORIZON_YEARS
    from valuation.value.sensitivity import sensitivity_ranges

    replicates = ws.bootstrap_replicates
    params = _params(ws)
    tables = _analysis(ws)
    quality = review(tables, params)
    del tables  # as the brief does: the cleaned tables are read one file at a time
    cleaned = clean_tables(AnalysisFiles(params), params, quality).tables
    assumptions = Assumptions.from_params(params)
    longest = max(assumptions.horizon_years,
                  sensitivity_ranges(params, assumptions)["horizon_years"][1])
    with measure_block() as fit:
        base = CustomerBase(max_horizon_years=min(longest, UNLIMITED_HORIZON_YEARS))
        base.fit(cleaned, params)
    inputs = BridgeInputs(haircut=float(quality.haircut),
                          notification_cost_per_customer=params.deal.notification_cost_per_customer,
                          integration_cost=params.deal.integration_cost,
                          excluded_customers=len(quality.excluded_customers))
    with measure_block() as m:
        result = bootstrap_value(base, assumptions, inputs, replicates=replicates,
                                 seed=params.uncertainty.seed)
    return StageOutput(m, f"{replicates} replicates (+ parameter draws), failed {result.failed}; "
                          f"point fit {fit.seconds:.1f} s untimed",
                       {"replicates": replicates, "point_fit_s": fit.seconds})


def stage_survival_table(ws: Workspace) -> StageOutput:
    from valuation.survival import survival_table

    params = _params(ws)
    tables = _analysis(ws)
    with measure_block() as m:
        table = survival_table(tables, params.as_of, params.churn.inactivity_days)
    with atomic_path(ws.cache / "survival.parquet") as tmp:
        table.to_parquet(tmp)
    return StageOutput(m, f"{len(table):,} customers, {int(table['event'].sum()):,} churned")


def stage_churn_model(ws: Workspace) -> StageOutput:
    from valuation.survival import ChurnModel

    table = _survival(ws)
    with measure_block() as m:
        model = ChurnModel().fit(table)
    return StageOutput(m, "ChurnModel: Cox (all + train split) + PH test + Weibull AFT; "
                          f"C = {model.concordance_:.3f}")


def _cox_decision(frame: pd.DataFrame) -> str:
    from lifelines.fitters.coxph_fitter import _BatchVsSingle

    n_vars = frame.shape[1] - 2
    return _BatchVsSingle().decide(None, frame["duration"].nunique(), len(frame), n_vars)


def stage_cox_ours(ws: Workspace) -> StageOutput:
    from lifelines import CoxPHFitter

    from valuation.survival import ChurnModel

    frame = cox_frame(_survival(ws))
    template = ChurnModel()
    batch = True if len(frame) >= template.batch_threshold else None
    with measure_block() as m:
        CoxPHFitter(penalizer=template.penalizer, alpha=template.alpha).fit(
            frame, duration_col="duration", event_col="event", batch_mode=batch)
    return StageOutput(m, f"our settings: batch_mode={batch} ({frame.shape[1] - 2} covariates, "
                          f"{len(frame):,} rows)")


def stage_ref_cox_default(ws: Workspace) -> StageOutput:
    from lifelines import CoxPHFitter

    frame = cox_frame(_survival(ws))
    with measure_block() as m:
        CoxPHFitter().fit(frame, duration_col="duration", event_col="event")
    return StageOutput(m, f"lifelines default (batch_mode=None: lifelines chose "
                          f"'{_cox_decision(frame)}')")


def stage_brief(ws: Workspace) -> StageOutput:
    """The whole pipeline: ingest + gate (forced), notebook (kernel, compute), export, scan."""
    import contextlib
    import io

    from valuation.report.runner import run_brief

    params = _params(ws)
    if params.analysis_dir.exists():  # our own benchmark folder: force ingest + gate
        shutil.rmtree(params.analysis_dir)
    with contextlib.redirect_stdout(io.StringIO()):
        with measure_block() as m:
            run = run_brief(params, log=lambda _line: None)
    t = run.timings
    split = " · ".join(f"{k.replace('_', ' ')} {t[k]:.1f} s"
                       for k in ("prepare", "kernel_start", "compute", "export", "scan") if k in t)
    return StageOutput(m, f"prepare = ingest + gate; {split}", {"timings": t,
                                                                  "notices": run.notices})


@dataclass(frozen=True)
class Stage:
    """One row of the benchmark table."""

    name: str
    label: str
    func: Callable[[Workspace], StageOutput]
    ours: str | None = None  # for a reference fit: the stage of ours it is compared with

    @property
    def is_reference(self) -> bool:
        return self.ours is not None


STAGES: tuple[Stage, ...] = (
    Stage("ingest_csv", "ingest (CSV)", stage_ingest_csv),
    Stage("ingest_parquet", "ingest (Parquet)", stage_ingest_parquet),
    Stage("gate", "privacy gate", stage_gate),
    Stage("rfm", "RFM summary", stage_rfm),
    Stage("fit_bgnbd", "BG/NBD fit (BetaGeo)", stage_fit_bgnbd),
    Stage("ref_bgnbd_plain", "ref: lifetimes BG/NBD, plain", stage_ref_bgnbd_plain, "fit_bgnbd"),
    Stage("ref_bgnbd_weights", "ref: lifetimes BG/NBD, weights", stage_ref_bgnbd_weights, "fit_bgnbd"),
    Stage("fit_pnbd", "Pareto/NBD fit (ParetoNBD)", stage_fit_pnbd),
    Stage("ref_pnbd", "ref: lifetimes Pareto/NBD", stage_ref_pnbd, "fit_pnbd"),
    Stage("fit_gg", "Gamma-Gamma fit (GammaGamma)", stage_fit_gg),
    Stage("ref_gg", "ref: lifetimes Gamma-Gamma", stage_ref_gg, "fit_gg"),
    Stage("clv", "CLV per customer", stage_clv),
    Stage("survival_table", "survival table", stage_survival_table),
    Stage("churn_model", "churn model (Cox + AFT + PH test)", stage_churn_model),
    Stage("cox_ours", "Cox fit, our settings", stage_cox_ours),
    Stage("ref_cox_default", "ref: lifelines Cox, default", stage_ref_cox_default, "cox_ours"),
    Stage("bootstrap", "bootstrap range", stage_bootstrap),
    Stage("brief", "full brief (whole pipeline)", stage_brief),
)
STAGE_BY_NAME = {s.name: s for s in STAGES}
INDEPENDENT_STAGES = ("ingest_csv", "ingest_parquet", "gate")
"""Stages that do not read the analysis dataset (every later stage does, directly or through
the RFM / survival caches, and would only repeat the failing gate)."""
SAMPLE_STAGES = ("brief",)
"""Run on the committed sample target (``data/samples/online_school``) as well."""


# ---------------------------------------------------------------------------------------
# running stages
# ---------------------------------------------------------------------------------------
def _row(stage: Stage, ws: Workspace, output: StageOutput | None, *, error: str = "",
         process_max_rss_mib: float = float("nan")) -> dict:
    m = output.measurement if output else Measurement()
    return {"stage": stage.name, "size": ws.size, "seconds": m.seconds,
            "peak_rss_mib": m.peak_rss_mib, "start_rss_mib": m.start_rss_mib,
            "process_max_rss_mib": process_max_rss_mib,
            "note": output.note if output else "", "extra": output.extra if output else {},
            "error": error}


def skipped(stage: Stage, ws: Workspace, why: str) -> dict:
    """A table row for a stage that was not run (and why)."""
    return {**_row(stage, ws, None), "error": "", "skipped": why}


def run_stage_in_process(stage: Stage, ws: Workspace) -> dict:
    """Run one stage here (the smoke test's mode; memory then mixes stages)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _row(stage, ws, stage.func(ws))


def run_stage_isolated(stage: Stage, ws: Workspace, env: dict[str, str]) -> dict:
    """Run one stage in a fresh Python process; a failure becomes a row with its error."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", stage.name,
            "--data-dir", str(ws.root), "--size", str(ws.size),
            "--replicates", str(ws.bootstrap_replicates)]
    child = run_child(argv, env=env, cwd=REPO, timeout=STAGE_TIMEOUT_S,
                      memory_limit_mib=ws.memory_guard_gib * 1024)
    for line in reversed(child.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            row = json.loads(line[len(RESULT_PREFIX):])
            row["process_max_rss_mib"] = child.max_rss_mib
            return row
    # the last line that says something (a papermill error ends in a row of dashes)
    lines = [ln for ln in child.stderr.strip().splitlines() if any(c.isalpha() for c in ln)]
    reason = (f"killed by the memory guard: RSS over {ws.memory_guard_gib:g} GiB"
              if child.over_memory else "timed out" if child.timed_out
              else lines[-1] if lines else f"exit {child.returncode}")
    return _row(stage, ws, None, error=reason[:300], process_max_rss_mib=child.max_rss_mib)


def worker(stage_name: str, ws: Workspace) -> int:
    """Entry point of a stage process: run the stage and print its row as JSON."""
    row = run_stage_in_process(STAGE_BY_NAME[stage_name], ws)
    print(RESULT_PREFIX + json.dumps(row, default=float))
    return 0


def should_skip(stage: Stage, size: int, skip_reference: bool) -> str:
    """Why a stage is not run at a size ('' = run it)."""
    if stage.is_reference and skip_reference:
        return "--skip-reference"
    cap = REFERENCE_CAPS.get(stage.name)
    if cap is not None and size > cap:
        return f"reference capped at {cap:.0e} (too slow)"
    return ""


def run_size(ws: Workspace, stages: Sequence[Stage], *, skip_reference: bool, seed: int,
             isolate: bool = True, env: dict[str, str] | None = None,
             echo: Callable[[str], None] = print,
             on_rows: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Prepare the data of one size and measure every stage; return the rows.

    ``on_rows`` is called with the rows so far after each stage (to keep partial results
    of a long run)."""
    echo(f"[{ws.size or 'sample'}] data and params in {ws.folder} ...")
    rows = prepare_workspace(ws, seed)
    no_dataset = ""
    for stage in stages:
        why = should_skip(stage, ws.size, skip_reference)
        if not why and no_dataset and stage.name not in INDEPENDENT_STAGES:
            why = no_dataset
        if why:
            rows.append(skipped(stage, ws, why))
            continue
        echo(f"[{ws.size or 'sample'}] {stage.name} ...")
        if isolate:
            row = run_stage_isolated(stage, ws, env or dict(os.environ))
        else:
            try:
                row = run_stage_in_process(stage, ws)
            except Exception as exc:  # noqa: BLE001 - recorded in the table, not hidden
                row = _row(stage, ws, None, error=f"{type(exc).__name__}: {exc}"[:300])
        rows.append(row)
        if stage.name == "gate" and row.get("error"):
            no_dataset = "not run: the privacy gate failed at this size (no analysis dataset)"
        echo(f"    {_fmt_s(row['seconds'])} s, peak {_fmt_mib(row['peak_rss_mib'])} MiB"
             + (f"  ERROR {row['error']}" if row.get("error") else ""))
        if on_rows:
            on_rows(rows)
    return rows


# ---------------------------------------------------------------------------------------
# targets, tables, plot, report
# ---------------------------------------------------------------------------------------
def _fmt_s(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _fmt_mib(value: float) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.0f}"


def _lookup(rows: Iterable[dict], stage: str, size: int) -> dict | None:
    for row in rows:
        if row["stage"] == stage and row["size"] == size:
            return row
    return None


def _seconds(rows: Iterable[dict], stage: str, size: int) -> float:
    row = _lookup(rows, stage, size)
    if not row or row.get("error") or row.get("skipped"):
        return float("nan")
    return float(row["seconds"])


@dataclass
class Target:
    """One target of issues 4 and 8 with its verdict (PASS / FAIL / NOT MEASURED)."""

    name: str
    goal: str
    measured: str
    verdict: str


def check_targets(rows: list[dict]) -> list[Target]:
    """The targets of issue 8 (and the model ratios of issue 4) on the measured rows."""
    out = []
    big = [r for r in rows if r["size"] == 1_000_000 and not r["stage"].startswith("generate")
           and not r.get("skipped")]
    if big:
        failed = [r["stage"] for r in big if r.get("error")]
        peaks = {r["stage"]: max(r["peak_rss_mib"], r.get("process_max_rss_mib") or 0.0)
                 for r in big if not r.get("error")}
        worst = max(peaks, key=peaks.get) if peaks else None
        peak = peaks[worst] if worst else float("nan")
        ok = math.isfinite(peak) and peak < 8 * 1024 and not failed
        measured = (f"largest stage peak {peak / 1024:.2f} GiB ({worst})" if worst else "no stage ran")
        measured += f"; failed: {', '.join(failed)}" if failed else ""
        out.append(Target("pipeline at 10^6 customers", "< 8 GiB peak RSS", measured,
                          "PASS" if ok else "FAIL"))
    else:
        out.append(Target("pipeline at 10^6 customers", "< 8 GiB peak RSS", "not run",
                          "NOT MEASURED"))
    boot = _seconds(rows, "bootstrap", 100_000)
    out.append(Target("bootstrap range at 10^5", "< 60 s (200 replicates)",
                      f"{_fmt_s(boot)} s" if math.isfinite(boot) else "not run",
                      "NOT MEASURED" if not math.isfinite(boot) else
                      "PASS" if boot < 60 else "FAIL"))
    for ref, ours, size, factor, name in (
        ("ref_bgnbd_plain", "fit_bgnbd", 1_000_000, 10, "BG/NBD 10^6 vs lifetimes plain"),
        ("ref_bgnbd_weights", "fit_bgnbd", 1_000_000, 3, "BG/NBD 10^6 vs lifetimes weights"),
        ("ref_pnbd", "fit_pnbd", 100_000, 20, "Pareto/NBD 10^5 vs lifetimes"),
    ):
        ratio = _seconds(rows, ref, size) / _seconds(rows, ours, size)
        out.append(Target(name, f">= {factor}x faster",
                          f"{ratio:.1f}x" if math.isfinite(ratio) else "not run",
                          "NOT MEASURED" if not math.isfinite(ratio) else
                          "PASS" if ratio >= factor else "FAIL"))
    brief = _lookup(rows, "brief", 0)
    if brief and not brief.get("error") and brief.get("extra", {}).get("timings"):
        t = brief["extra"]["timings"]
        split = ", ".join(f"{k.replace('_', ' ')} {t[k]:.1f} s"
                          for k in ("kernel_start", "compute", "export") if k in t)
        out.append(Target("sample brief time split", "reported", split, "REPORTED"))
    else:
        out.append(Target("sample brief time split", "reported",
                          brief.get("error", "not run") if brief else "not run", "NOT MEASURED"))
    return out


def stage_table(rows: list[dict]) -> list[str]:
    """Markdown table: every stage at every size, with the reference ratios."""
    lines = ["| stage | customers | wall (s) | peak RSS in stage (MiB) | RSS at start (MiB) "
             "| process max RSS (MiB) | reference / ours | notes |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    gen = [r for r in rows if r["stage"].startswith("generate")]
    for row in gen:
        lines.append(f"| {row['stage']} | {row['size']:,} | {_fmt_s(row['seconds'])} | — | — | "
                     f"{_fmt_mib(row['process_max_rss_mib'])} | | {row.get('note', '')} |")
    for stage in STAGES:
        for row in sorted((r for r in rows if r["stage"] == stage.name), key=lambda r: r["size"]):
            size = f"{row['size']:,}" if row["size"] else "sample (committed)"
            if row.get("skipped"):
                lines.append(f"| {stage.label} | {size} | not run | | | | | {row['skipped']} |")
                continue
            if row.get("error"):
                lines.append(f"| {stage.label} | {size} | **FAILED** | | | "
                             f"{_fmt_mib(row.get('process_max_rss_mib'))} | | "
                             f"`{row['error'].replace('|', '/')}` |")
                continue
            ratio = ""
            if stage.is_reference:
                r = row["seconds"] / _seconds(rows, stage.ours, row["size"])
                ratio = f"{r:.1f}x" if math.isfinite(r) else "—"
            note = str(row.get("note", "")).replace("|", "/")
            lines.append(f"| {stage.label} | {size} | {_fmt_s(row['seconds'])} | "
                         f"{_fmt_mib(row['peak_rss_mib'])} | {_fmt_mib(row['start_rss_mib'])} | "
                         f"{_fmt_mib(row.get('process_max_rss_mib'))} | {ratio} | {note} |")
    return lines


def scaling_table(rows: list[dict], sizes: Sequence[int]) -> list[str]:
    """Markdown: wall time per size for our stages, and the log-log slope between sizes."""
    head = "| stage | " + " | ".join(f"{n:,} (s)" for n in sizes) + " | slope (log t / log n) |"
    lines = [head, "|---|" + "---:|" * (len(sizes) + 1)]
    for stage in STAGES:
        if stage.is_reference:
            continue
        times = [_seconds(rows, stage.name, n) for n in sizes]
        pts = [(math.log(n), math.log(t)) for n, t in zip(sizes, times) if math.isfinite(t) and t > 0]
        slope = "—"
        if len(pts) >= 2:
            slope = f"{np.polyfit(*zip(*pts), 1)[0]:.2f}"
        lines.append(f"| {stage.label} | " + " | ".join(_fmt_s(t) for t in times) + f" | {slope} |")
    return lines


def scaling_plot(rows: list[dict], sizes: Sequence[int], path: Path) -> Path | None:
    """Log-log plot of wall time and peak memory against customers, one line per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5.5))
    drawn = 0
    for stage in STAGES:
        if stage.is_reference:
            continue
        pts = [(n, _seconds(rows, stage.name, n), (_lookup(rows, stage.name, n) or {}).get("peak_rss_mib"))
               for n in sizes]
        pts = [(n, t, m) for n, t, m in pts if math.isfinite(t) and t > 0]
        if not pts:
            continue
        n, t, m = zip(*pts)
        # 10 colours, then the next 10 dashed with squares: no two stages look alike
        style = {"color": f"C{drawn % 10}", "marker": "os^"[drawn // 10 % 3],
                 "linestyle": ("-", "--", ":")[drawn // 10 % 3], "label": stage.label.strip()}
        ax_t.plot(n, t, **style)
        ax_m.plot(n, m, **style)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    for ax, ylabel in ((ax_t, "wall time (s)"), (ax_m, "peak RSS in stage (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("customers")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_t.set_title("Wall time per stage")
    ax_m.set_title("Peak memory per stage")
    ax_m.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def machine() -> str:
    """nproc, CPU model, RAM, Python (as bench_models reports them), OS and the load."""
    from bench_models import machine as hardware

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{hardware()}, {platform.system()} {platform.release()}; "
            f"load average at report time {load} (machine shared with other engineers)")


def code_version() -> str:
    """The git commit of the checkout and whether files were modified (read-only git calls)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("valuation-workbench", "numpy", "pandas", "scipy", "lifelines", "lifetimes",
                 "pyarrow", "papermill"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def render_report(rows: list[dict], sizes: Sequence[int], runs: list[dict],
                  plot: Path | None) -> str:
    """The text of RESULTS.md."""
    targets = check_targets(rows)
    counts = {}
    for n in sizes:
        row = _lookup(rows, "ingest_parquet", n) or _lookup(rows, "ingest_csv", n)
        if row and row.get("extra", {}).get("rows"):
            counts[n] = row["extra"]["rows"]
    lines = [
        "# Benchmarks: the workbench at the scale of a large school",
        "",
        f"Report written: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Machine: {machine()}  ",
        f"Libraries: {library_versions()}",
        "",
        "Runs (each row comes from one of these; a stage measured again replaces its row):",
        "",
    ]
    for run in runs:
        lines.append(f"- {run['date']}: `{run['command']}` (sizes {run['sizes']}; code "
                     f"{run.get('code', 'not recorded')})")
    lines += ["", "## Targets", "", "| target | goal | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.name} | {t.goal} | {t.measured} | **{t.verdict}** |" for t in targets]
    lines += ["", "## Data", "",
              "`valuation samples --customers N --target online_school "
              f"--purchase-rate {PURCHASE_RATE:g} --format csv|parquet "
              "--seed 7` (planted review defects included); rows per table after ingest:", ""]
    for n, c in counts.items():
        lines.append(f"- {n:,} customers asked: " + ", ".join(f"{t} {v:,}" for t, v in c.items()))
    lines += ["", "## Every stage", "",
              "Each stage ran in a fresh Python process (`run.py --worker STAGE`); its inputs "
              "were prepared untimed first. *wall*: the stage only (perf_counter). *peak RSS in "
              "stage*: RSS of the stage process and its children (the brief's kernel) sampled "
              "every 20 ms by psutil while the stage ran, its inputs included. *RSS at start*: "
              "the same when the stage began (inputs loaded). *process max RSS*: ru_maxrss from "
              "os.wait4 for the whole stage process (imports and input preparation included; "
              "largest single process). *reference / ours*: reference wall time over ours on the "
              "same data in the same run (> 1 means we are faster).", ""]
    lines += stage_table(rows)
    lines += ["", "## Estimates, ours vs reference (same data)", "",
              "The speed ratios compare like with like only if the fits agree:", ""]
    for stage in STAGES:
        for row in sorted((r for r in rows if r["stage"] == stage.name
                           and r.get("extra", {}).get("params")), key=lambda r: r["size"]):
            est = ", ".join(f"{k} {v:g}" for k, v in row["extra"]["params"].items())
            lines.append(f"- {stage.label}, {row['size']:,}: {est}")
    lines += ["", "## Scaling", "", "Wall time of our stages; slope = least-squares exponent k "
              "in t ~ n^k over the sizes measured.", ""]
    lines += scaling_table(rows, sizes)
    if plot:
        lines += ["", f"![scaling]({plot.name})"]
    lines += ["", "## Notes", "",
              "- Reference caps: " + ", ".join(f"{k} up to {v:.0e}" for k, v in REFERENCE_CAPS.items())
              + " customers (lifetimes' Pareto/NBD needs minutes at 10^5 and grows linearly).",
              "- Cox: *our settings* are ChurnModel's (`batch_mode=True` from "
              "`batch_threshold` rows on); *lifelines default* lets lifelines choose "
              "(`batch_mode=None`); the chosen mode is in the notes. Same design matrix "
              "(the default covariates, built with `valuation.survival.design_matrix`).",
              f"- Memory guard: a stage whose processes hold more than {MEMORY_GUARD_GIB:g} GiB RSS "
              "(default of `--memory-guard-gib`) is killed and marked FAILED, to protect the "
              "shared machine; such a stage fails the 8 GiB target in any case.",
              "- The machine is shared (2 cores, several engineers); wall times carry that noise.",
              ""]
    return "\n".join(lines)


def load_rows(ws: Workspace) -> tuple[list[dict], list[dict]]:
    """The rows stored for one size and the runs they came from."""
    if not ws.results_path.is_file():
        return [], []
    stored = json.loads(ws.results_path.read_text(encoding="utf-8"))
    return stored["rows"], stored["runs"]


def store_rows(ws: Workspace, rows: list[dict], run_info: dict) -> None:
    """Merge new rows into the size's stored results (a stage measured again replaces its row)."""
    old_rows, runs = load_rows(ws)
    new = {r["stage"] for r in rows}
    merged = [r for r in old_rows if r["stage"] not in new] + [{**r, "run": run_info["date"]}
                                                             for r in rows]
    used = {r.get("run") for r in merged}
    runs = [r for r in runs if r["date"] in used and r != run_info] + [run_info]
    write_text_atomic(ws.results_path, json.dumps({"runs": runs, "rows": merged}, indent=1,
                                                  default=float))


def stored_workspaces(root: Path) -> list[Workspace]:
    """The sample and every size with stored results under ``root``, smallest first."""
    found = [Workspace(root, 0)] if (root / "sample" / "results.json").is_file() else []
    sizes = sorted(int(p.parent.name[1:]) for p in root.glob("n*/results.json")
                   if p.parent.name[1:].isdigit())
    return found + [Workspace(root, n) for n in sizes]


def parse_sizes(text: str) -> list[int]:
    """``"1e4,1e5"`` -> ``[10000, 100000]``."""
    sizes = []
    for part in text.split(","):
        value = float(part.strip())
        if value < 200 or value != int(value):
            raise argparse.ArgumentTypeError(f"size {part!r}: a whole number of customers >= 200")
        sizes.append(int(value))
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="comma-separated customer counts (default 1e4,1e5,1e6)")
    parser.add_argument("--skip-reference", action="store_true",
                        help="leave out the lifetimes / lifelines-default reference fits")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--stages", default=None,
                        help="comma-separated stage names (default: all)")
    parser.add_argument("--no-sample-brief", action="store_true",
                        help="skip the brief of the committed sample target")
    parser.add_argument("--report-only", action="store_true",
                        help="only rebuild RESULTS.md and scaling.png (the report always covers "
                             "every size stored under --data-dir)")
    parser.add_argument("--memory-guard-gib", type=float, default=MEMORY_GUARD_GIB,
                        help="kill a stage whose processes use more RSS than this "
                             f"(default {MEMORY_GUARD_GIB:g}; the machine is shared)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--replicates", type=int, default=BOOTSTRAP_REPLICATES,
                        help=f"bootstrap replicates (default {BOOTSTRAP_REPLICATES})")
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()

    if args.worker:
        return worker(args.worker, Workspace(data_dir, args.size, args.replicates))
    guard = args.memory_guard_gib

    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))  # benchmark-only deal key
    env = dict(os.environ)
    names = args.stages.split(",") if args.stages else [s.name for s in STAGES]
    unknown = sorted(set(names) - set(STAGE_BY_NAME))
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {', '.join(STAGE_BY_NAME)}")
    stages = [STAGE_BY_NAME[n] for n in names]
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    run_info = {"date": dt.datetime.now().isoformat(timespec="seconds"), "command": command.strip(),
                "sizes": ", ".join(f"{n:,}" for n in args.sizes), "code": code_version()}

    workspaces = [Workspace(data_dir, n, args.replicates, guard) for n in args.sizes]
    if not args.no_sample_brief and "brief" in names:
        workspaces.insert(0, Workspace(data_dir, 0, args.replicates, guard))
    if not args.report_only:
        for ws in workspaces:
            size_stages = [s for s in stages if ws.size or s.name in SAMPLE_STAGES]
            run_size(ws, size_stages, skip_reference=args.skip_reference, seed=args.seed,
                     env=env, on_rows=lambda rows, ws=ws: store_rows(ws, rows, run_info))

    all_rows, runs = [], []
    for ws in stored_workspaces(data_dir):  # every size measured so far, not only this run's
        rows, size_runs = load_rows(ws)
        all_rows += rows
        runs += [r for r in size_runs if r not in runs]
    measured_sizes = sorted({r["size"] for r in all_rows if r["size"]})
    plot = scaling_plot(all_rows, measured_sizes, args.out.resolve().with_name("scaling.png"))
    report = render_report(all_rows, measured_sizes, runs, plot)
    write_text_atomic(args.out, report)
    print()
    for target in check_targets(all_rows):
        print(f"{target.verdict:13s} {target.name}: {target.measured} (goal {target.goal})")
    print(f"\nwritten {args.out}" + (f" and {plot}" if plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
