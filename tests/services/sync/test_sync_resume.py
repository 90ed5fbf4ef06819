"""A power cut in the middle of a book: `tpkit sync` and its rsync killed with SIGKILL mid-file (or `tpkit sync`
alone, its rsync left to notice), then run again.

The second run must continue from what reached the disk (fewer bytes on the wire than the file) and install
the book whole. The mirror is a real rsync daemon on loopback; `sync_rate_cap_kbps` (rsync --bwlimit) makes
the first run slow enough to be cut in the middle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from appliance.config import as_environment
from appliance.files import file_digest
from appliance.services.sync.engine import Engine
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database, session_pids, staged_files
from tests.services.sync.test_sync_power_cut import _cut_power

BOOK_KB = 1500
CAP_KBPS = 300  # the first run would take ~5 s: it is cut once a third of the book is on the disk


def _leftovers(settings) -> list:
    """rsync's temporary files in staging (`.NAME.XXXXXX`): what a SIGKILL leaves of a download."""
    return [p for p in staged_files(settings) if p.name.startswith(".") and p.suffix not in (".json", ".minisig")]


def _kill_sync_alone(process: subprocess.Popen) -> None:
    """SIGKILL `tpkit sync` only; its tpkit-rsync and rsync stop on their own once the pipe to it breaks."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30
    while session_pids(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("cut", [_cut_power, _kill_sync_alone], ids=["power_cut", "sync_alone"])
def test_sync_resume_after_kill_9_mid_file_fetches_only_the_rest_and_installs_the_book_whole(tmp_path, cut):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    book = mirror.book("big_en", size_kb=BOOK_KB)
    mirror.publish()
    size, published = book.stat().st_size, file_digest(book)[1]
    daemon = RsyncDaemon(mirror.root, tmp_path).start()
    try:
        slow = kit_settings(tmp_path, daemon.url, mirror, sync_rate_cap_kbps=CAP_KBPS)
        environment = {**os.environ, **as_environment(slow), "TPKIT_LOG_LEVEL": "error"}
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "sync"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size > size // 3 for p in _leftovers(slow) if p.exists()):
            assert process.poll() is None and time.monotonic() < deadline, "the sync ended before it could be cut"
            time.sleep(0.05)
        kept = size // 3
        cut(process)
        assert session_pids(process.pid) == []
        assert not (slow.content_dir / "big_en.zim").exists()

        engine = Engine(kit_settings(tmp_path, daemon.url, mirror), open_database(slow))
        _, result = engine.run()
    finally:
        daemon.stop()
    assert result.outcome == "ok", result
    assert result.bytes_received < size - kept // 2  # the kept third was not fetched again
    assert file_digest(slow.content_dir / "big_en.zim")[1] == published
    assert staged_files(slow) == []
