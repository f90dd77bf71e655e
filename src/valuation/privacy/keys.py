"""The per-deal key: 32 random bytes that make tokens irreversible without it.

Where a key comes from, in order (:func:`load_key`):

1. the environment variable named by ``privacy.key_env`` (64 hex characters or base64);
2. the file ``privacy.key_file`` (as written by ``valuation key new``: hex text);
3. only when ``privacy.demo_key`` is true (the embedded samples): a demo key created once in
   the user's config folder, ``$XDG_CONFIG_HOME/valuation/keys/<target>.key`` (or
   ``~/.config/...``), mode 0600; the path is announced and given by :func:`demo_key_path`.

Otherwise the run refuses with :class:`~valuation.errors.KeyMissingError`. A key never
appears in a message, log or output.

A key file (given or demo) readable or writable by group or others is refused, as ssh does
with a private key (:class:`~valuation.errors.KeyPermissionError`: ``chmod 600 <path>``).
The dataset, its work-folder marker and every log entry record the key's *fingerprint*
(:func:`key_fingerprint`: 16 letters from an HMAC of a fixed label, never the key), so
a run with another key on an existing dataset is refused (:func:`check_fingerprint`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from valuation.errors import (
    KeyFormatError,
    KeyLocationError,
    KeyMismatchError,
    KeyMissingError,
    KeyPermissionError,
)
from valuation.params import DealParams
from valuation.privacy.tokens import KEY_BYTES

FORBIDDEN_FOLDERS: tuple[str, ...] = ("outputs", "work")
"""Repository folders a key must never be written to (they are published or shared)."""


FINGERPRINT_LABEL = b"valuation deal key fingerprint v1"
"""The fixed message whose HMAC under the key is the key's fingerprint."""


_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def key_fingerprint(key: bytes) -> str:
    """The public fingerprint of a deal key: the first 16 hex digits of
    HMAC-SHA256(key, :data:`FINGERPRINT_LABEL`), written with the letters a-p.

    It identifies a key (two datasets made with the same key share it) without revealing
    anything about the key or the tokens it makes. Letters instead of hex digits: a
    fingerprint holds no run of digits, so no detector can ever take it for a phone or ID
    number in a log entry or a scanned file.

    Examples
    --------
    >>> fingerprint = key_fingerprint(bytes(32))
    >>> len(fingerprint), fingerprint.isalpha()
    (16, True)
    """
    digest = hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]
    return digest.translate(_HEX_AS_LETTERS)


def check_fingerprint(recorded: str | None, key: bytes, *, where: str) -> None:
    """Refuse a key whose fingerprint differs from the one ``where`` recorded.

    Raises
    ------
    KeyMismatchError
        Naming ``where`` and both fingerprints (never a key).
    """
    if recorded is None:
        return
    current = key_fingerprint(key)
    if not hmac.compare_digest(str(recorded), current):
        raise KeyMismatchError(
            f"{where} was made with the deal key of fingerprint {recorded}, but the key "
            f"supplied now has fingerprint {current}: tokens would not match. Supply the "
            "deal's own key (privacy.key_file / privacy.key_env), or rebuild the dataset "
            "with `valuation destroy` then `valuation ingest` if the key was changed on purpose."
        )


def check_key_file_mode(path: Path) -> None:
    """Refuse a key file that group or others may read or write (as ssh does).

    Raises
    ------
    KeyPermissionError
        With the ``chmod 600 <path>`` that fixes it.
    """
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise KeyPermissionError(
            f"{path}: key file permissions {mode:04o} are too open: group or others may read "
            f"or write the deal key. Run `chmod 600 {path}` and retry."
        )


def parse_key(text: str | bytes, *, source: str) -> bytes:
    """Decode a key given as 64 hex characters or base64 of 32 bytes.

    Parameters
    ----------
    text : str or bytes
        The stored key (surrounding white space ignored).
    source : str
        Where it came from, for the error message (never the key itself).

    Raises
    ------
    KeyFormatError
        When it does not decode to exactly 32 bytes.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise KeyFormatError(
                f"{source}: the key is not text; expected 64 hex characters or base64 of "
                f"{KEY_BYTES} bytes (create one with `valuation key new PATH`)"
            ) from None
    text = text.strip()
    decoded: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            decoded = bytes.fromhex(text)
        except ValueError:
            decoded = None
    if decoded is None:
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            decoded = None
    if decoded is None or len(decoded) != KEY_BYTES:
        raise KeyFormatError(
            f"{source}: the key must be {KEY_BYTES} bytes written as 64 hex characters or "
            "base64; create a new one with `valuation key new PATH`"
        )
    return decoded


def config_dir() -> Path:
    """The user's configuration folder for the workbench (``$XDG_CONFIG_HOME/valuation``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "valuation"


def demo_key_path(params: DealParams) -> Path:
    """Where the demo key of a sample target lives: ``<config>/keys/<target>.key``."""
    return config_dir() / "keys" / f"{params.target}.key"


def _repo_root(path: Path) -> Path | None:
    for folder in path.parents:
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return None


def _check_location(path: Path) -> None:
    resolved = path.expanduser().resolve()
    root = _repo_root(resolved)
    if root is None:
        return
    for name in FORBIDDEN_FOLDERS:
        if resolved.is_relative_to(root / name):
            raise KeyLocationError(
                f"{path}: a key must not be written inside {root / name} (outputs and work "
                "folders are shared or published); choose a path outside the repository, "
                "e.g. ~/.config/valuation/keys/<deal>.key"
            )


def _write_new(path: Path, key: bytes) -> bool:
    """Write ``key`` (hex) to ``path`` with mode 0600 unless it exists; True if written.

    The key is written to a private temporary file first and linked into place, so a
    concurrent reader never sees a half-written key and two writers never overwrite.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp_name)


def new_key(path: str | Path) -> Path:
    """Create a new random deal key at ``path``, readable by its owner only (mode 0600).

    Parameters
    ----------
    path : str or Path
        The key file to create; keep it outside the repository and every output.

    Returns
    -------
    Path
        The key file.

    Raises
    ------
    KeyLocationError
        If ``path`` exists already (a key is never overwritten: tokens made with it would
        become unmatchable) or lies in the repository's ``outputs/`` or ``work/`` folder.
    """
    path = Path(path).expanduser()
    _check_location(path)
    if path.exists():
        raise KeyLocationError(
            f"{path}: a file exists already; keys are never overwritten (tokens made with "
            "the old key could no longer be matched). Choose another path or delete it "
            "yourself if you are sure."
        )
    if not _write_new(path, secrets.token_bytes(KEY_BYTES)):
        raise KeyLocationError(f"{path}: created by another process meanwhile; not overwritten")
    return path


def _announce(message: str) -> None:
    print(message, file=sys.stderr)


def load_key(
    params: DealParams, *, notify: Callable[[str], None] | None = _announce
) -> bytes:
    """Return the 32-byte deal key of a target (see the module docstring for the order).

    Parameters
    ----------
    params : DealParams
        The target; ``params.privacy`` says where its key lives.
    notify : callable, optional
        Called with a one-line message when a demo key is created (default: print to
        stderr); ``None`` stays silent.

    Raises
    ------
    KeyMissingError
        When no key is found, explaining the three ways to supply one.
    KeyFormatError
        When a key is found but is not 32 bytes of hex or base64.
    KeyPermissionError
        When the key file is readable or writable by group or others.
    """
    settings = params.privacy
    env_value = os.environ.get(settings.key_env)
    if env_value:
        return parse_key(env_value, source=f"environment variable {settings.key_env}")
    if settings.key_file is not None:
        key_file = Path(settings.key_file).expanduser()
        if not key_file.is_file():
            raise KeyMissingError(
                f"privacy.key_file: {key_file} not found; create it with "
                f"`valuation key new {key_file}` or correct the path in the params file"
            )
        check_key_file_mode(key_file)
        return parse_key(key_file.read_bytes(), source=f"key file {key_file}")
    if settings.demo_key:
        path = demo_key_path(params)
        if _write_new(path, secrets.token_bytes(KEY_BYTES)) and notify is not None:
            notify(f"created a demo deal key for sample target {params.target!r} at {path}")
        check_key_file_mode(path)
        return parse_key(path.read_bytes(), source=f"demo key file {path}")
    raise KeyMissingError(
        f"no deal key for target {params.target!r}. Supply one in one of three ways:\n"
        f"  1. set the environment variable {settings.key_env} to 64 hex characters "
        "(or base64 of 32 bytes);\n"
        "  2. create a key file with `valuation key new PATH` (outside the repository) and "
        "set privacy.key_file: PATH in the params file;\n"
        "  3. for the embedded sample targets only: set privacy.demo_key: true to create a "
        "demo key in your config folder."
    )


def new_buyer_identity(path: str | Path) -> str:
    """Create the buyer's age key pair: the identity (private) at ``path``, mode 0600.

    The file is in the format of ``age-keygen`` (comment lines, then the
    ``AGE-SECRET-KEY-1...`` line), so the standard ``age`` tool opens the package too.

    Parameters
    ----------
    path : str or Path
        Where the identity goes; never overwritten, never inside outputs/ or work/.

    Returns
    -------
    str
        The public recipient (``age1...``) to put in ``handover.buyer_recipient``.
    """
    import datetime as dt

    import pyrage

    path = Path(path).expanduser()
    _check_location(path)
    if path.exists():
        raise KeyLocationError(f"{path}: a file exists already; an identity is never overwritten")
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    text = (f"# created: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}\n"
            f"# public key: {public}\n{identity}\n")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            raise KeyLocationError(f"{path}: created by another process meanwhile") from None
    finally:
        os.unlink(tmp_name)
    return public
