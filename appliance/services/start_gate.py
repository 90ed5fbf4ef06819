"""The gate between `tpkit serve` and its web workers at start, so that the two overlap (issue 15: cold start).

`tpkit serve` forks its web workers (edges/forked_workers.py) as soon as it has imported the web pages; meanwhile
the parent migrates the database, sweeps half-written uploads, makes the kit's key and the first password. The
parent shuts the gate (an exclusive flock on `<data_dir>/start.lock`) before it forks, prepares the kit while the
workers start, and opens it; a worker passes the gate (a shared flock) before it opens the kit. No worker ever sees a
database the parent is migrating, or sweeps an upload another worker has begun. A fork inherits the parent's
descriptor of the shut gate, and drops it at once (`Gate._forget`).

When the parent's preparation fails it writes why into the gate before opening it: each worker then ends with
uvicorn's start-failure code, which makes the serving parent stop instead of replacing workers forever, and `tpkit
serve` prints the parent's error with its fix.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from appliance.errors import StorageError

log = logging.getLogger(__name__)

# uvicorn's STARTUP_FAILURE (uvicorn.config): a worker process that ends with it makes the serving parent stop
# (tests/test_start_gate.py checks the two stay equal).
PARENT_FAILED_EXIT = 3
GATE_NAME = "start.lock"


class Gate:
    """The parent's hold on the gate: shut from `shut_gate()` until `open()`."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd
        # A worker forked while the gate is shut inherits this descriptor, and with it the parent's exclusive lock:
        # it must drop it (without unlocking: the parent still holds it) or it would wait at the gate for itself.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def open(self, failure: str = "") -> None:
        """Let the workers through; with `failure`, tell them the parent could not prepare the kit. Safe to call
        twice (the second call does nothing)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if failure:
                os.write(fd, failure.encode("utf-8", "replace"))
        finally:
            os.close(fd)  # releases the flock


def shut_gate(data_dir: Path) -> Gate:
    """Shut the gate in `data_dir` (created if missing) and clear what an earlier, failed start wrote into it."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / GATE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(
            f"Cannot write in the data folder {data_dir}: {exc.strerror}.",
            cause="The data folder is on a read-only disk or owned by another user.",
            fix=f"Set data_dir to a writable folder, or run: sudo chown -R $USER {data_dir}",
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return Gate(fd)


def pass_gate(data_dir: Path) -> None:
    """Wait until the parent has prepared the kit. If it failed, end this worker process with PARENT_FAILED_EXIT.
    Without a gate file (a worker started by hand, or by a test) there is nothing to wait for."""
    try:
        fd = os.open(data_dir / GATE_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        failure = os.read(fd, 64 * 1024).decode("utf-8", "replace")
    finally:
        os.close(fd)
    if failure:
        log.error("tpkit serve could not prepare the kit, so this web worker stops: %s", failure)
        raise SystemExit(PARENT_FAILED_EXIT)
