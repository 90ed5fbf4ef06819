"""A worker process that starts more slowly than uvicorn's own 5 s health check is waited for, not killed and
replaced forever (cli/common.WORKER_HEALTHCHECK_S; seen on the amd64 image under emulation, docs/image.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

SLOW_START_S = 8  # longer than uvicorn's default health check (5 s), far shorter than tpkit's


def test_serve_waits_for_worker_processes_that_start_slowly(tmp_path: Path):
    slow = tmp_path / "slow-start"
    slow.mkdir()
    # Every worker process (uvicorn spawns them: `-c "from multiprocessing.spawn import spawn_main..."`) starts
    # SLOW_START_S late, as on a loaded Pi at boot; the parent process does not.
    (slow / "sitecustomize.py").write_text(
        f"import sys, time\nif 'spawn_main' in ' '.join(sys.orig_argv):\n    time.sleep({SLOW_START_S})\n"
    )
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TPKIT_")},
        "PYTHONPATH": str(slow),
        "TPKIT_HUB_DATA_DIR": str(tmp_path / "hub"),
    }
    tpkit = str(Path(sys.executable).with_name("tpkit"))
    server = subprocess.Popen(
        [tpkit, "hub", "serve", "--hub-port", str(port), "--hub-workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answered, deadline = 0, time.monotonic() + 90
        while answered < 10 and time.monotonic() < deadline:
            try:
                answered += httpx.get(f"http://127.0.0.1:{port}/-/alive", timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    finally:
        server.kill()
        server.stdout.close()
    assert answered == 10, output
    assert "died" not in output, output  # no worker was killed and replaced while it started
