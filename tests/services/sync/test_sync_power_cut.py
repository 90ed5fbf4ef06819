"""Power cuts: `tpkit sync` killed with SIGKILL (with its rsync) at random moments, 30 times.

After every cut the content folder holds the old or the new version of each book, whole (libzim opens it and
its checksum passes; its SHA-256 is one of the two), and the next run finishes the job and leaves no staging files.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import as_environment
from appliance.content.zimfile import ZimFile
from appliance.files import file_digest
from appliance.services.sync.engine import Engine
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database, session_pids, staged_files

TRIALS = 30
BOOKS = ("moon_en", "water_en")
# A run takes ~1.5 s here (interpreter start, two indexes, two throttled books): cuts land anywhere in it.
CUT_AFTER_S = (0.2, 2.2)


def _cut_power(process: subprocess.Popen) -> None:
    """SIGKILL every process of the sync's session until none is left (one may fork while we kill the others)."""
    while pids := session_pids(process.pid):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone
        process.poll()  # reap the sync itself, else its zombie stays in the session
        time.sleep(0.01)
    process.wait()


def _versions(mirror: Mirror, tmp_path: Path) -> dict[str, dict[str, Path]]:
    """Two versions (a, b) of each book, written once and copied into the channel folder as needed."""
    versions = {}
    for label in ("a", "b"):
        for name in BOOKS:
            mirror.book(name, body=f"<p>version {label}</p>", size_kb=60)
        keep = tmp_path / f"version-{label}"
        keep.mkdir()
        versions[label] = {name: Path(shutil.copy(mirror.folder() / f"{name}.zim", keep)) for name in BOOKS}
    return versions


def _publish(mirror: Mirror, version: dict[str, Path]) -> None:
    for name, path in version.items():
        shutil.copy(path, mirror.folder() / f"{name}.zim")
    mirror.publish()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sync_power_cut_at_random_moments_leaves_old_or_new_whole(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    versions = _versions(mirror, tmp_path)
    digests = {label: {n: file_digest(p)[1] for n, p in v.items()} for label, v in versions.items()}
    daemon = RsyncDaemon(mirror.root, tmp_path).start()
    rng = random.Random(3)  # fixed seed: a failure can be replayed
    try:
        throttled = kit_settings(tmp_path, daemon.url, mirror, sync_rate_cap_kbps=150)
        engine = Engine(kit_settings(tmp_path, daemon.url, mirror), open_database(throttled))
        _publish(mirror, versions["a"])
        engine.run()
        environment = {**os.environ, **as_environment(throttled), "TPKIT_LOG_LEVEL": "error"}
        interrupted = 0
        for trial in range(TRIALS):
            target = "b" if trial % 2 == 0 else "a"
            _publish(mirror, versions[target])
            process = subprocess.Popen(
                [sys.executable, "-m", "appliance", "sync"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            time.sleep(rng.uniform(*CUT_AFTER_S))
            interrupted += process.poll() is None
            _cut_power(process)
            for name in BOOKS:
                book = throttled.content_dir / f"{name}.zim"
                found = file_digest(book)[1]
                assert found in (digests["a"][name], digests["b"][name]), f"trial {trial}: {name} is neither version"
                assert ZimFile(book).verify_checksum() is True
            _, result = engine.run()
            assert result.outcome == "ok", f"trial {trial}: {result}"
            assert {n: file_digest(throttled.content_dir / f"{n}.zim")[1] for n in BOOKS} == digests[target]
            assert staged_files(throttled) == [], f"trial {trial}: staging garbage"
            assert sorted(p.name for p in throttled.content_dir.iterdir()) == [f"{n}.zim" for n in BOOKS]
            assert len(list((throttled.data_dir / "sync" / "previous").iterdir())) <= len(BOOKS)
        assert interrupted >= TRIALS // 2  # most cuts landed while the sync was running
        outcomes = [run["outcome"] for run in engine.runs.recent(limit=2 * TRIALS)]
        assert "interrupted" in outcomes
    finally:
        daemon.stop()
