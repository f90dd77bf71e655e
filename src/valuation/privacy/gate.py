"""The privacy gate: raw canonical tables in, token-only analysis dataset out.

Steps (one function each, :func:`run_gate` chains them):

1. check identifiers (:mod:`~valuation.privacy.identifiers`) and derive coarse attributes
   (:mod:`~valuation.privacy.attributes`);
2. pseudonymise (:mod:`~valuation.privacy.tokens`):

   * ``customer_token`` = token of the trimmed ``customer_id`` under field ``customer_id``,
     in every table (orphan orders keep their data and get a token too);
   * ``person_token`` = token under field ``person`` of the normalised ID number when it is
     well-formed (18 characters after normalisation and the 15-to-18 upgrade, whether or
     not its check character or birth date validates: a mistyped check digit is still the
     same person's number), else of the normalised mobile when it is valid and not a dummy
     (a dummy such as 13800000000 is shared by strangers), else NA. The same person under
     two customer numbers thus gets one person token;
   * ``mobile_token`` = token of the valid normalised mobile under field ``mobile``
     (dummies included; ``mobile_dummy`` flags every known dummy, valid prefix or not:
     13800000000 and 11111111111 alike);
3. drop names, mobiles, ID numbers and e-mails; redact feedback text (identifiers of the
   detector, the writer's own name and every other customer's name); apply each text
   column's policy (:mod:`~valuation.privacy.categories`): closed vocabularies, labels
   (city, channel, course, category) redacted and their values held by fewer than
   ``privacy.min_cell_size`` customers grouped into ``other``, order numbers holding an
   identifier pseudonymised;
4. write ``<analysis_dir>/<table>.parquet`` through a staging folder, scanning each file
   (a finding raises :class:`~valuation.errors.LeakError` and no file of the run is kept);
   tables are built, written and released one at a time, so the gate holds one analysis
   table beside the raw ones;
5. append one entry to the processing log, and only then move the dataset into place
   (:func:`valuation.dataset.write_dataset`: a refused entry leaves nothing behind).

Validity of the birth date in an ID number (``id_birthdate_ok``) follows the review's
``impossible_birth_date`` rule: a real calendar date, not after the signup date (or after
``as_of`` when signup is missing, and never after ``as_of``), and at most 100 years before
the signup date.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from valuation.dataset import write_dataset
from valuation.errors import ParamsError
from valuation.params import DealParams
from valuation.privacy import identifiers as ids
from valuation.privacy.attributes import city_tier, derive_attributes
from valuation.privacy.categories import apply_policy
from valuation.privacy.cohorts import cohort_counts
from valuation.privacy.log import log_path, require_intact
from valuation.privacy.names import NameMatcher, names_in_params
from valuation.privacy.redact import PLACEHOLDERS, redact_series
from valuation.privacy.tokens import pseudonymize
from valuation.tables import ANALYSIS_COLUMNS, RAW_COLUMNS, TABLES

MAX_AGE_AT_SIGNUP = 100
STRING = pd.StringDtype("pyarrow")
"""Text columns of the analysis tables: ``== "string"``, Arrow buffers instead of objects."""


@dataclass
class GateResult:
    """What the gate produced.

    Attributes
    ----------
    paths : dict
        Table name -> written Parquet file.
    cohort_counts : dict
        Customers per consent cohort and flagged group (see :func:`cohort_counts`).
    row_counts : dict
        Table name -> rows written.
    log_entry : dict
        The processing-log entry appended for this run.
    log_path : Path
        The processing log.
    tables : dict
        Table name -> analysis DataFrame (columns exactly ``ANALYSIS_COLUMNS``), read back
        from the written dataset on first use: the gate keeps no table in memory once it is
        written.
    """

    paths: dict[str, Path]
    cohort_counts: dict[str, int]
    row_counts: dict[str, int] = field(default_factory=dict)
    log_entry: dict[str, Any] = field(default_factory=dict)
    log_path: Path | None = None

    @functools.cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        from valuation.analysis import load_analysis

        return load_analysis(self.paths["customers"].parent)


def _raw(ingest_result: Any, table: str) -> pd.DataFrame:
    """The raw table with every canonical column (missing ones filled with NA)."""
    frame = (getattr(ingest_result, "tables", None) or {}).get(table)
    columns = RAW_COLUMNS[table]
    if frame is None:
        frame = pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    missing = [column for column in columns if column not in frame]
    if missing or not frame.index.equals(pd.RangeIndex(len(frame))):
        # new index and added columns on a shallow copy: the caller's table is untouched and
        # its columns are shared, not copied (reset_index or assign would copy them all)
        frame = frame.copy(deep=False)
        frame.index = pd.RangeIndex(len(frame))
        for column in missing:
            frame[column] = _missing(columns[column], frame.index)
    return frame


def _missing(dtype: str, index: pd.Index) -> pd.Series:
    """A column of missing values of ``dtype`` (an absent ``count`` means one event)."""
    if dtype == "int64":
        return pd.Series(1, index=index, dtype=dtype)
    if dtype.startswith("datetime64"):
        return pd.Series(pd.NaT, index=index, dtype=dtype)
    if dtype == "float64":
        return pd.Series(float("nan"), index=index, dtype=dtype)
    return pd.Series(pd.NA, index=index, dtype=dtype)


def _typed(frame: pd.DataFrame | dict[str, pd.Series], table: str) -> pd.DataFrame:
    """Exactly the analysis columns of ``table``, in order, with their dtypes.

    Text columns are pyarrow-backed ``string`` (no Python object per cell); columns that
    already have their dtype are not copied.
    """
    columns = ANALYSIS_COLUMNS[table]
    out: dict[str, pd.Series] = {}
    for column, dtype in columns.items():
        values = frame[column]
        if dtype == "int64" and values.dtype != "int64":
            values = pd.to_numeric(values, errors="coerce").fillna(1)
        elif dtype.startswith("datetime64") and values.dtype != dtype:
            values = pd.to_datetime(values, errors="coerce")
        out[column] = values.astype(STRING if dtype == "string" else dtype, copy=False)
    result = pd.DataFrame(out, copy=False)
    result.index = pd.RangeIndex(len(result))
    return result


def _customer_ids(values: pd.Series) -> pd.Series:
    text = values.astype(STRING, copy=False).str.strip()
    return text.mask(text == "")


def build_customers(raw: pd.DataFrame, key: bytes, as_of: dt.date) -> pd.DataFrame:
    """The analysis customers table from the raw one (see the module docstring).

    Parameters
    ----------
    raw : pd.DataFrame
        Raw canonical customers (``RAW_COLUMNS["customers"]``).
    key : bytes
        The deal key.
    as_of : date
        The valuation date: no birth date may lie after it.

    Returns
    -------
    pd.DataFrame
        Columns exactly ``ANALYSIS_COLUMNS["customers"]``.
    """
    signup = pd.to_datetime(raw["signup_date"], errors="coerce")
    as_of_ts = pd.Timestamp(as_of)
    reference = signup.fillna(as_of_ts).where(signup.fillna(as_of_ts) <= as_of_ts, as_of_ts)
    idc = ids.check_id_number_series(raw["id_number"], on=reference,
                                     max_age=MAX_AGE_AT_SIGNUP)
    mobile = ids.normalize_mobile_series(raw["mobile"])
    mobile_valid = ids.validate_mobile_series(raw["mobile"])
    mobile_dummy = ids.is_dummy_mobile_series(raw["mobile"])  # 11111111111 too: not valid
    email_valid = ids.validate_email_series(raw["email"])
    name = raw["name"].astype("string").str.strip()

    person_source = idc["normalized"].where(idc["well_formed"])
    person_source = person_source.fillna(mobile.where(mobile_valid & ~mobile_dummy))
    attributes = derive_attributes(idc["normalized"], idc["valid"], idc["birth_date"], signup)

    out = pd.DataFrame(index=raw.index)
    out["customer_token"] = pseudonymize(_customer_ids(raw["customer_id"]), "customer_id", key)
    out["person_token"] = pseudonymize(person_source, "person", key)
    out["mobile_token"] = pseudonymize(mobile.where(mobile_valid), "mobile", key)
    city = raw["city"].astype("string").str.strip()
    out["city"] = city.mask(city == "")
    out["city_tier"] = city_tier(raw["city"])
    for column in ("province", "sex", "birth_year_band", "age_band", "minor"):
        out[column] = attributes[column]
    out["signup_date"] = signup
    for column in ("channel", "consent_transfer", "consent_marketing", "guardian_consent"):
        out[column] = raw[column]
    out["id_present"] = idc["present"]
    out["id_valid"] = idc["valid"]
    out["id_checksum_ok"] = idc["checksum_ok"]
    out["id_birthdate_ok"] = idc["birthdate_ok"]
    out["mobile_present"] = mobile.notna()
    out["mobile_valid"] = mobile_valid
    out["mobile_dummy"] = mobile_dummy
    out["email_valid"] = email_valid
    out["contactable"] = (mobile_valid & ~mobile_dummy) | email_valid
    out["name_present"] = name.notna() & (name != "")
    return _typed(out, "customers")


def build_linked(raw: pd.DataFrame, table: str, key: bytes,
                 names_by_id: pd.Series | None = None,
                 matcher: NameMatcher | None = None) -> pd.DataFrame:
    """An orders, activity or feedback table keyed by customer token.

    Parameters
    ----------
    raw : pd.DataFrame
        The raw canonical table.
    table : str
        ``"orders"``, ``"activity"`` or ``"feedback"``.
    key : bytes
        The deal key.
    names_by_id : pd.Series, optional
        Customer name by trimmed customer id, to redact feedback writers' own names.
    matcher : NameMatcher, optional
        Every customer's name, replaced in feedback text wherever it appears.
    """
    # only the columns kept, shared with the raw table (no copy of a 10^7-row frame)
    out = {column: raw[column] for column in ANALYSIS_COLUMNS[table] if column in raw}
    customer_id = _customer_ids(raw["customer_id"])
    out["customer_token"] = pseudonymize(customer_id, "customer_id", key)
    if table == "orders":
        out["refund_amount"] = pd.to_numeric(out["refund_amount"], errors="coerce").fillna(0.0)
    if table == "feedback":
        names = customer_id.map(names_by_id) if names_by_id is not None else None
        text = redact_series(raw["text"], names)
        if matcher:
            text = text.map(lambda t: matcher.replace(t, PLACEHOLDERS["name"]),
                            na_action="ignore").astype("string")
        out["text_redacted"] = text
    del customer_id
    return _typed(out, table)


def iter_analysis_tables(ingest_result: Any, params: DealParams,
                         key: bytes) -> Iterator[tuple[str, pd.DataFrame]]:
    """The four analysis tables, built one at a time (customers first; nothing written).

    Consumed one by one, only the table in hand is in memory beside the raw tables.
    """
    customers_raw = _raw(ingest_result, "customers")
    ids_ = _customer_ids(customers_raw["customer_id"])
    names = customers_raw["name"].astype("string")
    names_by_id = pd.Series(names.to_numpy(), index=ids_.to_numpy())
    names_by_id = names_by_id[names_by_id.index.notna()]
    names_by_id = names_by_id[~names_by_id.index.duplicated()]
    matcher = NameMatcher(names.dropna().unique())
    k = params.privacy.min_cell_size

    def tokenize(values: pd.Series) -> pd.Series:
        return pseudonymize(values, "order_id", key)

    customers = build_customers(customers_raw, key, params.as_of)
    apply_policy(customers, "customers", customers["customer_token"], k=k, names=matcher,
                 tokenize=tokenize)
    yield "customers", customers
    del customers
    for table in TABLES[1:]:
        frame = build_linked(_raw(ingest_result, table), table, key, names_by_id, matcher)
        apply_policy(frame, table, frame["customer_token"], k=k, names=matcher,
                     tokenize=tokenize)
        yield table, frame
        del frame


def build_analysis_tables(ingest_result: Any, params: DealParams,
                          key: bytes) -> dict[str, pd.DataFrame]:
    """All four analysis tables in memory (nothing written)."""
    return dict(iter_analysis_tables(ingest_result, params, key))


def _source_record(source: Any) -> dict[str, Any]:
    record = {"path": str(getattr(source, "path", "")),
              "sha256": getattr(source, "sha256", None),
              "rows": getattr(source, "rows", None)}
    sheet = getattr(source, "sheet", None)
    if sheet:
        record["sheet"] = sheet
    return record


def run_gate(ingest_result: Any, params: DealParams, key: bytes, *,
             operator: str | None = None) -> GateResult:
    """Turn raw tables into the token-only analysis dataset, write it and log the run.

    Parameters
    ----------
    ingest_result : IngestResult
        ``.tables`` (raw canonical tables), ``.sources`` (objects with ``path``, ``sheet``,
        ``sha256``, ``rows``), ``.quarantined`` and ``.warnings``.
    params : DealParams
        The target; ``analysis_dir`` is where the dataset goes.
    key : bytes
        The 32-byte deal key (:func:`valuation.privacy.keys.load_key`).
    operator : str, optional
        Who runs it (default ``params.privacy.operator``).

    Returns
    -------
    GateResult

    Raises
    ------
    LeakError
        A written file holds a personal identifier; nothing of the run is kept.
    LogIntegrityError
        The target's processing log is broken (it is checked before anything is written).
    ParamsError
        A published params text (name, operator, ...) holds a customer's name.
    """
    customers_raw = _raw(ingest_result, "customers")
    fields = names_in_params(params, NameMatcher(customers_raw["name"].dropna().unique()))
    if fields:
        raise ParamsError(
            f"{params.source or 'params'}: the name of a customer of this target is in "
            f"{', '.join(fields)}; params text is published in the brief and the log: "
            "replace it (e.g. the company's name, the analyst's role)")
    log_file = log_path(params)
    if log_file.exists():
        require_intact(log_file, allow_torn_tail=True)
    row_counts: dict[str, int] = {}
    counts: dict[str, int] = {}

    def counted() -> Iterator[tuple[str, pd.DataFrame]]:
        for table, frame in iter_analysis_tables(ingest_result, params, key):
            row_counts[table] = len(frame)
            if table == "customers":
                counts.update(cohort_counts(frame))
            yield table, frame
            del frame  # written: release it before the next table is built

    quarantined = getattr(ingest_result, "quarantined", None) or {}
    privacy = params.privacy

    def entry_for(paths: dict[str, Path], digests: dict[str, str]) -> dict[str, Any]:
        return {
            "operator": operator or privacy.operator,
            "purpose": privacy.purpose,
            "legal_basis": privacy.legal_basis,
            "assessment_ref": privacy.assessment_ref,
            "target": params.target,
            "action": "ingest: privacy gate (pseudonymise, drop identifiers, redact text)",
            "inputs": [_source_record(s) for s in getattr(ingest_result, "sources", []) or []],
            "row_counts": {t: int(n) for t, n in row_counts.items()},
            "quarantined_rows": {t: int(len(f)) for t, f in quarantined.items()},
            "warnings": len(getattr(ingest_result, "warnings", []) or []),
            "cohort_counts": counts,
            "outputs": [{"path": str(paths[t]), "sha256": digests[t]} for t in paths],
        }

    # staged, scanned, logged, then moved into place (valuation.dataset)
    paths, written = write_dataset(counted(), params, key, entry_for)
    return GateResult(paths=paths, cohort_counts=counts, row_counts=row_counts,
                      log_entry=written, log_path=log_file)
