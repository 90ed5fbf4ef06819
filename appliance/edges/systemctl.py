"""systemd's `systemctl`: the only module that runs it (start a sync now, power the kit off).

Must not import storage, content, services or web. Tests put a fake `systemctl` first on PATH.
"""

from __future__ import annotations

from appliance.edges.commands import call
from appliance.errors import SystemCommandError

# systemctl only queues jobs here (--no-block, poweroff); it answers within a second unless
# D-Bus is stuck, and a stuck panel button is worse than a logged failure.
TIMEOUT_S = 10
SYNC_UNIT = "tpkit-sync.service"


def _run(*args: str) -> None:
    command = ["systemctl", *args]
    try:
        result = call(command, timeout_s=TIMEOUT_S)
    except FileNotFoundError as exc:
        raise SystemCommandError(
            f"Cannot run `{' '.join(command)}`: systemctl is not installed.",
            cause="This machine does not run systemd (a laptop or container).",
            fix="Run the panel on the kit, where systemd starts it (tpkit-panel.service).",
        ) from exc
    except TimeoutError as exc:
        raise SystemCommandError(
            f"`{' '.join(command)}` did not answer within {TIMEOUT_S} s.",
            cause="systemd or D-Bus is overloaded or stuck.",
            fix="Look at `journalctl -b` for what systemd is doing; power-cycle the kit if it stays stuck.",
        ) from exc
    if result.returncode != 0:
        raise SystemCommandError(
            f"`{' '.join(command)}` failed (exit {result.returncode}): {result.stderr.strip() or 'no message'}",
            cause="The unit is not installed, or the panel's user may not do this.",
            fix="Check `systemctl status tpkit-sync.service` and that /etc/polkit-1/rules.d/50-tpkit-panel.rules "
            "is installed (it lets user tpkit start a sync and power off).",
        )


def start_sync() -> None:
    """Ask systemd to start the sync job now and return at once; SystemCommandError when refused."""
    _run("start", "--no-block", SYNC_UNIT)


def poweroff() -> None:
    """Ask systemd for a clean shutdown (services stopped, disks synced); SystemCommandError when refused."""
    _run("poweroff")
