"""The audit's check of people's data on disk: the data folder, the database, the kit's keys, uploads and old data
folders kept by `tpkit restore`, readable by nobody but the kit's user and group, and owned by the data folder's
owner; secrets (the kit's key, the hub token, first boot's secrets) by the owner alone.

Must not import web, hub or cli. Reads modes with os.stat; changes nothing.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.services.reporting.kit_key import SECRET_NAME
from appliance.services.security.findings import Finding, Machine, Value

if TYPE_CHECKING:
    from appliance.paths import Paths
    from appliance.services.kit import Kit

# Uploads can be tens of thousands of hand-ins: look at this many files at most (a page must answer quickly).
FILES_LOOKED_AT_MAX = 20_000
ROWS_SHOWN_MAX = 20  # offending paths listed; the count says how many more
SECRETS_FILE = "etc/tpkit/secrets.toml"  # under the machine's root: first boot's secrets, mode 0600 (firstboot.py)


def _paths(paths: Paths) -> Iterator[tuple[Path, bool]]:
    """(path, whether it is a secret) of every file and folder of people's data, whether it exists or not."""
    yield paths.data_dir, False
    for suffix in ("", "-wal", "-shm"):
        yield paths.database.with_name(paths.database.name + suffix), False
    yield paths.keys_dir, False
    yield paths.keys_dir / SECRET_NAME, True
    yield paths.enrolment_token, True
    yield from _tree(paths.uploads_dir)
    for kept in sorted(paths.data_dir.parent.glob(f"{paths.data_dir.name}.replaced-*")):
        yield from _tree(kept)


def _tree(top: Path) -> Iterator[tuple[Path, bool]]:
    """`top` and what is under it, FILES_LOOKED_AT_MAX entries at most."""
    yield top, False
    count = 0
    for folder, names, files in os.walk(top):
        for name in sorted(names) + sorted(files):
            count += 1
            if count > FILES_LOOKED_AT_MAX:
                return
            yield Path(folder) / name, False


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _open(mode: int, secret: bool) -> bool:
    """Whether others (or, for a secret, anyone but the owner) may read, write or enter it."""
    return bool(stat.S_IMODE(mode) & (0o077 if secret else 0o007))


def check(kit: Kit, machine: Machine) -> list[Finding]:
    """Every path of people's data that others may read, or that another user owns."""
    try:
        expected_uid = kit.paths.data_dir.stat().st_uid
    except OSError:
        return [Finding("files", "audit.files.no_data_dir", "warning", {"folder": str(kit.paths.data_dir)})]
    # (path, secret, whose): the kit's files belong to the data folder's owner; first boot's secrets to root
    found: list[tuple[Path, bool, int | None]] = [(path, secret, expected_uid) for path, secret in _paths(kit.paths)]
    found.append((machine.root / SECRETS_FILE, True, None))
    opened, owned, checked = [], [], 0
    for path, secret, uid in found:
        try:
            info = path.lstat()
        except OSError:
            continue  # not there (no backup kept, no hub token): nothing to keep private
        checked += 1
        row = (str(path), f"{stat.S_IMODE(info.st_mode):04o}", _owner(info.st_uid))
        if _open(info.st_mode, secret) and not stat.S_ISLNK(info.st_mode):
            opened.append(row)
        elif uid is not None and info.st_uid != uid:
            owned.append(row)
    return _findings(opened, owned, checked, _owner(expected_uid))


def _findings(opened: list, owned: list, checked: int, owner: str) -> list[Finding]:
    findings = []
    if opened:
        findings.append(
            Finding("files", "audit.files.readable", "problem", {"count": len(opened)}, tuple(opened[:ROWS_SHOWN_MAX]))
        )
    if owned:
        values: dict[str, Value] = {"count": len(owned), "owner": owner}
        findings.append(Finding("files", "audit.files.owner", "problem", values, tuple(owned[:ROWS_SHOWN_MAX])))
    return findings or [Finding("files", "audit.files.ok", "ok", {"count": checked, "owner": owner})]
