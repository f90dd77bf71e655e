"""Encryption of the transfer package to the buyer's age key (https://age-encryption.org).

The personal data of a transfer package never lies in plain files in ``handover_dir``: the
inner BagIt bag (raw records, notification roster, customer notices) is written to a private
staging folder (mode 0700, removed in a ``finally`` block), packed as an uncompressed tar in
memory and encrypted with `pyrage` (the Rust ``age`` implementation) to the recipients named in
params. The outer bag holds only ``data/payload.tar.age`` and documents without personal data
(the checklist: counts and date ranges), so its manifests cover the ciphertext and
``valuation handover verify`` needs no key. ``valuation handover open`` checks the outer bag,
decrypts with the buyer's identity file, extracts the inner bag (tar ``data`` filter: no
absolute paths, links or devices) and verifies every checksum of the plaintext.

The identity file has the format of ``age-keygen``, so ``age -d -i KEY payload.tar.age``
opens the package without this workbench.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

import pyrage

from valuation.errors import HandoverError

PAYLOAD = "payload.tar.age"
"""Name of the encrypted payload inside the outer bag's ``data/`` folder."""


def parse_recipients(texts: list[str], *, where: str) -> list[pyrage.x25519.Recipient]:
    """The age recipients named in params.

    Raises
    ------
    HandoverError
        When none is given or one is not an ``age1...`` public key.
    """
    if not any(t.strip() for t in texts):
        raise HandoverError(
            f"{where}: handover.buyer_recipient is not set. The transfer package holds "
            "personal data and is encrypted to the buyer's age public key: ask the buyer to "
            "run `valuation key buyer-new PATH` (or `age-keygen`) and put the printed "
            "age1... key in handover.buyer_recipient."
        )
    recipients = []
    for i, text in enumerate(t.strip() for t in texts if t.strip()):
        try:
            recipients.append(pyrage.x25519.Recipient.from_str(text))
        except pyrage.RecipientError as exc:
            shown = text[:8] + "..." if len(text) > 8 else text
            raise HandoverError(
                f"{where}: recipient {i + 1} ({shown}) is not an age X25519 public key "
                f"({exc}); expected 'age1' followed by 58 characters") from None
    return recipients


def load_identity(path: str | Path) -> pyrage.x25519.Identity:
    """Read an age identity file (``AGE-SECRET-KEY-1...``; comment lines ignored).

    Raises
    ------
    HandoverError
        When the file is missing or holds no valid identity.
    KeyPermissionError
        When group or others may read it.
    """
    from valuation.privacy.keys import check_key_file_mode

    path = Path(path).expanduser()
    if not path.is_file():
        raise HandoverError(f"{path}: no identity file there; give the buyer's age key file")
    check_key_file_mode(path)
    lines = [line.strip() for line in path.read_text(encoding="ascii", errors="replace")
             .splitlines() if line.strip() and not line.startswith("#")]
    for line in lines:
        try:
            return pyrage.x25519.Identity.from_str(line)
        except pyrage.IdentityError:
            continue
    raise HandoverError(f"{path}: no AGE-SECRET-KEY-1... line found; not an age identity file")


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Drop the seller's user and group names from the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def seal(folder: Path, recipients: list[pyrage.x25519.Recipient]) -> bytes:
    """Tar ``folder`` (as ``bag/``) in memory and encrypt it to ``recipients``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(folder, arcname="bag", recursive=True, filter=_anonymous)
    return pyrage.encrypt(buffer.getvalue(), recipients)


def unseal(ciphertext: bytes, identity: pyrage.x25519.Identity, out: Path, *,
           where: str) -> Path:
    """Decrypt a payload and extract its inner bag under ``out``; return the bag folder.

    Raises
    ------
    HandoverError
        When the identity does not match, the ciphertext was altered, or the archive is
        not a workbench payload.
    """
    try:
        plain = pyrage.decrypt(ciphertext, [identity])
    except pyrage.DecryptError as exc:
        reason = ("the identity is not one the package was encrypted to"
                  if "no matching keys" in str(exc).lower()
                  else "the ciphertext is damaged or was altered")
        raise HandoverError(f"{where}: cannot decrypt: {reason} ({exc})") from None
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".open.", dir=out))
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
            names = tar.getnames()
            if not names or any(n != "bag" and not n.startswith("bag/") for n in names):
                raise HandoverError(f"{where}: the payload is not a workbench transfer bag")
            tar.extractall(staging, filter="data")
        target = out / "bag"
        (staging / "bag").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
