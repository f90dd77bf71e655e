"""``DealParams``: the YAML of one target, typed and validated.

Every relative path in the YAML is resolved against the folder that holds the YAML, so a
params file and the exports it names can move together. Unknown keys, wrong types, missing
files and impossible values are :class:`~valuation.errors.ParamsError` naming the YAML path
(e.g. ``economics.gross_margin``) and what is allowed.

Example
-------
>>> params = load_params("params/online_school.yaml")  # doctest: +SKIP
>>> params.economics.gross_margin  # doctest: +SKIP
0.65
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from valuation.errors import ParamsError
from valuation.params_rules import (
    check_encoding,
    check_sensitivity_ranges,
    refuse_control_characters,
)
from valuation.params_yaml import read_yaml
from valuation.tables import TABLES


MAX_MONEY = 1e13
"""Largest amount of money a params value may hold (CNY 10 trillion): a typo guard."""


class _Strict(BaseModel):
    # every float must be finite: .inf, .nan and 1e400 (read as inf) are errors
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataParams(_Strict):
    """Where the exports are and how to read them.

    Either ``files`` (one file per table: CSV, XLSX or Parquet) or ``workbook`` (one XLSX
    with one sheet per table, named in ``sheets``) must be given. ``columns`` maps, per table,
    an export's header to a canonical column name; built-in defaults cover the common Chinese
    and English headers.
    """

    files: dict[str, Path] = Field(default_factory=dict)
    workbook: Path | None = None
    sheets: dict[str, str] = Field(default_factory=dict)
    encoding: str = "auto"  # auto | utf-8 | utf-8-sig | gb18030 | gbk
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    opened: dt.date | None = None  # the school's opening date (for the review)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        check_encoding(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "DataParams":
        if not self.files and self.workbook is None:
            raise ValueError("give either data.files (a file per table) or data.workbook")
        for key in (*self.files, *self.sheets, *self.columns):
            if key not in TABLES:
                raise ValueError(f"unknown table {key!r}; allowed: {', '.join(TABLES)}")
        if "customers" not in self.files and "orders" not in self.files and self.workbook is None:
            raise ValueError("data.files needs at least customers and orders")
        return self


class EconomicsParams(_Strict):
    """Unit economics of the target."""

    gross_margin: float = Field(gt=0, le=1, description="share of revenue kept as margin")
    annual_discount_rate: float = Field(
        gt=0, lt=1, description="effective annual rate, e.g. 0.12 for 12%"
    )
    horizon_years: float | None = Field(
        default=5, gt=0, le=50, description="CLV horizon in years; null = unlimited"
    )
    membership_fee: float | None = Field(
        default=None, gt=0, le=MAX_MONEY,
        description="annual fee of a contractual (membership) business"
    )


class ChangeOfOwnerParams(_Strict):
    """Attrition caused by the change of owner."""

    one_off_loss: float = Field(default=0.10, ge=0, lt=1, description="share lost at transfer")
    hazard_multiplier: float = Field(
        default=1.3, ge=1, le=10, description="churn hazard multiplier after the transfer"
    )
    hazard_months: int = Field(default=12, ge=0, le=120)


class AcquisitionParams(_Strict):
    """Future acquisitions (customer-based corporate valuation); off unless given."""

    customers_per_year: float = Field(gt=0, le=1e9, description="new customers acquired per year")
    cost_per_customer: float = Field(ge=0, le=MAX_MONEY,
                                     description="acquisition cost per new customer, CNY")
    years: float = Field(default=5, gt=0, le=30, description="years of acquisition valued")


class BatnaParams(_Strict):
    """Our best alternative to this deal (issue 16). Give at most one of the two.

    A seller's default alternative is keeping the business (its standalone value, computed);
    a buyer's is building the base itself: ``build_cost_per_customer`` times the active
    transferable customers, or a ``value`` given outright.
    """

    value: float | None = Field(default=None, ge=0, description="our alternative, CNY")
    build_cost_per_customer: float | None = Field(
        default=None, gt=0, description="buyer: cost to acquire one customer ourselves, CNY")

    @model_validator(mode="after")
    def _at_most_one(self) -> "BatnaParams":
        if self.value is not None and self.build_cost_per_customer is not None:
            raise ValueError("give deal.batna.value or deal.batna.build_cost_per_customer, "
                             "not both")
        return self


class ReconsentParams(_Strict):
    """A re-consent campaign for customers who cannot be transferred yet (issue 16)."""

    response_rate: tuple[float, float] = Field(
        default=(0.10, 0.30), description="[low, high] share of contacted customers who consent")
    cost_per_contact: float = Field(default=3.0, ge=0, description="CNY per customer contacted")

    @model_validator(mode="after")
    def _rates(self) -> "ReconsentParams":
        low, high = self.response_rate
        if not 0 <= low <= high <= 1:
            raise ValueError("response_rate must be [low, high] with 0 <= low <= high <= 1")
        return self


class DealTermsParams(_Strict):
    """The deal: which side we advise, the counterparty's price, and its costs."""

    side: Literal["buyer", "seller"]
    asking_price: float | None = Field(
        default=None, gt=0, le=MAX_MONEY, description="old name of counterparty_price (kept for old YAMLs)")
    counterparty_price: float | None = Field(
        default=None, gt=0, le=MAX_MONEY, description="the price the other side has put on the table, CNY")
    counterparty_price_kind: Literal["ask", "offer"] | None = Field(
        default=None, description="ask: the seller's asking price; offer: a buyer's standing "
                                  "offer (default: ask when we buy, offer when we sell)")
    batna: BatnaParams | None = Field(default=None, description="our best alternative")
    reconsent: ReconsentParams = Field(default_factory=ReconsentParams)
    change_of_owner: ChangeOfOwnerParams = Field(default_factory=ChangeOfOwnerParams)
    notification_cost_per_customer: float = Field(default=1.5, ge=0, le=MAX_MONEY)
    integration_cost: float = Field(default=0.0, ge=0, le=MAX_MONEY)
    earn_out_share: float = Field(default=0.3, ge=0, le=1)
    revenue_multiple: float = Field(
        default=1.0, gt=0, le=1000, description="the simple trailing-revenue multiple a counterparty quotes"
    )
    acquisitions: AcquisitionParams | None = Field(
        default=None, description="value future acquisitions too (off by default, labelled when on)"
    )

    @model_validator(mode="after")
    def _one_price(self) -> "DealTermsParams":
        if (self.asking_price is not None and self.counterparty_price is not None
                and self.asking_price != self.counterparty_price):
            raise ValueError("deal.asking_price and deal.counterparty_price differ: give "
                             "counterparty_price only (asking_price is its old name)")
        return self

    @property
    def price(self) -> float | None:
        """The counterparty's price (``counterparty_price``, else the old ``asking_price``)."""
        return self.counterparty_price if self.counterparty_price is not None \
            else self.asking_price

    @property
    def price_kind(self) -> str:
        """``ask`` or ``offer``: as given, else ask when we buy and offer when we sell."""
        if self.counterparty_price_kind is not None:
            return self.counterparty_price_kind
        return "ask" if self.side == "buyer" else "offer"


class ChurnParams(_Strict):
    """How churn is defined for survival analysis."""

    inactivity_days: int = Field(default=180, ge=7, le=3650)


class PrivacyParams(_Strict):
    """Where the deal key lives and the rules for publishing."""

    key_env: str = "VALUATION_DEAL_KEY"
    key_file: Path | None = None
    demo_key: bool = Field(
        default=False, description="samples only: create a demo key in the user's config folder"
    )
    min_cell_size: int = Field(default=5, ge=1, le=1000)
    operator: str = "analyst"
    purpose: str = "valuation of the customer base for an M&A transaction"
    legal_basis: str = "PIPL Art. 13(1) contract / Art. 22 merger"
    assessment_ref: str = ""


class UncertaintyParams(_Strict):
    bootstrap_replicates: int = Field(default=200, ge=0, le=10000)
    seed: int = Field(default=20240101, ge=0, lt=2**32, description="numpy seeds are 0..2^32-1")
    assumption_draws: int = Field(
        default=400, ge=0, le=100000,
        description="joint draws of the assumptions over their sensitivity ranges (0: the "
                    "headline range is the model's only)")
    assumption_distributions: dict[
        Literal["annual_discount_rate", "gross_margin", "one_off_loss", "hazard_multiplier",
                "horizon_years", "inactivity_days"],
        Literal["triangular", "uniform", "fixed"]] = Field(default_factory=dict)


class SensitivityParams(_Strict):
    """Low/high values for the tornado; each a [low, high] pair."""

    annual_discount_rate: tuple[float, float] = (0.08, 0.20)
    gross_margin: tuple[float, float] | None = None  # default: +/- 10 points
    one_off_loss: tuple[float, float] = (0.0, 0.30)
    horizon_years: tuple[float, float] = (3, 10)
    inactivity_days: tuple[int, int] = (90, 365)
    hazard_multiplier: tuple[float, float] | None = None  # default: [1, base + (base - 1)]

    @model_validator(mode="after")
    def _ranges_in_bounds(self) -> "SensitivityParams":
        check_sensitivity_ranges(self)
        return self


class ReportParams(_Strict):
    lang: Literal["zh", "en"] = "en"
    formats: list[Literal["html", "pdf", "ipynb", "json"]] = ["html", "pdf", "ipynb", "json"]


class HandoverParams(_Strict):
    """The transfer package after signing (``valuation handover``)."""

    scope: Literal["transferable", "transferable_contactable", "all"] = Field(
        default="transferable",
        description="which customers are handed over: by default those who consented",
    )
    new_owner_name: str = "the buyer"
    new_owner_contact: str = ""
    buyer_recipient: str = Field(
        default="",
        description="the buyer's age public key (age1...); the payload is encrypted to it",
    )
    seller_recipients: list[str] = Field(
        default_factory=list,
        description="further age public keys that may open the package (the seller's own)",
    )
    destination: Literal["mainland", "outside"] = Field(
        default="mainland",
        description="where the buyer will hold the data: mainland China or outside it",
    )
    cross_border_route_ref: str = Field(
        default="",
        description="reference of the cross-border route (CAC assessment, filed standard "
        "contract, certificate or exemption memo); required when destination is outside",
    )
    prior_people_this_year: int = Field(
        default=0, ge=0,
        description="people whose personal information was already provided abroad since "
        "1 January (counts toward the CAC thresholds)",
    )
    prior_sensitive_people_this_year: int = Field(default=0, ge=0)
    id_numbers_sensitive: bool = Field(
        default=True,
        description="count resident ID numbers as sensitive personal information",
    )
    critical_information_infrastructure: bool = Field(
        default=False,
        description="the seller is a CII operator (any export needs a CAC assessment)",
    )
    notice_date: dt.date | None = Field(
        default=None, description="date of the customer notices (default: the build day)")
    notice_deadline_days: int = Field(
        default=30, ge=1, le=365,
        description="days the customer has to object before processing continues",
    )


class PathsParams(_Strict):
    work_dir: Path | None = None  # default: <yaml dir>/../work/<target>
    output_dir: Path | None = None  # default: <yaml dir>/../outputs/<target>
    handover_dir: Path | None = None  # where the transfer package may be written


class DealParams(_Strict):
    """One target company: its data, economics, deal terms, privacy and report settings."""

    target: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="short id, used in paths")
    name: str
    as_of: dt.date
    calibration_end: dt.date
    time_unit: Literal["D", "W", "M"] = "W"
    data: DataParams
    economics: EconomicsParams
    deal: DealTermsParams
    churn: ChurnParams = Field(default_factory=ChurnParams)
    privacy: PrivacyParams = Field(default_factory=PrivacyParams)
    uncertainty: UncertaintyParams = Field(default_factory=UncertaintyParams)
    sensitivity: SensitivityParams = Field(default_factory=SensitivityParams)
    report: ReportParams = Field(default_factory=ReportParams)
    handover: HandoverParams = Field(default_factory=HandoverParams)
    paths: PathsParams = Field(default_factory=PathsParams)
    source: Path | None = Field(default=None, exclude=True)  # the YAML file, set by the loader

    @model_validator(mode="after")
    def _dates_in_order(self) -> "DealParams":
        if self.calibration_end >= self.as_of:
            raise ValueError("calibration_end must be before as_of (the holdout lies between)")
        return self

    # -- resolved locations ------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    @property
    def work_dir(self) -> Path:
        return self.paths.work_dir or self.base_dir.parent / "work" / self.target

    @property
    def output_dir(self) -> Path:
        return self.paths.output_dir or self.base_dir.parent / "outputs" / self.target

    @property
    def analysis_dir(self) -> Path:
        """The folder of the token-only analysis dataset (one Parquet per table)."""
        return self.work_dir / "analysis"


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _resolve_paths(raw: dict, base: Path) -> dict:
    """Resolve relative paths of the YAML against its folder."""
    data = raw.get("data")
    if isinstance(data, dict):
        if isinstance(data.get("files"), dict):
            data["files"] = {k: str(base / v) for k, v in data["files"].items()}
        if isinstance(data.get("workbook"), str):
            data["workbook"] = str(base / data["workbook"])
    for section, keys in (("paths", ("work_dir", "output_dir", "handover_dir")),
                          ("privacy", ("key_file",))):
        block = raw.get(section)
        if isinstance(block, dict):
            for key in keys:
                if isinstance(block.get(key), str):
                    block[key] = str(base / Path(block[key]).expanduser())
    return raw


FREE_TEXT_EXEMPT: frozenset[str] = frozenset({"handover.new_owner_contact"})
"""Params text allowed to hold a contact: the buyer's contact for the PIPL Art. 22 notice,
written only into the handover package."""


def check_params_text(params: DealParams, where: str = "params") -> None:
    """Refuse personal identifiers in any text of the params (names, operator, notes, paths).

    Every string value (and mapping key) of the validated params is run through the one
    identifier detector (:func:`valuation.privacy.detect.detect`), in every spelling it
    knows; ``FREE_TEXT_EXEMPT`` fields are skipped. Params text reaches the brief, the
    processing log and messages, so an identifier there is an input error.

    Raises
    ------
    ParamsError
        Naming every offending field path, with the identifier masked (exit 2).
    """
    from valuation.privacy.detect import detect
    from valuation.privacy.masking import mask_identifier

    def walk(node: object, path: str):
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                if name != "source":
                    yield from walk(getattr(node, name), f"{path}.{name}" if path else name)
        elif isinstance(node, dict):
            for key, value in node.items():
                yield f"{path} (key {mask_identifier('text', key)!s})", str(key)
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                yield from walk(value, f"{path}[{i}]")
        elif isinstance(node, (str, Path)):
            yield path, str(node)

    problems = []
    for path, text in walk(params, ""):
        if path in FREE_TEXT_EXEMPT:
            continue
        found = detect(text)
        if found:
            masked = ", ".join(f"{d.kind} {mask_identifier(d.kind, d.value)}" for d in found)
            problems.append(f"  - {path}: holds personal data ({masked}); params text is "
                            "published in briefs and logs: remove it")
    if problems:
        raise ParamsError(f"{where}: invalid params\n" + "\n".join(problems))


def parse_params(raw: dict, *, source: Path | None = None, check_files: bool = True) -> DealParams:
    """Validate a params mapping into :class:`DealParams`.

    Parameters
    ----------
    raw : dict
        The parsed YAML.
    source : Path, optional
        The YAML file; relative paths are resolved against its folder.
    check_files : bool
        Check that every data file exists.

    Raises
    ------
    ParamsError
        Naming each offending YAML path and what is allowed.
    """
    where = str(source) if source else "params"
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected a YAML mapping of settings at the top level")
    refuse_control_characters(raw, where)
    base = source.parent if source else Path.cwd()
    raw = _resolve_paths(dict(raw), base)
    if source is not None:
        raw["source"] = source
    try:
        params = DealParams.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see params/README.md for allowed keys)"
            lines.append(f"  - {_location(err['loc'])}: {msg}")
        raise ParamsError(f"{where}: invalid params\n" + "\n".join(lines)) from None
    check_params_text(params, where)
    if check_files:
        missing = [
            f"  - data.files.{table}: file not found: {path}"
            for table, path in params.data.files.items()
            if not path.exists()
        ]
        if params.data.workbook is not None and not params.data.workbook.exists():
            missing.append(f"  - data.workbook: file not found: {params.data.workbook}")
        if missing:
            raise ParamsError(f"{where}: missing data files\n" + "\n".join(missing))
    return params


def load_params(path: str | Path, *, check_files: bool = True) -> DealParams:
    """Read and validate a params YAML file.

    Parameters
    ----------
    path : str or Path
        The YAML file of one target.
    check_files : bool
        Check that the data files it names exist.

    Returns
    -------
    DealParams
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (give the path of a target's YAML)")
    raw = read_yaml(path)
    return parse_params(raw, source=path.resolve(), check_files=check_files)
