"""Fetching one file from a mirror with the `tpkit-rsync` wrapper (content-sync/), through edges/commands.

Must not import storage, content, services or web. Parses the wrapper's machine-readable stdout.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from appliance.edges import commands

WRAPPER_NAME = "tpkit-rsync"
# In a source checkout the wrapper sits in content-sync/ next to the package; an image installs it on PATH.
CHECKOUT_WRAPPER = Path(__file__).resolve().parents[2] / "content-sync" / WRAPPER_NAME


@dataclasses.dataclass(frozen=True)
class Progress:
    """One `progress` line of the wrapper: bytes of the file done, percent, current rate."""

    done_bytes: int
    percent: int
    rate_bps: int


@dataclasses.dataclass(frozen=True)
class Fetched:
    """How a fetch ended: rsync's exit code, the bytes that crossed the wire, and the wrapper's sentence + fix."""

    returncode: int
    received_bytes: int
    message: str


def wrapper() -> Path | None:
    """The wrapper on PATH, else the checkout's copy, else None."""
    found = shutil.which(WRAPPER_NAME)
    if found:
        return Path(found)
    return CHECKOUT_WRAPPER if os.access(CHECKOUT_WRAPPER, os.X_OK) else None


# Raise it (a subclass) from `on_progress` or `on_tick` to kill the transfer at once rather than ask it to stop:
# the wrapper resumes from what rsync had written, so only the last moment's bytes are lost (docs/uplink.md).
StopAtOnce = commands.StopAtOnce


def fetch(
    program: Path,
    source: str,
    dest: Path,
    *,
    partial_dir: Path,
    timeout_s: int,
    bwlimit_kbps: int = 0,
    basis: Path | None = None,
    on_progress: Callable[[Progress], None] = lambda p: None,
    on_tick: Callable[[], None] = lambda: None,
    tick_s: float = 0.5,
    hold_fds: tuple[int, ...] = (),
) -> Fetched:
    """Fetch `source` (rsync URL or local path) to `dest`; resumes from `partial_dir` or from rsync's own temporary
    file left by a kill -9; `basis` seeds the delta. `on_tick` is called about every `tick_s` seconds.

    Exceptions raised by `on_progress` or `on_tick` stop the transfer and propagate (what was written stays for a
    resume); a `StopAtOnce` kills it without waiting for rsync to save its partial file. The wrapper and rsync die
    with this process and inherit `hold_fds` (the sync's run lock: held until the last of them has ended).
    """
    argv = [
        str(program),
        "--partial-dir",
        str(partial_dir),
        "--timeout",
        str(timeout_s),
        "--contimeout",
        str(timeout_s),
        "--bwlimit",
        str(bwlimit_kbps),
    ]
    if basis is not None:
        argv += ["--basis", str(basis)]
    received = 0

    def line(text: str) -> None:
        nonlocal received
        parts = text.split()
        if len(parts) == 4 and parts[0] == "progress" and all(p.isdigit() for p in parts[1:]):
            on_progress(Progress(int(parts[1]), int(parts[2]), int(parts[3])))
        elif len(parts) == 2 and parts[0] == "received" and parts[1].isdigit():
            received += int(parts[1])

    done = commands.stream(
        [*argv, "--", source, str(dest)], line, env={"LC_ALL": "C"}, on_tick=on_tick, tick_s=tick_s, hold_fds=hold_fds
    )
    said = [t.strip() for t in done.stderr.splitlines() if t.startswith("rsync") and "error" in t][:1]
    sentence = [t.strip() for t in done.stderr.splitlines() if t.startswith(("[✗]", "    Fix:"))]
    return Fetched(done.returncode, received, " ".join(said + sentence) or done.stderr.strip()[-400:])


def list_files(location: str, *, timeout_s: int) -> frozenset[str] | None:
    """The files under the folder `location` (an rsync:// URL or a local path), as paths relative to it: one
    `rsync --list-only --recursive` (names and sizes only, no file is read). None when rsync cannot list it (not
    installed, the folder missing, the server gone or slow past `timeout_s`)."""
    argv = ["rsync", "--list-only", "--recursive", "--timeout", str(timeout_s)]
    if location.startswith("rsync://"):
        argv += ["--contimeout", str(timeout_s)]
    try:
        done = commands.call([*argv, "--", location.rstrip("/") + "/"], timeout_s=timeout_s * 2, env={"LC_ALL": "C"})
    except (FileNotFoundError, TimeoutError):
        return None
    if done.returncode != 0:
        return None
    # "-rw-r--r--          1,234 2026/01/02 03:04:05 patches/water_en/water_en_0123.zimpatch": files start with "-"
    lines = (line.split(None, 4) for line in done.stdout.splitlines() if line.startswith("-"))
    return frozenset(parts[4] for parts in lines if len(parts) == 5)
