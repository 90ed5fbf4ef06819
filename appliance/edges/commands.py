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


def call(argv: Sequence[str], *, timeout_s: float) -> Finished:
    """Run a command and report how it ended; FileNotFoundError if it is not installed, TimeoutError past
    `timeout_s` (for callers that must say which went wrong, such as the panel's systemctl)."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{argv[0]} did not answer within {timeout_s} s") from exc
    return Finished(done.returncode, done.stdout, done.stderr)


class Running:
    """A command started in the background (its own process group), for callers that pause and resume work."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None, log_path: str | None = None) -> None:
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed in wait()
        self._process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        """The exit status, or None while it runs."""
        return self._process.poll()

    def stop(self, grace_s: float = 5.0) -> int:
        """SIGTERM the whole process group, SIGKILL it after `grace_s`; the exit status."""
        for signal_number, wait_s in ((15, grace_s), (9, 30.0)):
            try:
                os.killpg(self._process.pid, signal_number)
            except ProcessLookupError:
                break
            try:
                return self.wait(wait_s)
            except TimeoutError:
                continue
        return self.wait(30.0)

    def wait(self, timeout_s: float | None = None) -> int:
        """The exit status once it ends; TimeoutError past `timeout_s`."""
        try:
            code = self._process.wait(timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"still running after {timeout_s} s") from exc
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        return code
