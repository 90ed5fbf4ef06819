"""The secret key a program's CSRF tokens are made with (webcore/forms.py): 32 random bytes in a file of mode 0600
in the program's data folder, made on first start. Every worker of the program reads the same file.

Never imports services, web, hub or cli.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from appliance.errors import StorageError

KEY_BYTES = 32  # HMAC-SHA256's block-sized key: guessing it is out of reach


def load_or_create(path: Path) -> bytes:
    """The key kept at `path`, written there first (0600, atomically) when there is none; StorageError when the file
    holds something else than a key."""
    if not path.exists():
        _create(path)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise StorageError(
            f"{path} does not hold a form key ({KEY_BYTES} bytes as hexadecimal digits).",
            cause="The file was edited or cut short.",
            fix=f"Delete {path} and restart: a new key is made (forms open in browsers must then be reloaded).",
        )
    return key


def _create(path: Path) -> None:
    """Write a new key beside `path` and link it into place, so two workers starting together agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another worker was first: its key is the one
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
