"""The kit's own Ed25519 key, which signs its reports: made at first need, kept in the data folder, never replaced.

Must not import web or cli. `keys/kit.key` is an unencrypted minisign secret key (mode 0600), `keys/kit.pub`
its public half, whose base64 line a technician registers at the hub (docs/reporting.md).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from appliance.edges import minisign
from appliance.files import fsync_path
from appliance.paths import Paths

SECRET_NAME = "kit.key"
PUBLIC_NAME = "kit.pub"


def _create_secret(path: Path) -> None:
    """Write a new secret key at `path` unless one is there; two processes racing end with one key, whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(minisign.secret_key_file(minisign.generate()))
            handle.flush()
            os.fsync(handle.fileno())
        # A link fails when the key exists (another process made it first): a key is never overwritten.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_path(path.parent)


def ensure(paths: Paths) -> minisign.SecretKey:
    """The kit's key, made now if the data folder has none; `kit.pub` is (re)written to match it."""
    paths.keys_dir.mkdir(parents=True, exist_ok=True)
    secret_path = paths.keys_dir / SECRET_NAME
    if not secret_path.exists():
        _create_secret(secret_path)
    secret = minisign.read_secret_key(secret_path)
    public_path, public_text = paths.keys_dir / PUBLIC_NAME, minisign.public_key_file(secret.public)
    if not public_path.exists() or public_path.read_text(encoding="ascii", errors="replace") != public_text:
        temporary = public_path.with_name(f".{PUBLIC_NAME}.{os.getpid()}")
        temporary.write_text(public_text, encoding="ascii")
        os.replace(temporary, public_path)
    return secret
