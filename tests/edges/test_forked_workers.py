"""The serving parent's forked workers (edges/forked_workers.py), with real processes and real signals: a worker
that dies or hangs is replaced, one slow to start is waited for, one that cannot start stops them all, SIGTERM stops
them (SIGKILL for one that will not), and a kill -9 of the parent leaves none behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# The parent: ForkedWorkers over a `serve` that notes its pid in the folder argv[1], then does what the file
# `<folder>/behaviour` says (read at each start, so a test can change what the next workers do).
PROGRAM = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    from pathlib import Path
    from appliance.edges.forked_workers import ForkedWorkers

    folder = Path(sys.argv[1])
    health_timeout_s, stop_grace_s = float(sys.argv[2]), float(sys.argv[3])

    def serve():
        behaviour = (folder / "behaviour").read_text().split()
        if "slow-start" in behaviour:
            time.sleep(3 * health_timeout_s)
        if "cannot-start" in behaviour:
            return 3
        if "ignore-term" in behaviour:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        (folder / f"worker-{os.getpid()}").write_text("serving")
        while True:
            time.sleep(0.1)

    def beside():
        started = subprocess.Popen(["sleep", "30"])  # a command the parent starts while it prepares the kit
        (folder / "command").write_text(str(started.pid))
        (folder / "preparing").write_text(str(os.getpid()))
        while not (folder / "prepared").exists():
            time.sleep(0.02)
        started.kill()
        started.wait()

    forks = ForkedWorkers(2, serve, stop_all_exit=3, health_timeout_s=health_timeout_s, stop_grace_s=stop_grace_s)
    forks.start()
    beside()
    code = forks.supervise()
    (folder / "parent-ended").write_text(str(code))
    sys.exit(code)
    """
)


class Parent:
    def __init__(self, folder: Path, behaviour: str = "", health_timeout_s: float = 30, stop_grace_s: float = 5):
        self.folder = folder
        folder.mkdir(exist_ok=True)
        self.behave(behaviour)
        (folder / "prepared").write_text("")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROGRAM, str(folder), str(health_timeout_s), str(stop_grace_s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def behave(self, behaviour: str) -> None:
        (self.folder / "behaviour").write_text(behaviour)

    def serving(self) -> set[int]:
        """Pids of the workers that said they serve and still run (not zombies)."""
        return {int(p.name.split("-")[1]) for p in self.folder.glob("worker-*") if _alive(int(p.name.split("-")[1]))}

    def wait_for(self, condition, what: str, timeout_s: float = 30):
        deadline = time.monotonic() + timeout_s
        while not (found := condition()):
            assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}; parent said: {self.output()}"
            time.sleep(0.05)
        return found

    def output(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stdout.read() if self.proc.stdout else ""

    def end(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


def _alive(pid: int) -> bool:
    try:
        return ") Z" not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


@pytest.fixture
def parent(tmp_path):
    made: list[Parent] = []

    def make(**kwargs) -> Parent:
        made.append(Parent(tmp_path / f"parent-{len(made)}", **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.end()


def test_a_worker_that_dies_is_replaced(parent):
    kit = parent()
    first = kit.wait_for(lambda: len(kit.serving()) == 2 and kit.serving(), "two workers")
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    now = kit.wait_for(lambda: len(kit.serving()) == 2 and victim not in kit.serving() and kit.serving(), "a new one")
    assert len(now - first) == 1
    assert kit.proc.poll() is None


def test_a_hung_worker_is_killed_and_replaced_once_it_misses_the_health_check(parent):
    kit = parent(health_timeout_s=2)
    first = kit.wait_for(lambda: len(kit.serving()) == 2 and kit.serving(), "two workers")
    hung = min(first)
    os.kill(hung, signal.SIGSTOP)  # its health-check thread stops answering with the rest of it
    started = time.monotonic()
    kit.wait_for(lambda: hung not in kit.serving() and len(kit.serving()) == 2, "the hung worker replaced")
    assert time.monotonic() - started >= 1.5  # not before its health check had time to fail


def test_a_worker_slower_to_start_than_the_health_check_is_waited_for(parent):
    # Its health-check thread answers from the fork on: a kit whose workers wait at a slow start (a loaded Pi at
    # boot, the amd64 image under emulation) is not killed and replaced forever (docs/image.md).
    kit = parent(behaviour="slow-start", health_timeout_s=2)
    first = kit.wait_for(lambda: len(kit.serving()) == 2 and kit.serving(), "two workers", timeout_s=30)
    time.sleep(2.5)
    assert kit.serving() == first


def test_a_worker_that_cannot_start_stops_every_worker_and_the_parent(parent):
    kit = parent()
    first = kit.wait_for(lambda: len(kit.serving()) == 2 and kit.serving(), "two workers")
    kit.behave("cannot-start")  # the replacement will end with the stop-all code
    os.kill(min(first), signal.SIGKILL)
    assert kit.proc.wait(timeout=30) == 3
    assert not kit.serving()


def test_sigterm_stops_every_worker_and_kills_one_that_will_not_stop(parent):
    kit = parent(behaviour="ignore-term", stop_grace_s=1)
    workers = kit.wait_for(lambda: len(kit.serving()) == 2 and kit.serving(), "two workers")
    started = time.monotonic()
    kit.proc.send_signal(signal.SIGTERM)
    assert kit.proc.wait(timeout=30) == 0
    assert 0.8 <= time.monotonic() - started < 10
    assert not any(_alive(pid) for pid in workers)


def test_a_stop_signal_while_the_kit_is_prepared_waits_for_the_preparation(parent):
    kit = parent()
    (kit.folder / "prepared").unlink()
    kit.wait_for(lambda: (kit.folder / "preparing").exists(), "the preparation")
    command = int((kit.folder / "command").read_text())
    blocked = next(
        line for line in Path(f"/proc/{command}/status").read_text().splitlines() if line.startswith("SigBlk")
    )
    assert int(blocked.split()[1], 16) == 0  # it gets SIGTERM as any command does
    kit.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert kit.proc.poll() is None  # blocked, not lost: preparing is not cut in half
    (kit.folder / "prepared").write_text("")
    assert kit.proc.wait(timeout=30) == 0
    assert (kit.folder / "parent-ended").read_text() == "0"


def test_workers_end_when_the_parent_is_killed_9(parent):
    kit = parent()
    workers = kit.wait_for(lambda: len(kit.serving()) == 2 and kit.serving(), "two workers")
    kit.proc.kill()
    kit.proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its parent"
        time.sleep(0.05)
