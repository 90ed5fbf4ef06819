"""The systemd units as shipped: mode, the directives the house requires, and `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[1] / "systemd"
PANEL = UNITS / "tpkit-panel.service"


def test_systemd_panel_unit_is_mode_644_and_hardened():
    assert stat.S_IMODE(PANEL.stat().st_mode) == 0o644
    text = PANEL.read_text()
    for directive in ("Type=simple", "Restart=on-failure", "StartLimitBurst=", "TimeoutStopSec=", "User=tpkit",
                      "SupplementaryGroups=gpio", "ProtectSystem=strict", "NoNewPrivileges=yes",
                      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "DeviceAllow=char-gpiochip rw",
                      "DeviceAllow=/dev/gpiomem rw", "ExecStart=/usr/bin/tpkit panel"):
        assert directive in text, directive
    assert "network-online.target" not in text.replace("No network-online.target", "")


def test_systemd_panel_unit_comments_every_block():
    blocks = [b for b in PANEL.read_text().split("\n\n") if b.strip()]
    for block in blocks:
        lines = [line for line in block.splitlines() if not line.startswith("[")]
        assert lines and lines[0].startswith("#"), f"say why above:\n{block}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_panel_unit_passes_systemd_analyze_verify(tmp_path):
    # verify insists that ExecStart's binary exists; /usr/bin/tpkit exists only on a kit, so
    # check a copy whose ExecStart is this checkout's own tpkit. Everything else is verbatim.
    tpkit = Path(sys.executable).with_name("tpkit")
    copy = tmp_path / PANEL.name
    copy.write_text(PANEL.read_text().replace("ExecStart=/usr/bin/tpkit", f"ExecStart={tpkit}"))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "tpkit-panel.service" not in result.stderr, result.stderr
