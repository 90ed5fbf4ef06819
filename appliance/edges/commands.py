"""Running an OS command found on PATH, with a timeout: the only module that imports subprocess.

Must not import storage, content, services or web.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# A health reading must never hang a web thread: vcgencmd, iw and systemctl answer in milliseconds;
# journalctl on a slow SD card may take a second. Past this the reading is "not available".
TIMEOUT_S = 3.0


def run(
    argv: Sequence[str], *, path: str | None = None, timeout_s: float = TIMEOUT_S, any_exit: bool = False
) -> str | None:
    """The command's standard output, or None when it is not on `path` (default $PATH), times out or fails.

    `any_exit` keeps the output of a non-zero exit (`systemctl is-active` exits 3 when a unit is inactive).
    """
    search = os.environ.get("PATH", os.defpath) if path is None else path
    program = shutil.which(argv[0], path=search)
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "PATH": search, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
        )
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
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{argv[0]} did not answer within {timeout_s} s") from exc
    return Finished(done.returncode, done.stdout, done.stderr)


# After asking a streamed command to stop (SIGTERM), wait this long before SIGKILL: rsync flushes its partial file.
STOP_GRACE_S = 5.0


class StopAtOnce(Exception):
    """Raised from a `stream` callback: the command's process group gets SIGKILL straight away, no SIGTERM
    first (for a caller that must get off the wire now and whose command survives a kill, such as tpkit-rsync)."""


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent(parent_pid: int) -> None:
    """In a forked worker (edges/forked_workers.py): have the kernel send it SIGTERM when the process that forked it
    ends, however it ends (PR_SET_PDEATHSIG), and end it at once if that has happened already. A worker whose
    `tpkit serve` was killed -9 would otherwise keep serving, orphaned, and hold the port against the next start."""
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    if prctl is not None:
        prctl(ctypes.c_int(_PR_SET_PDEATHSIG), *(ctypes.c_ulong(n) for n in (signal.SIGTERM, 0, 0, 0)))
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def _dies_with_this_process() -> Callable[[], None]:
    """A `preexec_fn` that has the kernel send the child SIGTERM when this process ends, however it ends (kill -9
    too): PR_SET_PDEATHSIG. prctl is looked up here, before the fork, so the child only calls it.

    The kernel sends it when the *thread* that forked the child ends, not the process: `stream` starts the child
    and waits for it in the same thread, so that thread lives as long as the child (from the main thread for
    `tpkit sync`, `import`). A child whose parent died before prctl took effect ends at once."""
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    arguments = (ctypes.c_int(_PR_SET_PDEATHSIG), *(ctypes.c_ulong(n) for n in (signal.SIGTERM, 0, 0, 0)))
    parent = os.getpid()

    def in_child() -> None:  # between fork and exec: nothing here may take a lock another thread could hold
        if prctl is not None:
            prctl(*arguments)
        if os.getppid() != parent:
            os._exit(128 + signal.SIGTERM)

    return in_child


def stream(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    *,
    env: Mapping[str, str] | None = None,
    on_tick: Callable[[], None] = lambda: None,
    tick_s: float = 0.5,
    hold_fds: Sequence[int] = (),
) -> Finished:
    """Run a command, calling `on_line` with each stdout line as it comes and `on_tick` about every `tick_s`
    seconds whether or not lines come; how it ended (stdout left empty).

    FileNotFoundError if the program does not exist. When a callback raises, the command is stopped (SIGTERM,
    then SIGKILL after STOP_GRACE_S; SIGKILL at once for `StopAtOnce`) and the exception propagates. stderr is
    kept in a temporary file so a chatty command can never block on a full pipe.

    The command runs in a process group of its own and gets SIGTERM when this process dies (even by kill -9); a
    command that starts children of its own passes that signal on to its group (content-sync/tpkit-rsync does).
    `hold_fds` are inherited by the command: a lock (flock) among them stays held until the last process of the
    command has ended, even one that outlives this process.
    """
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        process = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_dies_with_this_process(),  # noqa: PLW1509  # only prctl and getppid run in the child
            pass_fds=tuple(hold_fds),
            env=None if env is None else {**os.environ, **env},
        )
        try:
            _pump(process, on_line, on_tick, tick_s)
            returncode = process.wait()
        except BaseException as exc:
            _stop(process, at_once=isinstance(exc, StopAtOnce))
            raise
        finally:
            process.stdout.close()  # type: ignore[union-attr]  # stdout=PIPE
        errors.seek(0)
        return Finished(returncode, "", errors.read())


def _pump(
    process: subprocess.Popen, on_line: Callable[[str], None], on_tick: Callable[[], None], tick_s: float
) -> None:
    """Read the command's stdout until it closes: whole lines to `on_line`, `on_tick` every `tick_s`. A progress
    line may be a second apart (rsync), so ticks come from a timed wait, not from the lines."""
    fd = process.stdout.fileno()  # type: ignore[union-attr]  # stdout=PIPE
    pending, next_tick = b"", time.monotonic() + tick_s
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, next_tick - time.monotonic()))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                on_line(line.decode("utf-8", "replace"))
        if time.monotonic() >= next_tick:
            next_tick = time.monotonic() + tick_s
            on_tick()
    if pending:
        on_line(pending.decode("utf-8", "replace"))


def _stop(process: subprocess.Popen, at_once: bool = False) -> None:
    """Stop the command and its children (its own process group: a shell wrapper's rsync too), and wait until the
    whole group is gone, so files they write on the way out (rsync's partial file) are complete on return."""
    for signum in (signal.SIGKILL,) if at_once else (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and _group_alive(process):
            time.sleep(0.02)
        if not _group_alive(process):
            break
    process.wait()


def _group_alive(process: subprocess.Popen) -> bool:
    """Whether a process of the group still runs. Zombies do not count: a child whose parent has exited waits
    for PID 1 to reap it, which in a container or namespace can take seconds, yet it writes nothing more."""
    process.poll()  # reap the leader, else it counts as a member until waited for
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state_and_group = stat.read_text().rsplit(")", 1)[1].split()  # state ppid pgrp …
        except (OSError, IndexError):
            continue  # it ended while we looked
        if int(state_and_group[2]) == process.pid and state_and_group[0] != "Z":
            return True
    return False


def start_beside(argv: Sequence[str]) -> None:
    """Start the command and go on without waiting for it; a thread waits for its end so that it leaves no zombie.
    Its output goes where this process's goes (the journal under systemd)."""
    child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL)
    threading.Thread(target=child.wait, name=f"wait-{os.path.basename(argv[0])}", daemon=True).start()


def become(argv: Sequence[str], *, env: Mapping[str, str]) -> None:
    """Replace this process with the command (found on PATH), so systemd supervises it directly; does not return.

    FileNotFoundError if the program is not installed."""
    program = shutil.which(argv[0])
    if program is None:
        raise FileNotFoundError(argv[0])
    os.execve(program, [program, *argv[1:]], {**os.environ, **env})
