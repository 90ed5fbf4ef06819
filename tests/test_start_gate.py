"""`tpkit serve` prepares the kit while uvicorn starts the web workers, and the workers wait at a gate before they
open the kit (services/start_gate.py; issue 15: cold start). Real processes and real flocks throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE

from appliance.services import start_gate
from tests.conftest import free_port

WORKER = (
    "import sys; from pathlib import Path; from appliance.services import start_gate\n"
    "print('at the gate', flush=True)\n"
    "start_gate.pass_gate(Path(sys.argv[1]))\n"
    "print('through', flush=True)\n"
)


def _worker(data_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "at the gate\n"
    return proc


def test_the_gate_s_failure_code_is_the_one_that_stops_uvicorn_s_parent():
    assert start_gate.PARENT_FAILED_EXIT == STARTUP_FAILURE


def test_a_worker_waits_at_a_shut_gate_and_passes_once_it_opens(tmp_path: Path):
    gate = start_gate.shut_gate(tmp_path)
    worker = _worker(tmp_path)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(timeout=0.5)  # held by the flock, however long the parent prepares
    finally:
        gate.open()
    out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0
    assert out == "through\n"


def test_a_worker_ends_with_uvicorn_s_start_failure_when_the_parent_failed(tmp_path: Path):
    gate = start_gate.shut_gate(tmp_path)
    worker = _worker(tmp_path)
    gate.open(failure="Cannot open the database: disk full.")
    _, err = worker.communicate(timeout=30)
    assert worker.returncode == STARTUP_FAILURE
    assert "Cannot open the database: disk full." in err


def test_a_new_start_forgets_an_earlier_failure_and_no_gate_means_no_wait(tmp_path: Path):
    start_gate.shut_gate(tmp_path).open(failure="an earlier start failed")
    start_gate.shut_gate(tmp_path).open()
    start_gate.pass_gate(tmp_path)  # returns: the failure was cleared
    start_gate.pass_gate(tmp_path / "no-gate-here")  # a worker started by hand waits for nothing


def test_serve_stops_with_the_parent_s_error_when_preparing_the_kit_fails_beside_its_workers(tmp_path: Path):
    data_dir, content_dir = tmp_path / "data", tmp_path / "content"
    (data_dir / "tpkit.sqlite3").mkdir(parents=True)  # the database cannot be opened: preparing fails
    content_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TPKIT_")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "appliance", "serve", "--host", "127.0.0.1", "--port", str(free_port())]
        + ["--web-workers", "2", "--data-dir", str(data_dir), "--content-dir", str(content_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        _, err = serve.communicate(timeout=120)  # before the gate, workers failing were replaced forever
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    assert serve.returncode == 1
    assert "[✗] Cannot open the database" in err
    assert "Fix:" in err
    deadline = time.monotonic() + 30
    while True:  # no worker is left behind
        try:
            os.killpg(serve.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a web worker outlived tpkit serve"
        time.sleep(0.05)
