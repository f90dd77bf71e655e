"""Generator of the embedded sample targets (``data/samples/``) and of large benchmark targets.

Three fictional schools with known generating processes and planted review-check defects at
exact counts; see docs/contract.md ("Sample targets", "Review checks").

>>> tables = generate_target("bootcamp", seed=7, customers=300)  # doctest: +SKIP
>>> tables["ground_truth"]["defects"]["dummy_phone"]  # doctest: +SKIP
7
"""

from __future__ import annotations

from valuation.samples.assemble import TargetBuild, generate_target
from valuation.samples.specs import CHECKS, TARGETS
from valuation.samples.writer import DEFAULT_SEED, write_samples, write_target

__all__ = ["CHECKS", "DEFAULT_SEED", "TARGETS", "TargetBuild", "generate_target",
           "write_samples", "write_target"]
