"""Every error the workbench raises on purpose, in one hierarchy.

The command line catches :class:`ValuationError` and prints its message without a
traceback, exiting with code 2 (a user error). Anything else is a bug and keeps its
traceback. Messages must never carry a raw personal value: mask it first with
:func:`valuation.privacy.masking.mask_value`.
"""

from __future__ import annotations

from dataclasses import dataclass


class ValuationError(Exception):
    """Base class of every error meant for the user (exit code 2, no traceback)."""

    exit_code = 2


class ParamsError(ValuationError):
    """A params YAML is missing, malformed, or holds an impossible value."""


@dataclass
class Problem:
    """One problem found in an input file, ready to print.

    Attributes
    ----------
    file, sheet, row, column : where it is (row is the 1-based data row as a user sees it
        in a spreadsheet, header = row 1; ``None`` when the problem concerns the whole file).
    value : the offending value, already masked if it could be personal.
    expected : what a valid value looks like.
    action : what the user should do about it.
    """

    file: str
    expected: str
    action: str = ""
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    code: str = "invalid"

    def __str__(self) -> str:
        where = self.file
        if self.sheet:
            where += f" [sheet {self.sheet}]"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: "
        if self.value is not None:
            text += f"got {self.value!r}; "
        text += f"expected {self.expected}"
        if self.action:
            text += f". {self.action}"
        return text


class InputError(ValuationError):
    """One or more input files cannot be read into canonical tables.

    Carries every :class:`Problem` found (reporting is lazy: all problems of a file are
    collected before raising), capped for display with a count of the rest.
    """

    def __init__(self, problems: list[Problem] | str, *, shown: int = 20):
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            super().__init__(problems)
            return
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:shown]]
        rest = len(self.problems) - shown
        if rest > 0:
            lines.append(f"... and {rest} more problem(s) of the same kinds")
        header = f"{len(self.problems)} problem(s) in the input:"
        super().__init__("\n".join([header, *("  - " + line for line in lines)]))


class PrivacyError(ValuationError):
    """A privacy rule would be broken: no deal key, personal data in an output, ..."""


class KeyMissingError(PrivacyError):
    """No deal key was found where params say it lives."""


class LeakError(PrivacyError):
    """The export scanner found personal data in an output; the output was not kept."""


class LogIntegrityError(PrivacyError):
    """The processing log's hash chain is broken: a line was edited, inserted or removed."""


class ModelError(ValuationError):
    """A model cannot be fitted or used on the data given."""


class ModelInputError(ModelError, ValueError):
    """Model inputs are invalid (negative counts, recency > T, NaN, ...)."""


class ConvergenceError(ModelError):
    """The optimiser did not converge; the message carries a checklist of what to try."""


class NotFittedError(ModelError, AttributeError):
    """A fitted attribute was asked of an estimator before ``fit``."""


class ReportError(ValuationError):
    """The brief or a batch could not be produced."""


class HandoverError(ValuationError):
    """A transfer package is incomplete or its checksums do not match."""


class ReviewError(ValuationError):
    """The data review cannot run: the analysis dataset is missing or breaks the contract."""


class KeyFormatError(PrivacyError):
    """A deal key was found but is not 32 bytes (64 hex characters or base64)."""


class KeyPermissionError(PrivacyError):
    """A key file is readable or writable by group or others (fix: ``chmod 600 <path>``)."""


class KeyMismatchError(PrivacyError):
    """The deal key supplied is not the one the dataset, work folder or log was made with."""


class UnsafePathError(ValuationError):
    """A configured folder would put data where it must not be, or let a run delete what the
    workbench did not create (the repository, inputs, params, logs, another kind of output)."""


class LogWriteError(PrivacyError):
    """An entry could not be appended to the processing log (e.g. disk full); nothing of the
    attempt was kept and the log is as before."""


class DatasetNotLoggedError(PrivacyError):
    """An analysis dataset has no matching processing-log entry (or does not match it)."""


class KeyLocationError(PrivacyError):
    """A key file would be written where it must not live (an outputs/ or work/ folder)."""


class BriefExecutionError(ReportError):
    """A cell of the brief notebook failed; ``partial_notebook`` is where it was kept (or None)."""

    def __init__(self, message: str, partial_notebook: object = None):
        super().__init__(message)
        self.partial_notebook = partial_notebook


class SampleError(ValuationError):
    """Sample targets cannot be generated as asked (unknown target, too few customers, ...)."""


class ConvergenceWarning(RuntimeWarning):
    """A fit found its optimum but the result is weak (e.g. a flat likelihood direction).

    The estimates are kept; the estimator's ``fit_notes_`` says what happened and how the
    standard errors were obtained.
    """
