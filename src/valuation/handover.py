"""Handover after signing: the verifiable transfer package, the notification roster, and
the destruction record.

The transfer package is the **one** output of the workbench that holds personal data: the
raw records of the customers in scope, handed from seller to buyer. It is therefore written
only to ``paths.handover_dir`` from params (never under ``outputs/`` or the work folder) and
the command says so plainly.

Layout written by :func:`build_handover` (``<handover_dir>/<target>/``)::

    bag/                              outer BagIt bag (RFC 8493), SHA-256 and SHA-512 manifests
      data/payload.tar.age            the inner bag, encrypted to handover.buyer_recipient
                                      (and handover.seller_recipients) with age
      handover-checklist.json / .md   交接清单: categories, counts, date ranges, exclusions
      bag-info.txt                    scope, source, counts
    confirmation.md                   form for both parties quoting the tag-manifest digest
    notification-status.csv           by token only: pending / notified / unreachable

    inner bag (only inside payload.tar.age; `valuation handover open` on the buyer's side):
      data/customers.csv ...          the raw records in scope (UTF-8, canonical columns)
      data/notification-roster.csv    per transferred customer: token, customer number, channel
      handover-checklist.json / .md   the same checklist

No plaintext file of personal data is left in ``handover_dir``: the inner bag is built in the
private (0700) staging folder, sealed, and removed in a ``finally`` block before the package
is moved into place (see :mod:`valuation.handover_crypto`).

Every CSV of the package is written through :func:`valuation.fileio.neutralise_csv_frame`: a
text cell starting with ``= + - @``, tab or CR (that is not a plain number) gets a leading
apostrophe so that no spreadsheet runs it as a formula.

The roster is by token and the seller's own customer number; the channel is ``mobile``,
``email`` or ``none`` (PIPL Art. 22: every transferred customer must be told the new owner's
name and contact).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
import pandas as pd

from valuation.errors import HandoverError
from valuation.fileio import neutralise_csv_frame, sha256_file
from valuation.params import DealParams
from valuation.privacy.cohorts import cohort_mask
from valuation.destruction import destroy_target
from valuation.privacy.log import append_entry, log_path
from valuation.crossborder import (CrossBorderRoute, require_route_reference,
                                   route_for_transfer)
from valuation.handover_status import (STATUSES, apply_returns, notification_status,
                                       token_digest)
from valuation.notices import build_notices
from valuation.handover_crypto import PAYLOAD, parse_recipients, seal
from valuation.handover_bag import CHECKSUMS, BagCheck, open_package, verify_bag
from valuation.handover_docs import (
    CATEGORY_ZH,
    DATE_COLUMNS,
    checklist_markdown,
    confirmation,
)
from valuation.handover_docs import checklist as make_checklist
from valuation.tables import TABLES

__all__ = ["CATEGORY_ZH", "DATE_COLUMNS", "BagCheck", "HandoverResult", "build_handover",
           "STATUSES", "apply_returns", "destroy_target", "handover_folder",
           "notification_status", "open_package",
           "verify_bag"]



@dataclass
class HandoverResult:
    """What :func:`build_handover` wrote.

    Attributes
    ----------
    folder : the package folder ``<handover_dir>/<target>``.
    bag : the BagIt bag inside it.
    scope : the cohort handed over.
    counts : records in scope per table.
    excluded : customers left out, by reason.
    tag_manifest_sha256 : digest quoted on the confirmation form.
    cross_border : the route under PIPL Art. 38-40 (:mod:`valuation.crossborder`), counts only.
    """

    folder: Path
    bag: Path
    scope: str
    counts: dict[str, int]
    excluded: dict[str, int]
    tag_manifest_sha256: str
    cross_border: dict[str, Any] | None = None

    @property
    def exclusions(self) -> Path:
        """Tokens of the customers who objected (``valuation handover status --returns``)."""
        return self.folder / "buyer-exclusions.csv"

    @property
    def status_file(self) -> Path:
        return self.folder / "notification-status.csv"


def handover_folder(params: DealParams) -> Path:
    """Where the transfer package of a target goes; refuses unsafe places.

    Raises
    ------
    HandoverError
        When ``paths.handover_dir`` is not set, or lies inside the published outputs or the
        target's work folder.
    """
    from valuation.pathsafety import check_paths

    base = params.paths.handover_dir
    if base is None:
        raise HandoverError(
            "paths.handover_dir is not set in the params file. The transfer package holds "
            "personal data, so it is written only to a folder you name there (outside the "
            "repository's outputs/ and work/ folders, on storage approved for the transfer)."
        )
    check_paths(params, ("handover_dir", "work_dir", "output_dir"))  # see valuation.pathsafety
    base = Path(base).resolve()
    for forbidden in (params.output_dir.resolve(), params.output_dir.resolve().parent,
                      params.work_dir.resolve()):
        if base == forbidden or forbidden in base.parents:
            raise HandoverError(
                f"paths.handover_dir ({base}) lies inside {forbidden}, which is published or "
                "shared; choose a folder outside outputs/ and work/"
            )
    return base / params.target


def _scope_customers(raw_customers: pd.DataFrame, analysis_customers: pd.DataFrame,
                     scope: str) -> tuple[pd.Series, dict[str, int]]:
    """Boolean mask over raw customers in scope, and the count excluded per reason."""
    in_scope = cohort_mask(analysis_customers, scope).to_numpy()
    excluded: dict[str, int] = {}
    if scope != "all":
        consent = analysis_customers["consent_transfer"].fillna(False).to_numpy(bool)
        minor_gap = (analysis_customers["minor"].fillna(False).to_numpy(bool)
                     & ~analysis_customers["guardian_consent"].fillna(False).to_numpy(bool))
        excluded["no consent to transfer"] = int((~consent).sum())
        excluded["minor without guardian consent"] = int((consent & minor_gap).sum())
        if scope == "transferable_contactable":
            contactable = analysis_customers["contactable"].fillna(False).to_numpy(bool)
            excluded["not contactable"] = int((consent & ~minor_gap & ~contactable).sum())
    return pd.Series(in_scope, index=raw_customers.index), excluded


def _channel(customers: pd.DataFrame) -> pd.Series:
    mobile_ok = customers["mobile_valid"].fillna(False) & ~customers["mobile_dummy"].fillna(False)
    email_ok = customers["email_valid"].fillna(False)
    channel = pd.Series("none", index=customers.index, dtype="string")
    channel[email_ok.to_numpy(bool)] = "email"
    channel[mobile_ok.to_numpy(bool)] = "mobile"
    return channel


def build_handover(params: DealParams, key: bytes, *, ingest_result: Any = None,
                   scope: str | None = None) -> HandoverResult:
    """Build the transfer package of a target (personal data: see the module docstring).

    Parameters
    ----------
    params : DealParams
        The target; ``paths.handover_dir`` must be set and ``handover.scope`` gives the
        default scope.
    key : bytes
        The deal key (tokens in the roster match the analysis dataset's).
    ingest_result : IngestResult, optional
        Already-read exports; read with :func:`valuation.ingest.read_exports` when omitted.
    scope : str, optional
        ``transferable`` (default from params), ``transferable_contactable`` or ``all``.

    Returns
    -------
    HandoverResult
    """
    from valuation.ingest import read_exports
    from valuation.privacy.gate import build_analysis_tables

    from valuation.markers import read_marker, require_marker, write_marker
    from valuation.privacy.keys import check_fingerprint, key_fingerprint

    scope = scope or params.handover.scope
    folder = handover_folder(params)
    work_marker = read_marker(params.work_dir)
    if work_marker is not None:  # the deal's dataset exists: the same key or nothing
        check_fingerprint(work_marker.get("key_fingerprint"), key,
                          where=f"the work folder {params.work_dir}")
    if folder.exists() or folder.is_symlink():  # replaced only when it is our package
        require_marker(folder, "handover", params.target, key,
                       action="replace it with the new transfer package")
    result = ingest_result if ingest_result is not None else read_exports(params)
    analysis = build_analysis_tables(result, params, key)
    raw = result.tables
    in_scope, excluded = _scope_customers(raw["customers"], analysis["customers"], scope)
    keep_ids = set(raw["customers"].loc[in_scope, "customer_id"].dropna())
    tables = {"customers": raw["customers"][in_scope.to_numpy()]}
    for table in TABLES[1:]:
        frame = raw[table]
        tables[table] = frame[frame["customer_id"].isin(keep_ids).to_numpy()]
    totals = {table: len(raw[table]) for table in TABLES}
    checklist = make_checklist(params, scope, tables, excluded, totals)
    recipients = parse_recipients(
        [params.handover.buyer_recipient, *params.handover.seller_recipients],
        where=str(params.source or "params"))

    customers = analysis["customers"][in_scope.to_numpy()]
    route = transfer_route(params, customers, tables["customers"])
    require_route_reference(params.handover, route, where=str(params.source or "params"))
    checklist["cross_border"] = {**route.as_dict(),
                                 "destination": params.handover.destination,
                                 "reference": params.handover.cross_border_route_ref}
    roster = pd.DataFrame({
        "customer_token": customers["customer_token"].to_numpy(),
        "customer_id": tables["customers"]["customer_id"].to_numpy(),
        "channel": _channel(customers).to_numpy(),
    })
    checklist["roster"] = {"customers": int(len(roster)),
                           "tokens_sha256": token_digest(roster["customer_token"])}
    notices = build_notices(params, tables["customers"], roster["customer_token"],
                            customers["minor"], roster["channel"], tables,
                            notice_date=params.handover.notice_date)
    checklist["notices"] = {channel: int(len(frame)) for channel, frame in notices.items()}
    checklist["encryption"] = {
        "format": "age v1 (X25519), https://age-encryption.org/v1",
        "payload": f"data/{PAYLOAD}",
        "recipients": [str(r) for r in recipients],
    }

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{params.target}.", dir=folder.parent))  # 0700
    plain = staging / ".plain"
    try:
        inner = plain / "bag"
        inner.mkdir(parents=True)
        for table, frame in tables.items():
            neutralise_csv_frame(frame).to_csv(inner / f"{table}.csv", index=False,
                                               encoding="utf-8", date_format="%Y-%m-%d")
        neutralise_csv_frame(roster).to_csv(inner / "notification-roster.csv", index=False,
                                            encoding="utf-8")
        (inner / "notices").mkdir()
        for channel, frame in notices.items():
            neutralise_csv_frame(frame).to_csv(inner / "notices" / f"{channel}.csv",
                                               index=False, encoding="utf-8")
        _make_bag(inner, params, checklist, "Customer data transfer (plaintext payload)")
        ciphertext = seal(inner, recipients)
        shutil.rmtree(plain)  # no plaintext of personal data beyond this point
        bag_dir = staging / "bag"
        bag_dir.mkdir()
        (bag_dir / PAYLOAD).write_bytes(ciphertext)
        bag = _make_bag(bag_dir, params, checklist,
                        f"Customer data transfer, scope: {scope}, encrypted (age)")
        digest = sha256_file(bag_dir / "tagmanifest-sha256.txt")
        oxum = bag.info.get("Payload-Oxum", "")
        (staging / "confirmation.md").write_text(confirmation(checklist, digest, oxum),
                                                  encoding="utf-8")
        status = roster[["customer_token"]].assign(
            status=roster["channel"].map(lambda c: "unreachable" if c == "none" else "pending"),
            notified_on="", note="")
        neutralise_csv_frame(status).to_csv(staging / "notification-status.csv", index=False,
                                            encoding="utf-8")
        write_marker(staging, "handover", params.target, key_fingerprint(key))
        if folder.exists():
            previous = folder.with_name(f".previous-{params.target}-{staging.name}")
            folder.rename(previous)
            staging.rename(folder)
            shutil.rmtree(previous)
        else:
            staging.rename(folder)
    finally:
        shutil.rmtree(plain, ignore_errors=True)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)

    counts = {table: int(len(frame)) for table, frame in tables.items()}
    append_entry(log_path(params), {
        "operator": params.privacy.operator,
        "purpose": "transfer of customer data to the new owner after signing",
        "legal_basis": "PIPL Art. 22 (transfer in a merger or acquisition)",
        "assessment_ref": params.privacy.assessment_ref,
        "target": params.target,
        "action": "handover: transfer package built",
        "scope": scope,
        "row_counts": counts,
        "excluded_customers": excluded,
        "cross_border_route": route.route,
        "key_fingerprint": key_fingerprint(key),
        "outputs": [{"path": str(folder / "bag"), "tagmanifest_sha256": digest,
                     "encrypted_to": len(recipients)}],
    })
    return HandoverResult(folder=folder, bag=folder / "bag", scope=scope, counts=counts,
                          excluded=excluded, tag_manifest_sha256=digest,
                          cross_border=checklist["cross_border"])


def transfer_route(params: DealParams, analysis_customers: pd.DataFrame,
                   raw_customers: pd.DataFrame) -> CrossBorderRoute:
    """The cross-border route from the customers in scope (people and sensitive people).

    Sensitive: customers under 14 (PIPL Art. 28) and, when ``handover.id_numbers_sensitive``,
    customers whose resident ID number is transferred.
    """
    sensitive = analysis_customers["minor"].fillna(False).to_numpy(bool)
    if params.handover.id_numbers_sensitive and "id_number" in raw_customers:
        ids = raw_customers["id_number"].astype("string").str.strip()
        sensitive = sensitive | (ids.notna() & (ids != "")).to_numpy(bool)
    return route_for_transfer(params.handover, int(len(analysis_customers)),
                              int(sensitive.sum()))


def _make_bag(folder: Path, params: DealParams, checklist: dict[str, Any],
              description: str) -> bagit.Bag:
    """Turn ``folder`` into a bag (its files become ``data/``) with the checklist as tag files."""
    bag = bagit.make_bag(
        str(folder),
        bag_info={
            "Source-Organization": params.name,
            "External-Identifier": f"{params.target}-handover",
            "External-Description": description,
            "Bagging-Date": params.as_of.isoformat(),
        },
        checksums=list(CHECKSUMS),
    )
    (folder / "handover-checklist.json").write_text(
        json.dumps(checklist, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "handover-checklist.md").write_text(checklist_markdown(checklist),
                                                  encoding="utf-8")
    bag.save(manifests=True)
    return bag
