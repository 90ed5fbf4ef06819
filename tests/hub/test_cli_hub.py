"""`tpkit hub` as a technician uses it: register, configure, import a USB stick, serve with workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from appliance.edges import minisign
from appliance.hub import enrolment
from appliance.hub.storage.backend import open_database
from appliance.protocol import report_file
from tests.conftest import free_port
from tests.hub.conftest import enrol_kit, signed, stored_reports


def tpkit(*args: str, settings, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TPKIT_HUB_DATA_DIR": str(settings.hub_data_dir),
        "TPKIT_HUB_DATABASE_URL": settings.hub_database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "appliance", "hub", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_cli_hub_kit_add_prints_a_token_that_enrols(hub_settings, hub_db, clock):
    result = tpkit("kit", "add", "gs-0042", "--school", "五一小学", "--district", "North", settings=hub_settings)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert enrolment.enrol(hub_db, "gs-0042", token, minisign.generate().public.line, clock.now)[1] is True
    again = tpkit("kit", "add", "gs-0042", "--school", "x", "--district", "y", settings=hub_settings)
    assert again.returncode == 1 and "--new-token" in again.stderr


def test_cli_hub_kit_config_makes_versions(hub_settings, hub_db, clock):
    enrol_kit(hub_db, "kit-1", clock.now)
    first = tpkit(
        "kit",
        "config",
        "kit-1",
        "--sync-windows",
        "Mon-Fri 16:00-07:00",
        "--sync-channels",
        "primary-zh",
        settings=hub_settings,
    )
    assert first.returncode == 0 and "version 1" in first.stdout
    second = tpkit("kit", "config", "kit-1", "--sync-rate-cap-kbps", "2000", settings=hub_settings)
    assert '"sync_windows": "Mon-Fri 16:00-07:00"' in second.stdout and "version 2" in second.stdout
    bad = tpkit("kit", "config", "nope", "--sync-rate-cap-kbps", "1", settings=hub_settings)
    assert bad.returncode == 1 and "No kit nope" in bad.stderr


def test_cli_hub_import_reads_a_stick_with_the_same_checks(hub_settings, hub_db, clock, tmp_path):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    stick = tmp_path / "stick"
    for n in (1, 2):
        report, payload, _ = signed(secret, "kit-1", n, made_at=clock.now)
        path, sig_path = report_file.bundle_paths(stick, report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        sig_path.write_text(report_file.sign(secret, report, payload))
    forged, payload, _ = signed(minisign.generate(), "kit-1", 3, made_at=clock.now)
    path, sig_path = report_file.bundle_paths(stick, forged)
    path.write_bytes(payload)
    sig_path.write_text(report_file.sign(minisign.generate(), forged, payload))
    result = tpkit("import", str(stick), settings=hub_settings)
    assert result.returncode == 1
    assert "2 accepted, 0 already stored, 1 refused" in result.stdout and "report.bad_signature" in result.stdout
    again = tpkit("import", str(stick), settings=hub_settings)
    assert "0 accepted, 2 already stored, 1 refused" in again.stdout
    assert stored_reports(hub_db, "kit-1") == 2


def test_cli_hub_serve_with_two_workers_ingests_and_stops_on_sigterm(hub_settings, hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", time.time())
    port = free_port()
    env = {
        **os.environ,
        "TPKIT_HUB_DATA_DIR": str(hub_settings.hub_data_dir),
        "TPKIT_HUB_DATABASE_URL": hub_settings.hub_database_url,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "appliance", "hub", "serve", "--hub-port", str(port), "--hub-workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/alive").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "hub did not start"
            time.sleep(0.2)
        _, payload, headers = signed(secret, "kit-1", 1)
        assert (
            httpx.post(f"http://127.0.0.1:{port}/api/v1/reports", content=payload, headers=headers).status_code == 201
        )
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert "One-time technician password (user 'technician')" in out
    reopened = open_database(hub_settings)
    assert stored_reports(reopened, "kit-1") == 1
    reopened.close()


def test_cli_hub_technician_add_a_reviewer(hub_settings, hub_db, clock):
    """`tpkit hub technician add NAME --role reviewer`; setting the password again keeps the role."""
    env = {**os.environ, "TPKIT_HUB_DATA_DIR": str(hub_settings.hub_data_dir)}
    env["TPKIT_HUB_DATABASE_URL"] = hub_settings.hub_database_url

    def add(*args: str) -> subprocess.CompletedProcess:
        # A new session has no terminal, so getpass reads the password twice from stdin.
        command = [sys.executable, "-m", "appliance", "hub", "technician", *args]
        passwords = "a county password\na county password\n"
        return subprocess.run(
            command, input=passwords, capture_output=True, text=True, timeout=60, env=env, start_new_session=True
        )

    done = add("add", "li.reviewer", "--role", "reviewer")
    assert done.returncode == 0 and "Reviewer li.reviewer can sign in" in done.stdout, done.stderr
    assert add("li.reviewer").returncode == 0
    assert add("zhou").returncode == 0
    roles = hub_db.query("SELECT username, role FROM technicians ORDER BY username")
    assert roles == [{"username": "li.reviewer", "role": "reviewer"}, {"username": "zhou", "role": "technician"}]
