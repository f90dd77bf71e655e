"""A synthetic target on disk for the brief, notebook and batch tests.

Writes, under a folder of the test's own (so parallel xdist workers never share one), a params
YAML, dummy export files (the params loader checks they exist; the brief never reads them) and
the token-only analysis dataset (Parquet) simulated by ``tests/test_value_fixtures``, written
last so that ``analysis_is_stale`` sees it fresh: the brief (and a batch) runs without ingest or
the privacy gate, on exactly the dataset a test chose.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from test_value_fixtures import AS_OF, synthetic_tables

KNOWN_PERSONAL = ("13812345678", "110101199003074512", "zhang.san@example.com", "张三丰")
"""Personal values planted in the dummy exports: none may ever reach a brief."""


def write_target(root: Path, target: str = "synthetic", *, side: str = "buyer",
                 lang: str = "en", n: int = 300, seed: int = 1, replicates: int = 20,
                 asking_price: float | None = 250000.0, broken: bool = False,
                 formats: list[str] | None = None) -> Path:
    """Write a synthetic target under ``root``; return its params YAML.

    ``broken=True`` writes an analysis dataset with a damaged orders table, so the brief
    notebook fails in a cell (a planted failure for the batch tests). ``formats`` sets
    ``report.formats`` (default: the params default, every format).
    """
    data = root / "data" / target
    data.mkdir(parents=True, exist_ok=True)
    (data / "customers.csv").write_text(
        "customer_id,name,mobile,id_number,email\n"
        f"C1,{KNOWN_PERSONAL[3]},{KNOWN_PERSONAL[0]},{KNOWN_PERSONAL[1]},{KNOWN_PERSONAL[2]}\n",
        encoding="utf-8")
    (data / "orders.csv").write_text("order_id,customer_id,order_date,amount\n", encoding="utf-8")
    params = {
        "target": target, "name": f"Synthetic school {target}", "as_of": AS_OF.isoformat(),
        "calibration_end": "2024-12-31",
        "data": {"files": {"customers": f"data/{target}/customers.csv",
                           "orders": f"data/{target}/orders.csv"},
                 "opened": "2021-01-01"},
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12, "horizon_years": 5},
        "deal": {"side": side, "asking_price": asking_price, "integration_cost": 1000.0},
        "uncertainty": {"bootstrap_replicates": replicates, "seed": 11},
        "report": {"lang": lang},
        "paths": {"work_dir": f"work/{target}", "output_dir": f"outputs/{target}"},
        "privacy": {"key_file": "deal.key"},
    }
    key_file = root / "deal.key"  # one key per root (owner-only, as the workbench requires)
    if not key_file.exists():
        key_file.write_text(os.urandom(32).hex())
        key_file.chmod(0o600)
    if formats is not None:
        params["report"]["formats"] = list(formats)
    path = root / f"{target}.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # written last, so the dataset is newer than every input and not stale (no ingest needed)
    # through the workbench's own writer: staged, logged (a brief refuses an unlogged dataset)
    from valuation.dataset import write_tables
    from valuation.params import load_params
    from valuation.privacy.keys import load_key

    tables = dict(synthetic_tables(n, seed))
    if broken:
        orders = tables["orders"]
        tables["orders"] = orders.assign(amount=float("nan"),
                                         order_date=orders["order_date"].iloc[0])
    loaded = load_params(path)
    write_tables(tables, loaded, load_key(loaded, notify=None), action="test: synthetic dataset")
    return path
