"""Checking a transfer bag (BagIt, RFC 8493) and opening the encrypted package.

:func:`verify_bag` checks completeness and every checksum of a bag, encrypted or not (no key
needed); :func:`open_package` is the buyer's side: verify the outer bag, decrypt the payload
with the buyer's identity, extract the inner bag and verify the plaintext.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit

from valuation.errors import HandoverError
from valuation.handover_crypto import PAYLOAD, load_identity, unseal

CHECKSUMS: tuple[str, ...] = ("sha256", "sha512")


def bag_folder(path: str | Path) -> Path:
    """The bag folder of ``path`` (the bag itself or the package folder holding ``bag/``)."""
    path = Path(path)
    if (path / "bag" / "bagit.txt").exists():
        path = path / "bag"
    if not (path / "bagit.txt").exists():
        raise HandoverError(f"{path}: not a BagIt bag (no bagit.txt); give the bag folder")
    return path


@dataclass
class BagCheck:
    """The outcome of :func:`verify_bag`: ``ok`` and one line per difference found."""

    ok: bool
    differences: list[str]
    payload_files: int


def verify_bag(path: str | Path) -> BagCheck:
    """Check a transfer package for completeness and every checksum.

    Parameters
    ----------
    path : str or Path
        The bag folder, or the package folder holding ``bag/``.

    Returns
    -------
    BagCheck
        ``differences`` names each missing, added or altered file.
    """
    path = bag_folder(path)
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        raise HandoverError(f"{path}: cannot read the bag: {exc}") from None
    only_in_manifest, only_on_disk = bag.compare_manifests_with_fs()
    differences = [f"missing: {name}" for name in sorted(only_in_manifest)]
    differences += [f"not in the manifest: {name}" for name in sorted(only_on_disk)]
    if differences:  # checksums cannot be compared until the file sets agree
        return BagCheck(ok=False, differences=differences,
                        payload_files=len(list(bag.payload_files())))
    try:
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        for detail in exc.details or []:
            differences.append(_describe(detail))
        if not exc.details:
            differences.append(str(exc.message))
    return BagCheck(ok=not differences, differences=differences,
                    payload_files=len(list(bag.payload_files())))


def _describe(detail: Any) -> str:
    if isinstance(detail, bagit.ChecksumMismatch):
        return f"altered: {detail.path} ({detail.algorithm} differs)"
    if isinstance(detail, bagit.FileMissing):
        return f"missing: {detail.path}"
    if isinstance(detail, bagit.UnexpectedFile):
        return f"not in the manifest: {detail.path}"
    return str(detail)



def open_package(bag: str | Path, identity_file: str | Path, out: str | Path) -> tuple[Path, BagCheck]:
    """Verify an encrypted package, decrypt it and verify the plaintext bag (buyer's side).

    Parameters
    ----------
    bag : str or Path
        The outer bag, or the package folder holding ``bag/``.
    identity_file : str or Path
        The buyer's age identity (``valuation key buyer-new``), mode 0600.
    out : str or Path
        A new or empty folder for the plaintext bag (created with mode 0700); it holds
        personal data once opened.

    Returns
    -------
    tuple of (Path, BagCheck)
        The plaintext bag folder and its check.

    Raises
    ------
    HandoverError
        When the outer bag fails its check (nothing is decrypted), the identity does not
        match, the ciphertext is altered, or ``out`` is not empty.
    """
    outer = bag_folder(bag)
    check = verify_bag(outer)
    if not check.ok:
        raise HandoverError(
            f"{outer}: the package fails its checksums, not decrypted: "
            + "; ".join(check.differences[:5]))
    payload = outer / "data" / PAYLOAD
    if not payload.is_file():
        raise HandoverError(f"{outer}: no data/{PAYLOAD}; this bag is not an encrypted package")
    identity = load_identity(identity_file)
    out = Path(out)
    resolved = out.expanduser().resolve()
    for folder in (resolved, *resolved.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            raise HandoverError(
                f"{out}: lies inside the repository {folder}; the opened package holds "
                "personal data: give a folder on approved storage outside any repository")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HandoverError(f"{out}: exists and is not empty; give a new or empty folder")
    inner = unseal(payload.read_bytes(), identity, out, where=str(payload))
    os.chmod(out, 0o700)
    return inner, verify_bag(inner)
