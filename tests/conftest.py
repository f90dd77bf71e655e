"""Shared test fixtures: the reference data folder and the prepared CDNOW sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

#: published reference data, copied into the repository (provenance in data/reference/README.md)
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
REPO = Path(__file__).resolve().parents[1]
CDNOW_SAMPLE = REFERENCE / "cdnow" / "CDNOW_sample.txt"
SBG_TABLE = REFERENCE / "sbg" / "sbg_fader_hardie_2007_table1.csv"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW 1-in-10 sample, one row per purchase (6,919 rows), dates parsed."""
    if not CDNOW_SAMPLE.exists():
        pytest.fail(f"reference data not found: {CDNOW_SAMPLE} (data/reference/ in the repository)")
    frame = pd.read_csv(
        CDNOW_SAMPLE,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="session")
def cdnow_rfm(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    """RFM of the CDNOW sample as in the papers: weeks, 39-week calibration, 39-week holdout."""
    from valuation.features import rfm_summary

    return rfm_summary(
        cdnow_transactions,
        customer_id="customer_id",
        date="date",
        amount="amount",
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
    )


def _sample_orders(target: str) -> tuple[pd.DataFrame, dict]:
    """Raw canonical orders of a sample target (via valuation.ingest) and its ground truth."""
    import json

    folder = REPO / "data" / "samples" / target
    params_path = REPO / "params" / f"{target}.yaml"
    if not (folder / "ground_truth.json").exists() or not params_path.exists():
        pytest.fail(f"sample target {target} missing: data/samples is committed")
    from valuation.ingest import read_exports
    from valuation.params import load_params

    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    orders = read_exports(load_params(params_path)).tables["orders"]
    return orders, truth


@pytest.fixture(scope="session")
def online_school_orders() -> tuple[pd.DataFrame, dict]:
    """Orders of the online_school sample (BG/NBD + Gamma-Gamma process) and its truth."""
    return _sample_orders("online_school")


@pytest.fixture(scope="session")
def cert_school_orders() -> tuple[pd.DataFrame, dict]:
    """Orders of the cert_school sample (sBG renewals) and its truth."""
    return _sample_orders("cert_school")


def numeric_gradient(fun, params, rel_step=1e-6):
    """Central finite-difference gradient, to check the models' analytic gradients."""
    import numpy as np

    params = np.asarray(params, dtype=float)
    grad = np.empty_like(params)
    for i in range(len(params)):
        h = rel_step * max(abs(params[i]), 1e-3)
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (fun(up) - fun(down)) / (2 * h)
    return grad
