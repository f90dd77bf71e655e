"""Ingest: read messy exports into canonical raw tables (secure zone, in memory only).

>>> from valuation.ingest import read_exports  # doctest: +SKIP
>>> result = read_exports(params)  # doctest: +SKIP
>>> result.tables["orders"].dtypes  # doctest: +SKIP
"""

from valuation.ingest.coerce import parse_bool, parse_dates, parse_money
from valuation.ingest.pipeline import IngestResult, SourceFile, read_exports, read_table
from valuation.ingest.summary import IngestSummary, format_summary, summarize

__all__ = [
    "IngestResult",
    "IngestSummary",
    "SourceFile",
    "format_summary",
    "parse_bool",
    "parse_dates",
    "parse_money",
    "read_exports",
    "read_table",
    "summarize",
]
