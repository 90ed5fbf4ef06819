"""Streaming a command: lines as they come, ticks while no line comes, the two ways of stopping it, and its life
tied to this process (PR_SET_PDEATHSIG, a lock handed down)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.edges import commands

# Prints one line, then stays silent; on SIGTERM it writes "saved" to a file and exits (as rsync saves its partial).
SLOW = """
trap 'echo saved > "$1"; exit 20' TERM
echo started
while :; do sleep 0.05; done
"""


class Enough(Exception):
    pass


class EnoughNow(commands.StopAtOnce):
    pass


def _stop_after_ticks(count: int, error: type[Exception], seen: list[str]):
    def tick() -> None:
        seen.append("tick")
        if seen.count("tick") >= count:
            raise error

    return tick


def test_commands_stream_ticks_while_the_command_is_silent(tmp_path):
    seen: list[str] = []
    with pytest.raises(Enough):
        commands.stream(
            ["sh", "-c", SLOW, "sh", str(tmp_path / "saved")],
            seen.append,
            on_tick=_stop_after_ticks(3, Enough, seen),
            tick_s=0.05,
        )
    assert seen[0] == "started" and seen.count("tick") == 3  # ticks came though no second line did


def test_commands_stream_asks_politely_but_stop_at_once_kills(tmp_path):
    polite, rude = tmp_path / "polite", tmp_path / "rude"
    with pytest.raises(Enough):
        commands.stream(
            ["sh", "-c", SLOW, "sh", str(polite)],
            lambda line: None,
            on_tick=_stop_after_ticks(2, Enough, []),
            tick_s=0.05,
        )
    with pytest.raises(EnoughNow):
        commands.stream(
            ["sh", "-c", SLOW, "sh", str(rude)],
            lambda line: None,
            on_tick=_stop_after_ticks(2, EnoughNow, []),
            tick_s=0.05,
        )
    assert polite.read_text() == "saved\n"  # SIGTERM: its trap ran
    assert not rude.exists()  # SIGKILL: no trap runs


def test_commands_stream_passes_a_last_line_without_newline():
    seen: list[str] = []
    done = commands.stream(["printf", "one\\ntwo"], seen.append)
    assert done.returncode == 0 and seen == ["one", "two"]


# A parent that streams a long command (holding a lock it hands down) and is then killed with SIGKILL.
PARENT = """
import fcntl, os, sys
from appliance.edges import commands
lock = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(lock, fcntl.LOCK_EX)
commands.stream(["sh", "-c", "echo $$ > " + sys.argv[2] + "; exec sleep 60"], print, hold_fds=(lock,))
"""


def test_commands_stream_child_gets_sigterm_when_its_parent_is_killed_and_holds_the_lock_until_gone(tmp_path):
    lock, said = tmp_path / "lock", tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(lock), str(said)])
    deadline = time.monotonic() + 30
    while not said.exists() or not said.read_text().strip():
        assert parent.poll() is None and time.monotonic() < deadline, "the child did not start"
        time.sleep(0.02)
    child = int(said.read_text())
    fd = os.open(lock, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # the child holds the lock its parent handed down
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10  # generous: a loaded CI box; without the signal it would live 60 s
        while True:  # PR_SET_PDEATHSIG: the kernel sends the orphan SIGTERM; `sleep` dies of it
            try:
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                break
            if state == "Z":
                break
            assert time.monotonic() < deadline, "the child outlived its parent by 10 s"
            time.sleep(0.02)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the child is gone
    finally:
        os.close(fd)
