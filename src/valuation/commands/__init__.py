"""Sub-commands of ``valuation``; each module exposes ``register(subparsers)``.

A command's handler takes the parsed ``argparse.Namespace`` and returns an exit code. It
raises :class:`~valuation.errors.ValuationError` subclasses for user errors; ``cli.main``
prints them without a traceback and exits 2.
"""
