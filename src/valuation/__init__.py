"""The valuation workbench: value the customer base of an IT-training company.

Stages (one subpackage or module each): ``ingest`` -> ``privacy`` (the gate) -> ``quality``
-> ``features`` -> ``models`` -> ``clv`` -> ``valuation`` -> ``report`` / ``batch``.
See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
