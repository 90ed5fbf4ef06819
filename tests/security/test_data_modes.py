"""Who: another account on the same machine (a technician's colleague on a shared laptop, a service that was broken
into) when the kit runs outside systemd (`./build.sh run`, `tpkit serve` from a shell). From where: the file system.
With what: reading the database and hand-ins of minors, which a umask of 0022 left world-readable (0755, 0644).
What stops them: every `tpkit` command that keeps people's data tightens its umask to 0027 before writing
(cli.PEOPLES_DATA_COMMANDS), as the units' UMask=0027 does on a kit."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from appliance.cli.common import keep_peoples_data_private
from appliance.cli.entry import PEOPLES_DATA_COMMANDS
from bench import slow_clients


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_security_serve_and_backup_started_with_umask_0022_keep_data_private(tmp_path):
    loose = os.umask(0o022)  # what a technician's shell has; `tpkit serve` inherits it
    try:
        with slow_clients.tpkit_serve(tmp_path, workers=1):
            pass
    finally:
        os.umask(loose)
    data = tmp_path / "data"
    assert _mode(data) == 0o750
    assert _mode(data / "tpkit.sqlite3") == 0o640
    assert not [p for p in data.rglob("*") if _mode(p) & 0o007], "nothing of people's data is for others"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TPKIT_")},
        "TPKIT_CONFIG": str(tmp_path / "kit.toml"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("tpkit")), "backup", str(tmp_path / "kit.tpkit-backup")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _mode(tmp_path / "kit.tpkit-backup") & 0o007 == 0 and "backup" in PEOPLES_DATA_COMMANDS


def test_security_umask_is_tightened_never_loosened():
    before = os.umask(0o077)
    try:
        assert keep_peoples_data_private() == 0o077
        os.umask(0o002)
        assert keep_peoples_data_private() == 0o027
    finally:
        os.umask(before)
