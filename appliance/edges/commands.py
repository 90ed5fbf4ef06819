"""Running an OS command found on PATH, with a timeout: the only module that imports subprocess.

Must not import storage, content, services or web.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Sequence

# A health reading must never hang a web thread: vcgencmd, iw and systemctl answer in milliseconds;
# journalctl on a slow SD card may take a second. Past this the reading is "not available".
TIMEOUT_S = 3.0


def run(argv: Sequence[str], *, path: str | None = None, timeout_s: float = TIMEOUT_S,
        any_exit: bool = False) -> str | None:
    """The command's standard output, or None when it is not on `path` (default $PATH), times out or fails.

    `any_exit` keeps the output of a non-zero exit (`systemctl is-active` exits 3 when a unit is inactive).
    """
    search = os.environ.get("PATH", os.defpath) if path is None else path
    program = shutil.which(argv[0], path=search)
    if program is None:
        return None
    try:
        done = subprocess.run([program, *argv[1:]], capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, "PATH": search, "LC_ALL": "C"}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 and not any_exit:
        return None
    return done.stdout


@dataclasses.dataclass(frozen=True)
class Finished:
    """How a command ended."""

    returncode: int
    stdout: str
    stderr: str


def call(argv: Sequence[str], *, timeout_s: float, env: dict[str, str] | None = None) -> Finished:
    """Run a command and report how it ended; FileNotFoundError if it is not installed, TimeoutError past
    `timeout_s` (for callers that must say which went wrong, such as the panel's systemctl).
    `env` adds variables to this process's environment for the command."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL, env={**os.environ, **env} if env else None)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{argv[0]} did not answer within {timeout_s} s") from exc
    return Finished(done.returncode, done.stdout, done.stderr)
