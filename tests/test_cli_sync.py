"""`tpkit sync [--plan|--history]` and `tpkit content rollback` as a technician runs them (a folder as source)."""

from __future__ import annotations

import pytest

from appliance.cli import main
from tests.mirror import Mirror


@pytest.fixture
def kit_env(tmp_path, monkeypatch):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("water_en")
    mirror.publish()
    for name, value in {
        "DATA_DIR": tmp_path / "data",
        "SYNC_SOURCE": mirror.root,
        "SYNC_CHANNELS": "primary-en",
        "TRUSTED_CHANNEL_KEYS": mirror.pub,
        "DISK_RESERVE_MB": 1,
        "LOG_LEVEL": "warning",
    }.items():
        monkeypatch.setenv(f"TPKIT_{name}", str(value))
    return mirror


def test_cli_sync_plan_run_history_and_rollback(kit_env, tmp_path, capsys):
    assert main(["sync", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "add      water_en" in out and "[✓] disk:" in out and "to download" in out
    assert not (tmp_path / "data" / "content" / "water_en.zim").exists()
    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "water_en" in out and "100%" in out and "[✓] Sync done: 1 added" in out
    kit_env.book("water_en", body="<p>v2</p>")
    kit_env.publish()
    assert main(["sync"]) == 0
    assert "1 updated" in capsys.readouterr().out
    assert main(["sync", "--history"]) == 0
    history = capsys.readouterr().out.splitlines()
    assert len(history) == 3 and "ok" in history[1] and "0/1/0" in history[1]
    assert main(["content", "rollback", "water_en"]) == 0
    assert "[✓] water_en is back at version" in capsys.readouterr().out
    assert main(["content", "rollback", "water_en"]) == 1
    err = capsys.readouterr().err
    assert "no previous version" in err and "    Fix:" in err


def test_cli_sync_refused_plan_exits_1_with_the_fix(kit_env, capsys, monkeypatch):
    monkeypatch.setenv("TPKIT_DISK_RESERVE_MB", str(1 << 30))
    assert main(["sync", "--plan"]) == 1
    assert "[✗] disk:" in capsys.readouterr().out
    assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert "short" in err and "Fix: Free at least" in err


def test_cli_sync_sigterm_stops_rsync_and_records_an_interrupted_run(kit_env, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from appliance.storage.database import Database
    from tests.mirror import session_pids

    kit_env.book("big_en", size_kb=800)
    kit_env.publish()
    env = {**os.environ, "TPKIT_SYNC_RATE_CAP_KBPS": "100"}
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    staging = tmp_path / "data" / "sync" / "staging" / "primary-en"
    deadline = time.monotonic() + 60
    while not [p for p in staging.glob(".*.zim.*")] and time.monotonic() < deadline:  # rsync's temporary file
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert session_pids(process.pid) == []  # rsync and the wrapper are gone too
    db = Database(tmp_path / "data" / "tpkit.sqlite3")
    try:
        run = db.read().execute("SELECT outcome, reason FROM sync_runs ORDER BY id DESC").fetchone()
    finally:
        db.close()
    assert tuple(run) == ("interrupted", "sync.interrupted")


def test_cli_sync_plan_shows_an_update_by_patch_and_full_on_request(kit_env, tmp_path, capsys):
    import shutil

    from appliance.content.zimfile import ZimFile

    previous = tmp_path / "published-before"
    previous.mkdir()
    shutil.copy2(kit_env.folder() / "water_en.zim", previous / "water_en.zim")
    assert main(["sync"]) == 0
    kit_env.book("water_en", body="<p>Now with clouds.</p>")
    kit_env.publish(previous_dir=previous)
    capsys.readouterr()
    assert main(["sync", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "update   water_en" in out and "by 1 patch(es), full book" in out
    assert main(["sync", "--plan", "--full", "water_en"]) == 0
    assert "full package (full package asked for (--full))" in capsys.readouterr().out
    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "[i] rebuilding water_en from 1 patch(es)" in out and "1 updated" in out and "by 1 patch(es)" in out
    book = ZimFile(tmp_path / "data" / "content" / "water_en.zim")
    assert "Now with clouds." in bytes(book.lookup("water").data).decode()
    assert main(["sync", "--plan"]) == 0
    assert "(nothing to do" in capsys.readouterr().out
