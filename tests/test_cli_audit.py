"""`tpkit audit` through its installed entry point: a real kit's data folder, readable and JSON output, and the exit
status (0 with warnings only, 1 with a problem)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.people import auth

TPKIT = Path(sys.executable).with_name("tpkit")


def tpkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(TPKIT), *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


@pytest.fixture
def kit_env(tmp_path):
    """A kit started once as `tpkit serve` leaves it (umask 0027, the first administrator made)."""
    env = {"TPKIT_DATA_DIR": str(tmp_path / "data"), "TPKIT_CONTENT_DIR": str(tmp_path / "content")}
    loose = os.umask(0o027)
    try:
        settings = load_settings(environ=env)
        kit = open_kit(settings, with_library=False)
        auth.ensure_first_admin(kit.accounts)
    finally:
        os.umask(loose)
    yield kit, env
    kit.close()


def test_cli_audit_exits_1_on_a_problem_and_prints_its_fix(kit_env):
    kit, env = kit_env
    done = tpkit("audit", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("[✗] roles:")))
    assert "one-time password" in lines[first] and lines[first + 1].strip() == "admin"
    assert lines[first + 2].startswith("    Fix: Sign in at `/admin`")
    assert "[✓] files: People's data" in done.stdout  # the command's umask kept what it opened private
    assert lines[-1].startswith("[✗] 1 problem(s)")


def test_cli_audit_json_and_exit_0_once_the_administrator_chose_a_password(kit_env):
    kit, env = kit_env
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, kit.accounts.by_username("admin")["id"], must_change_password=0)
    done = tpkit("audit", "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["problems"] == 0 and report["level"] in ("ok", "warning")
    topics = [finding["topic"] for finding in report["findings"]]
    assert topics[:2] == ["units", "firewall"] and {"files", "roles", "signin", "wifi"} <= set(topics)
    admins = next(f for f in report["findings"] if f["key"] == "audit.roles.admins")
    assert admins["message"].startswith("1 administrator account (at most 2 advised)") and admins["rows"] == [
        ["admin", "", "—"]
    ]
    assert all(f["fix"] and f["level"] in ("ok", "warning") for f in report["findings"])
    plain = tpkit("audit", env=env)
    assert plain.returncode == 0 and plain.stdout.splitlines()[-1].startswith("[✓] No problem found")


@pytest.mark.skipif(os.geteuid() != 0, reason="`sudo tpkit audit` as on a kit: takes root")
def test_cli_audit_under_sudo_leaves_nothing_owned_by_root_in_the_kits_folder(kit_env):
    """On a kit the data folder is tpkit's; a technician runs `sudo tpkit audit`. A folder the kit makes on start
    (here keys/, removed) must not be left owned by root, or the web server cannot write in it."""
    kit, env = kit_env
    kit.close()
    top = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own temp root is 0700: no other user reaches in
    top.chmod(0o755)
    data = Path(shutil.copytree(env["TPKIT_DATA_DIR"], top / "data"))
    shutil.rmtree(data / "keys")
    (top / "content").mkdir()
    for path in (top / "content", data, *data.rglob("*")):
        os.chown(path, 65534, 65534)  # nobody: the kit's own user in this test
    try:
        done = tpkit("audit", env={"TPKIT_DATA_DIR": str(data), "TPKIT_CONTENT_DIR": str(top / "content")})
        assert done.returncode == 1, done.stdout + done.stderr  # the first password: a problem, as above
        assert (data / "keys").is_dir()
        assert [p for p in (data, *data.rglob("*")) if p.stat().st_uid != 65534] == []
        assert "[✓] files: People's data" in done.stdout and "owner `nobody`" in done.stdout
    finally:
        shutil.rmtree(top)
