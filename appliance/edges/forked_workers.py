"""Server workers forked from a parent that has imported what they run, and kept alive (issue 15: cold start).

uvicorn's own supervisor spawns each worker as a fresh interpreter that imports everything again: ~0.3 s of CPU a
worker on the bench machine, two workers at once, and several seconds on a Pi at boot, after every power cut. A
forked worker starts with its parent's imports already in memory (shared with the parent copy-on-write, so two
workers also hold one copy of the modules, not two) and goes straight to opening the kit and serving.

The parent forks `count` workers and supervises them until SIGTERM or SIGINT:

- a worker that ends is replaced by a new fork, unless it ended with `stop_all_exit` (it could not start: a broken
  app or a failed preparation would fail the same way forever), which stops every worker and the parent;
- a worker that stops answering the health check (a byte on a socketpair every TICK_S, answered by a thread of its
  own from the fork on, so a slow start is not taken for a hang) for `health_timeout_s` (a few TICK_S at least) is
  killed and replaced, as uvicorn's supervisor does;
- SIGTERM or SIGINT is passed to every worker; those still running `stop_grace_s` later are killed.

Forking is safe only from a parent with no other threads (a lock held by another thread at the fork stays held in
the child forever): `start()` and every replacement fork from the supervising thread, and the caller must keep
other threads out of the parent (tests/edges/test_forked_workers.py).

Must not import storage, content, services, web or cli.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable

from appliance.edges import commands

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
WATCHED = {*STOP_SIGNALS, signal.SIGCHLD}
# How often the parent looks at its workers when no signal wakes it, and pings them.
TICK_S = 1.0
# A worker that dies this soon after its fork is replaced only after this pause, so that a worker that crashes at
# start does not make the parent fork in a tight loop.
QUICK_DEATH_S = 1.0


class _Worker:
    """One forked worker, as its parent sees it."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel  # the parent's end of the health-check socketpair
        self.started = time.monotonic()
        self.last_answer = self.started

    def collect(self) -> None:
        """Note the answers to earlier health checks (never blocks)."""
        try:
            while self.channel.recv(64):
                self.last_answer = time.monotonic()
        except OSError:
            pass  # nothing more to read now (BlockingIOError), or the worker has gone: waitpid says so

    def ask(self) -> None:
        """A new health check, answered by the worker's own thread (see `collect`)."""
        try:
            self.channel.send(b"?")
        except OSError:
            pass


class ForkedWorkers:
    """`count` forks of this process, each running `serve()`; see the module's docstring."""

    def __init__(
        self,
        count: int,
        serve: Callable[[], int | None],
        *,
        stop_all_exit: int,
        health_timeout_s: float,
        stop_grace_s: float,
    ) -> None:
        self.count = count
        self.serve = serve
        self.stop_all_exit = stop_all_exit
        self.health_timeout_s = health_timeout_s
        self.stop_grace_s = stop_grace_s
        self.workers: list[_Worker] = []
        self._stopping = False
        self._asked_to_stop: list[int] = []
        self._handlers: dict[int, object] = {}

    def start(self) -> None:
        """Fork the workers. A SIGTERM or SIGINT from now on is noted and taken by `supervise()`, so that what the
        caller does between the two (preparing the kit while the workers wait for it) is not cut in half. Signals are
        blocked only while forking (a new worker resets them before it takes any), so that commands this process
        starts meanwhile get them as usual."""
        for sig in STOP_SIGNALS:
            self._handlers[sig] = signal.signal(sig, lambda signo, _frame: self._asked_to_stop.append(signo))
        gc.collect()
        gc.freeze()  # the parent's objects stay out of the workers' collections: their pages stay shared
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        try:
            for _ in range(self.count):
                self.workers.append(self._fork())
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)

    def supervise(self) -> int:
        """Keep the workers alive until SIGTERM/SIGINT or a worker's `stop_all_exit`; 0, or that exit code."""
        code = 0
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)  # from now on taken by sigtimedwait, one at a time
        try:
            if self._asked_to_stop:
                log.info("received %s: stopping the web workers", signal.Signals(self._asked_to_stop[0]).name)
                return code
            while not self._stopping:
                taken = signal.sigtimedwait(WATCHED, TICK_S)
                if taken is not None and taken.si_signo in STOP_SIGNALS:
                    log.info("received %s: stopping the web workers", signal.Signals(taken.si_signo).name)
                    break
                code = self._keep_alive()
        finally:
            self.stop()
        return code

    def _keep_alive(self) -> int:
        for index, worker in enumerate(self.workers):
            ended = _reap(worker.pid)
            if ended is None:
                worker.collect()
                if time.monotonic() - worker.last_answer <= self.health_timeout_s:
                    worker.ask()
                    continue
                log.error("web worker %d did not answer for %.0f s: killing it", worker.pid, self.health_timeout_s)
                _kill(worker.pid, signal.SIGKILL)
                ended = _wait(worker.pid)
            worker.channel.close()
            if ended == self.stop_all_exit:
                log.error("web worker %d could not start (exit %d): stopping", worker.pid, ended)
                self._stopping = True
                return ended
            log.warning("web worker %d ended (%s): starting another", worker.pid, _describe(ended))
            if time.monotonic() - worker.started < QUICK_DEATH_S:
                time.sleep(QUICK_DEATH_S)
            self.workers[index] = self._fork()
        return 0

    def _fork(self) -> _Worker:
        others = [thread.name for thread in threading.enumerate() if thread is not threading.current_thread()]
        if others:
            log.warning("forking a web worker while other threads run in this process (%s)", ", ".join(others))
        parent_end, child_end = socket.socketpair()
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            commands.end_with_parent(parent_pid)  # a kill -9 of the parent must not leave it serving, orphaned
            parent_end.close()
            for other in self.workers:
                other.channel.close()
            _run_worker(self.serve, child_end)
        child_end.close()
        parent_end.setblocking(False)
        worker = _Worker(pid, parent_end)
        worker.ask()
        return worker

    def stop(self) -> None:
        """SIGTERM to every worker, SIGKILL to those still running `stop_grace_s` later; this process's signals as
        they were before `start()`."""
        self._stopping = True
        for worker in self.workers:
            _kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace_s
        for worker in self.workers:
            ended = _reap(worker.pid)
            while ended is None and time.monotonic() < deadline:
                time.sleep(0.05)
                ended = _reap(worker.pid)
            if ended is None:
                log.error("web worker %d still ran %.0f s after SIGTERM: killing it", worker.pid, self.stop_grace_s)
                _kill(worker.pid, signal.SIGKILL)
                _wait(worker.pid)
            worker.channel.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _run_worker(serve: Callable[[], int | None], channel: socket.socket) -> None:
    """In a new fork: answer the parent's health checks, run `serve()`, and end this process with its code."""
    code = 1
    try:
        for sig in WATCHED:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)
        threading.Thread(target=_answer_health_checks, args=(channel,), name="health-check", daemon=True).start()
        result = serve()
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # never the parent's cleanup (atexit, finally blocks up the stack) in a fork


def _answer_health_checks(channel: socket.socket) -> None:
    try:
        while channel.recv(64):
            channel.send(b"!")
    except OSError:
        pass


def _reap(pid: int) -> int | None:
    """The exit code of worker `pid` if it has ended (minus the signal that ended it), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0  # already reaped
    return None if done == 0 else os.waitstatus_to_exitcode(status)


def _wait(pid: int) -> int:
    """The exit code of worker `pid` once it has ended (blocks; see `_reap`)."""
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    except ChildProcessError:
        return 0


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _describe(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
