"""Issue 21 measure (item 7): `tpkit sync` killed with SIGKILL alone mid-book. How long its tpkit-rsync and rsync
live on, and how many bytes they still write into staging after the kill (before issue 21 they downloaded the rest
of the book for nobody).

    .venv/bin/python bench/sync_orphan.py [--size-mb 20] [--rate-kbps 1000] [--cut-percent 30] [--checkout DIR]

A real `tpkit sync` against a loopback rsync daemon (the shipped rsyncd.conf) with `sync_rate_cap_kbps`; random
(incompressible) bytes stand in for a ZIM's clusters. `--checkout` runs another source tree's tpkit (e.g. an
export of main: `git archive 5d7e3aa | tar -x -C /tmp/main`) with this one's Python. Run from the repository root.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from appliance.config import as_environment  # noqa: E402
from appliance.services.kit import claim_once  # noqa: E402
from tests.mirror import Mirror, RsyncDaemon, kit_settings, session_pids, staged_files  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GIVE_UP_S = 600


def staged_bytes(settings) -> int:
    return sum(p.stat().st_size for p in staged_files(settings) if "big_en" in p.name and p.exists())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--rate-kbps", type=int, default=1000)
    parser.add_argument("--cut-percent", type=int, default=30)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        mirror = Mirror(work / "mirror", work / "keys")
        mirror.book("big_en", size_kb=args.size_mb * 1024)
        mirror.publish()
        size = (mirror.folder() / "big_en.zim").stat().st_size
        daemon = RsyncDaemon(mirror.root, work).start()
        try:
            settings = kit_settings(work, daemon.url, mirror, sync_rate_cap_kbps=args.rate_kbps)
            process = subprocess.Popen(
                [sys.executable, "-m", "appliance", "sync"],
                cwd=args.checkout,
                env={**os.environ, **as_environment(settings), "TPKIT_LOG_LEVEL": "error"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            while staged_bytes(settings) < size * args.cut_percent // 100:
                if process.poll() is not None:
                    raise SystemExit("the sync ended before the cut")
                time.sleep(0.02)
            at_kill = staged_bytes(settings)
            os.kill(process.pid, signal.SIGKILL)
            killed = time.monotonic()
            process.wait()
            lock_free_s = None
            while session_pids(process.pid) and time.monotonic() - killed < GIVE_UP_S:
                if lock_free_s is None and (fd := claim_once(settings.data_dir / "sync" / "sync.lock")) is not None:
                    os.close(fd)
                    lock_free_s = time.monotonic() - killed
                time.sleep(0.02)
            gone_s = time.monotonic() - killed
            after = staged_bytes(settings) - at_kill
        finally:
            daemon.stop()
    print(f"book {size / 2**20:.1f} MB at {args.rate_kbps} KiB/s, tpkit killed at {at_kill / size:.0%}")
    print(f"its transfer lived on {gone_s:.2f} s and wrote {after / 2**20:.2f} MB ({after / size:.1%} of the book)")
    free = "never while it lived" if lock_free_s is None else f"{lock_free_s:.2f} s after the kill (it still ran)"
    print(f"a new run could take the lock: {free}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
