"""Ingest: read messy exports into canonical raw tables (secure zone, in memory only)."""
