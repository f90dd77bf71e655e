"""Shared test fixtures: the reference data folder and the prepared CDNOW sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

#: read-only reference data (../shared next to the repository)
SHARED = Path(__file__).resolve().parents[2] / "shared"
REPO = Path(__file__).resolve().parents[1]
CDNOW_SAMPLE = SHARED / "data" / "cdnow" / "CDNOW_sample.txt"
SBG_TABLE = SHARED / "data" / "sbg" / "sbg_fader_hardie_2007_table1.csv"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW 1-in-10 sample, one row per purchase (6,919 rows), dates parsed."""
    if not CDNOW_SAMPLE.exists():
        pytest.skip(f"reference data not found: {CDNOW_SAMPLE}")
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
