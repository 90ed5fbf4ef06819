"""Shared by the provisioning tests: a complete kit.toml, and fake timedatectl/findmnt/growpart/resize2fs first
on PATH that record how they were called (mocks at the process edge, after pi-hole/pi-hole:test/conftest.py)."""

from __future__ import annotations

import functools
from pathlib import Path

from appliance.services.people.auth import hash_password
from tests.machine import fake_commands

ADMIN_PASSWORD = "correct horse battery"
TOKEN = "enrol-0123456789abcdef"
PASSPHRASE = "rain on the hills"


@functools.cache
def admin_password_hash() -> str:
    """One argon2id hash for every test file (hashing costs ~0.1 s, more on a loaded machine)."""
    return hash_password(ADMIN_PASSWORD)


def kit_toml(**replace: str) -> str:
    """A complete, valid provisioning file; `replace` swaps whole lines by key (value is the new line, or "")."""
    lines = {
        "head": "# written by a county technician",
        "kit_id": 'kit_id = "gx-0042"',
        "school_name": 'school_name = "Shuangxi Teaching Point"',
        "time_zone": 'time_zone = "Asia/Shanghai"',
        "network_mode": 'network_mode = "ap"',
        "trusted_content_keys": "trusted_content_keys = []",
        "hub": '\n[hub]\nurl = "https://hub.county.example/"',
        "enrolment_token": f'enrolment_token = "{TOKEN}"',
        "wifi": "\n[wifi]\n# the classroom network",
        "ssid": 'ssid = "双溪教学点"',
        "passphrase": f'passphrase = "{PASSPHRASE}"',
        "country": 'country = "CN"',
        "admin": "\n[admin]",
        "password_hash": f'password_hash = "{admin_password_hash()}"',
        "settings": "\n[settings]",
        "default_language": 'default_language = "zh"',
    }
    lines.update(replace)
    return "\n".join(line for line in lines.values() if line) + "\n"


def fake_machine(folder: Path, *, source: str = "/dev/mmcblk0p3", growpart_exit: int = 0) -> tuple[str, Path]:
    """Fake commands in `folder`/bin, each appending its arguments to `folder`/calls; return (PATH, calls)."""
    calls = folder / "calls"
    log = f'echo "${{0##*/}} $*" >> "{calls}"'
    nochange = 'echo "NOCHANGE: partition 3 is size 100. it cannot be grown"' if growpart_exit else ""
    path = fake_commands(
        folder / "bin",
        {
            "timedatectl": log,
            "findmnt": f"{log}\necho {source}",
            "growpart": f"{log}\n{nochange}\nexit {growpart_exit}",
            "resize2fs": log,
            "ssh-keygen": log,
        },
    )
    return path, calls
