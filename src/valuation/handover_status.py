"""Notification status of a transfer: what was sent, delivered, bounced or objected to.

The status file ``<package>/notification-status.csv`` holds tokens only (the notice
reference of every customer; no name or contact). The seller's SMS or mail gateway returns a
CSV of ``customer_ref,status`` rows (``customer_ref`` is the ``notice_ref`` of the notices,
i.e. the token); :func:`apply_returns` folds it into the status file, where a later stage
never goes back (pending < sent < bounced < delivered < objected), writes
``buyer-exclusions.csv``: the tokens of the customers who objected, whom the buyer must not
continue to process (the buyer maps them to its customers through the roster of the
encrypted payload), and records the counts (no identifiers) in the processing log.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from valuation.errors import HandoverError
from valuation.fileio import neutralise_csv_frame, write_text_atomic
from valuation.params import DealParams

STATUSES: tuple[str, ...] = ("pending", "sent", "delivered", "bounced", "objected",
                             "unreachable", "notified")
"""Allowed statuses (``notified``: told by hand, e.g. at the school's front desk)."""
RETURN_STATUSES: tuple[str, ...] = ("sent", "delivered", "bounced", "objected")
RANK: dict[str, int] = {"pending": 0, "unreachable": 0, "sent": 1, "bounced": 2,
                        "delivered": 3, "notified": 3, "objected": 4}
EXCLUSIONS = "buyer-exclusions.csv"


def token_digest(tokens: pd.Series) -> str:
    """SHA-256 of the sorted tokens of a roster: checks a status file without the roster."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(map(str, tokens))).encode("utf-8")).hexdigest()


def _read_status(params: DealParams) -> tuple[Path, pd.DataFrame]:
    from valuation.handover import handover_folder

    folder = handover_folder(params)
    status_file, checklist_file = (folder / "notification-status.csv",
                                   folder / "bag" / "handover-checklist.json")
    if not status_file.exists() or not checklist_file.exists():
        raise HandoverError(f"{folder}: no package; run `valuation handover <params.yaml>` first")
    expected = json.loads(checklist_file.read_text(encoding="utf-8")).get("roster", {})
    status = pd.read_csv(status_file, dtype=str, keep_default_na=False)
    unknown = sorted(set(status["status"]) - set(STATUSES))
    if unknown:
        rows = status.index[status["status"].isin(unknown)][:5] + 2
        raise HandoverError(
            f"{status_file}: unknown status {unknown} at row(s) {list(rows)}; "
            f"allowed: {', '.join(STATUSES)}")
    tokens = status["customer_token"]
    if (len(tokens) != expected.get("customers") or tokens.duplicated().any()
            or token_digest(tokens) != expected.get("tokens_sha256")):
        raise HandoverError(
            f"{status_file}: {len(tokens)} row(s), {int(tokens.duplicated().sum())} duplicated; "
            f"the roster has {expected.get('customers')} customer(s) and the tokens differ "
            "from it; restore the rows from the package's notification-roster.csv")
    return status_file, status


def _counts(status: pd.DataFrame) -> dict[str, int]:
    counts = {s: int((status["status"] == s).sum()) for s in STATUSES}
    counts["total"] = int(len(status))
    return counts


def notification_status(params: DealParams) -> dict[str, int]:
    """Count customers per status from the status file.

    Raises
    ------
    HandoverError
        When the status file is missing, has unknown statuses, or does not cover exactly
        the customers of the roster.
    """
    return _counts(_read_status(params)[1])


def _read_returns(path: Path, known: set[str]) -> pd.DataFrame:
    if not path.is_file():
        raise HandoverError(f"{path}: no returns file there")
    returns = pd.read_csv(path, dtype=str, keep_default_na=False)
    returns.columns = [c.strip().lower() for c in returns.columns]
    if "customer_ref" not in returns and "notice_ref" in returns:
        returns = returns.rename(columns={"notice_ref": "customer_ref"})
    missing = [c for c in ("customer_ref", "status") if c not in returns]
    if missing:
        raise HandoverError(
            f"{path}: missing column(s) {missing}; expected a CSV with the columns "
            "customer_ref (the notice_ref of the notice) and status "
            f"({', '.join(RETURN_STATUSES)})")
    returns["status"] = returns["status"].str.strip().str.lower()
    returns["customer_ref"] = returns["customer_ref"].str.strip()
    bad = returns.index[~returns["status"].isin(RETURN_STATUSES)]
    if len(bad):
        raise HandoverError(
            f"{path}: unknown status at row(s) {list(bad[:5] + 2)} (column status); "
            f"expected one of {', '.join(RETURN_STATUSES)}")
    unknown = returns.index[~returns["customer_ref"].isin(known)]
    if len(unknown):  # values not shown: a mistyped reference may be a phone number
        raise HandoverError(
            f"{path}: {len(unknown)} customer_ref value(s) not in this package, at row(s) "
            f"{list(unknown[:5] + 2)} (column customer_ref); use the notice_ref of the notices")
    return returns


def apply_returns(params: DealParams, returns_path: str | Path) -> dict[str, int]:
    """Fold a gateway returns file into the status file; exclusions and log entry.

    Returns
    -------
    dict
        Customers per status after the returns, and ``total``.

    Raises
    ------
    HandoverError
        When the returns file misses a column, has an unknown status or a reference not in
        the package (rows named, values not shown). Nothing is written then.
    """
    from valuation.privacy.log import append_entry, log_path

    status_file, status = _read_status(params)
    returns = _read_returns(Path(returns_path), set(status["customer_token"]))
    rank = returns.assign(rank=returns["status"].map(RANK))
    best = rank.sort_values("rank").groupby("customer_ref").tail(1).set_index("customer_ref")
    current = status.set_index("customer_token")["status"]
    incoming = best["status"].reindex(current.index)
    newer = incoming.notna() & (incoming.map(RANK).fillna(-1) > current.map(RANK))
    status.loc[newer.to_numpy(), "status"] = incoming[newer].to_numpy()
    counts = _counts(status)
    folder = status_file.parent
    write_text_atomic(status_file, _csv(status))
    objectors = status.loc[status["status"] == "objected", ["customer_token"]]
    write_text_atomic(folder / EXCLUSIONS, _csv(objectors))
    append_entry(log_path(params), {
        "operator": params.privacy.operator,
        "purpose": "PIPL Art. 22 notice of the transfer; objections honoured",
        "legal_basis": "PIPL Art. 22, 44-47",
        "assessment_ref": params.privacy.assessment_ref,
        "target": params.target,
        "action": "handover: notification returns recorded",
        "returns_rows": int(len(returns)),
        "status_counts": {k: v for k, v in counts.items() if k != "total"},
        "objected_excluded_from_buyer_processing": counts["objected"],
        "outputs": [{"path": str(folder / EXCLUSIONS), "rows": int(len(objectors))}],
    })
    return counts


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    neutralise_csv_frame(frame).to_csv(buffer, index=False)
    return buffer.getvalue()
