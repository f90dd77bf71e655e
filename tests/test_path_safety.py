"""Paths that cannot destroy (issue 13, item 5).

A throw-away repository (``pyproject.toml``, ``.git``, ``params/``, ``data/``, ``work/``,
``outputs/``) holds one small target. Every unsafe ``paths.handover_dir``, ``paths.work_dir``
and ``paths.output_dir`` (the repository, an input folder, the params folder, the work root,
the logs, another kind's folder, home, ``/``), in every spelling (absolute, trailing slash,
``..``, relative to the YAML, a symbolic link, another case, a folder inside it, a folder
containing it) is refused by the real CLI with exit 2, and a hash of the whole tree before and
after shows that nothing changed. Markers: nothing unmarked, of another target or of another
key is ever deleted or replaced.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

from test_ingest import customers_csv, orders_csv
from valuation.cli import main
from valuation.errors import UnsafePathError
from valuation.params import load_params
from valuation.pathsafety import check_paths, workbench_repo

TARGET = "t1"


def tree_hash(root: Path) -> dict[str, str]:
    """Every entry under ``root``: files by content, links by target, folders by name."""
    entries: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                entries[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                entries[rel] = "dir"
            else:
                entries[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository copy with one target; the key outside it; HOME in tmp."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    data = root / "data" / TARGET
    data.mkdir(parents=True)
    (data / "customers.csv").write_text(customers_csv(), encoding="utf-8")
    (data / "orders.csv").write_text(orders_csv(), encoding="utf-8")
    (root / "data" / "README.md").write_text("inputs\n")
    (root / "params").mkdir()
    (root / "params" / "other.yaml").write_text("target: other\n")
    (root / "work" / "logs").mkdir(parents=True)
    (root / "work" / "logs" / "other.jsonl").write_text("{}\n")
    (root / "work" / "other").mkdir()
    (root / "work" / "other" / "keep.txt").write_text("another target's work\n")
    (root / "outputs" / "other").mkdir(parents=True)
    (root / "outputs" / "other" / "brief.html").write_text("<p>other</p>\n")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "t1.key").write_text(os.urandom(32).hex())
    (keys / "t1.key").chmod(0o600)
    (tmp_path / "links").mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VALUATION_DEAL_KEY", raising=False)
    return root


BUYER_RECIPIENT = "age1qy2kucpst2hm9uj7lkcq3tgkdfqqxecs4pn3dkfysre6mpthvd0s96rj9z"


def write_params(root: Path, **paths) -> Path:
    raw = {
        "target": TARGET, "name": "Test school", "as_of": "2025-06-30",
        "calibration_end": "2024-12-31",
        "data": {"files": {"customers": f"../data/{TARGET}/customers.csv",
                           "orders": f"../data/{TARGET}/orders.csv"}},
        "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12},
        "deal": {"side": "buyer"},
        "privacy": {"key_file": str(root.parent / "keys" / "t1.key")},
        "paths": {k: str(v) for k, v in paths.items()},
        # the transfer package is encrypted to the buyer: a fixed public key suffices here
        "handover": {"buyer_recipient": BUYER_RECIPIENT},
    }
    path = root / "params" / f"{TARGET}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


# the unsafe places, relative to the repository ("" = the repository itself)
UNSAFE = {
    "handover_dir": ["", "data", "params", f"data/{TARGET}", "work", "work/logs",
                     f"work/{TARGET}", "outputs", f"outputs/{TARGET}", "src"],
    "work_dir": ["", "data", "params", f"data/{TARGET}", "work", "work/logs", "outputs",
                 f"outputs/{TARGET}", "src"],
    "output_dir": ["", "data", "params", f"data/{TARGET}", "work", "work/logs",
                   f"work/{TARGET}", "outputs", "src"],
}
SPELLINGS = ("absolute", "trailing_slash", "dotdot", "relative", "symlink", "case", "inside")


def spell(place: Path, how: str, yaml_dir: Path, links: Path) -> str:
    if how == "absolute":
        return str(place)
    if how == "trailing_slash":
        return str(place) + "/"
    if how == "dotdot":
        return str(place / "x" / "..")
    if how == "relative":
        return os.path.relpath(place, yaml_dir)
    if how == "symlink":
        link = links / f"l{len(list(links.iterdir()))}"
        link.symlink_to(place, target_is_directory=True)
        return str(link)
    if how == "case":
        return str(place.parent / place.name.upper()) if place.name else str(place)
    return str(place / "sub")  # inside


def _command(kind: str, params: Path) -> list[str]:
    return {"handover_dir": ["handover", str(params)],
            "work_dir": ["ingest", str(params)],
            "output_dir": ["brief", str(params)]}[kind]


CASES = [(kind, where, how) for kind, places in UNSAFE.items() for where in places
         for how in SPELLINGS
         if not (how == "case" and where == "")  # the tmp root name has no case to change
         # a target's own folder inside the shared work/ or outputs/ root is the default
         and not (how == "inside" and (kind, where) in {("work_dir", "work"),
                                                        ("output_dir", "outputs")})]


FAST = {"", f"data/{TARGET}"}
"""Places whose every spelling runs in the default suite; the full matrix is marked slow."""
PARAMS = [pytest.param(k, w, h, id=f"{k}-{w or 'repo'}-{h}",
                       marks=() if (w in FAST or h == "absolute") else pytest.mark.slow)
          for k, w, h in CASES]


@pytest.mark.parametrize("kind,where,how", PARAMS)
def test_unsafe_folder_is_refused_and_nothing_changes(repo, kind, where, how, capsys):
    place = repo / where if where else repo
    (repo / "src").mkdir(exist_ok=True)
    defaults = {"work_dir": repo / "work" / TARGET, "output_dir": repo / "outputs" / TARGET,
                "handover_dir": repo.parent / "handover"}
    params = write_params(repo, **{**defaults, kind: "PLACEHOLDER"})
    value = spell(place, how, params.parent, repo.parent / "links")
    write_params(repo, **{**defaults, kind: value})
    before = tree_hash(repo.parent)
    code = main(_command(kind, params))
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert f"paths.{kind}" in err and "choose" in err, err
    assert tree_hash(repo.parent) == before


@pytest.mark.parametrize("kind", ["handover_dir", "work_dir", "output_dir"])
@pytest.mark.parametrize("place", ["home", "root", "parent_of_repo"])
def test_home_root_and_a_folder_containing_the_repo_are_refused(repo, kind, place, capsys):
    value = {"home": repo.parent / "home", "root": Path("/"), "parent_of_repo": repo.parent}[place]
    defaults = {"work_dir": repo / "work" / TARGET, "output_dir": repo / "outputs" / TARGET,
                "handover_dir": repo.parent / "handover"}
    params = write_params(repo, **{**defaults, kind: value})
    before = tree_hash(repo.parent)
    assert main(_command(kind, params)) == 2
    err = capsys.readouterr().err
    assert "is or contains" in err or f"inside paths.{kind}" in err, err
    assert tree_hash(repo.parent) == before


def test_the_workbench_repository_itself_is_refused(repo):
    real_repo = workbench_repo()
    assert real_repo is not None
    params = load_params(write_params(repo, handover_dir=real_repo / "data"))
    with pytest.raises(UnsafePathError, match="the repository"):
        check_paths(params)


def test_safe_defaults_pass(repo):
    params = load_params(write_params(repo, handover_dir=repo.parent / "handover"))
    check_paths(params)  # work/<t>, outputs/<t> in the repository, handover outside


# ---------------------------------------------------------------------------------------
# markers: nothing unmarked, of another target or another key is deleted or replaced
# ---------------------------------------------------------------------------------------
def _safe(repo: Path) -> Path:
    return write_params(repo, work_dir=repo / "work" / TARGET,
                        output_dir=repo / "outputs" / TARGET,
                        handover_dir=repo.parent / "handover")


def test_destroy_refuses_an_unmarked_work_folder(repo, capsys):
    params = _safe(repo)
    work = repo / "work" / TARGET
    work.mkdir()
    (work / "thesis.docx").write_text("not the workbench's")
    before = tree_hash(repo.parent)
    assert main(["destroy", str(params), "--yes"]) == 2
    assert "no workbench marker" in capsys.readouterr().err
    assert tree_hash(repo.parent) == before


def test_ingest_refuses_an_existing_unmarked_folder_and_adopts_a_legacy_one(repo, capsys):
    params = _safe(repo)
    work = repo / "work" / TARGET
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    before = tree_hash(repo.parent)
    assert main(["ingest", str(params)]) == 2
    assert "was not created by the workbench" in capsys.readouterr().err
    assert tree_hash(repo.parent) == before
    (work / "notes.txt").unlink()
    (work / "analysis").mkdir()  # an earlier version's layout: adopted
    assert main(["ingest", str(params)]) == 0
    assert (work / ".valuation-folder.json").is_file()


def test_destroy_removes_only_its_own_marked_folder_and_refuses_another_key(repo, capsys):
    params = _safe(repo)
    assert main(["ingest", str(params)]) == 0
    work = repo / "work" / TARGET
    assert (work / "analysis" / "dataset.json").is_file()
    key = repo.parent / "keys" / "t1.key"
    real_key = key.read_text()
    key.write_text(os.urandom(32).hex())  # another deal key
    before = tree_hash(repo.parent)
    assert main(["destroy", str(params), "--yes"]) == 2
    assert "fingerprint" in capsys.readouterr().err
    assert tree_hash(repo.parent) == before
    key.write_text(real_key)
    before = tree_hash(repo.parent)
    assert main(["destroy", str(params), "--yes"]) == 0
    after = tree_hash(repo.parent)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed and all(p.startswith((f"repo/work/{TARGET}", "repo/work/logs/t1.jsonl"))
                           for p in changed), changed
    assert not work.exists() and (repo / "work" / "other" / "keep.txt").is_file()


def test_handover_never_replaces_an_unmarked_folder_but_replaces_its_own(repo, capsys):
    params = _safe(repo)
    package = repo.parent / "handover" / TARGET
    package.mkdir(parents=True)
    (package / "contract.pdf").write_text("the signed contract")
    before = tree_hash(repo.parent)
    assert main(["handover", str(params)]) == 2
    assert "no workbench marker" in capsys.readouterr().err
    assert tree_hash(repo.parent) == before
    (package / "contract.pdf").unlink()
    package.rmdir()
    before = tree_hash(repo.parent)
    assert main(["handover", str(params)]) == 0
    assert (package / ".valuation-folder.json").is_file()
    after = tree_hash(repo.parent)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    # personal data only under handover_dir; elsewhere only the log and its head changed
    assert all(p.startswith("handover") or p.startswith("repo/work/logs/t1.jsonl")
               or p == "repo/work/logs" for p in changed), changed
    assert main(["handover", str(params)]) == 0  # its own package: replaced
    assert (package / "bag" / "bagit.txt").is_file()
    assert not list(package.parent.glob(".previous-*"))


# ---------------------------------------------------------------------------------------
# property: any spelling of a protected folder is refused
# ---------------------------------------------------------------------------------------
def _spellings():
    from hypothesis import strategies as st

    steps = st.lists(st.sampled_from([".", "x/..", "y/z/../..", ""]), max_size=4)
    return st.tuples(st.sampled_from(["", "data", "params", f"data/{TARGET}", "work/logs"]),
                     steps, st.booleans(), st.lists(st.booleans(), max_size=40),
                     st.sampled_from(["", "sub", "sub/deeper"]))


def test_any_spelling_of_a_protected_folder_is_refused(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings

    from valuation.params import parse_params

    root = tmp_path_factory.mktemp("prop") / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "data" / TARGET).mkdir(parents=True)
    for name in ("customers.csv", "orders.csv"):
        (root / "data" / TARGET / name).write_text("x\n")
    (root / "params").mkdir()
    (root / "work" / "logs").mkdir(parents=True)
    source = root / "params" / f"{TARGET}.yaml"
    base = {"target": TARGET, "name": "T", "as_of": "2025-06-30",
            "calibration_end": "2024-12-31",
            "data": {"files": {"customers": f"../data/{TARGET}/customers.csv",
                               "orders": f"../data/{TARGET}/orders.csv"}},
            "economics": {"gross_margin": 0.6, "annual_discount_rate": 0.12},
            "deal": {"side": "buyer"}}

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_spellings())
    def check(spelling):
        where, steps, relative, flips, below = spelling
        parts = [p for p in where.split("/") if p]
        text = str(root) if not relative else ".."
        for index, part in enumerate(parts):
            text += "/" + (steps[index] + "/" if index < len(steps) and steps[index] else "") + part
        text += ("/" + below) if below else ""
        text = "".join(c.swapcase() if i < len(flips) and flips[i] and i >= len(str(root)) else c
                       for i, c in enumerate(text)) + ("/" if relative else "")
        params = parse_params({**base, "paths": {"handover_dir": text}}, source=source,
                              check_files=False)
        with pytest.raises(UnsafePathError):
            check_paths(params, ("handover_dir",))

    check()
