"""Issue 3 measure (2): a transfer killed at ~50 % and resumed with content-sync/tpkit-rsync over a loopback
rsync daemon (the shipped rsyncd.conf). Prints the bytes on the wire of both attempts over the file's size.

    .venv/bin/python bench/sync_resume.py [--size-mb 20] [--rate-kbps 1000] [--cut mirror|kill-9]

`--cut mirror` (default) kills the rsync daemon at 50 % (the kit's rsync sees the link drop and keeps its partial
file); `--cut kill-9` kills the wrapper and its rsync with SIGKILL at 50 % (a power cut, or a yield: what rsync had
written is only in its temporary file, which the next call adopts). Run from the repository root. Random
(incompressible) bytes stand in for a ZIM's compressed clusters.
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
from tests.mirror import RsyncDaemon  # noqa: E402  (the same daemon set-up as the tests)

WRAPPER = Path(__file__).resolve().parents[1] / "content-sync" / "tpkit-rsync"


def fetch(
    url: str, dest: Path, rate_kbps: int, stop_at_percent: int | None, daemon: RsyncDaemon, cut: str = "mirror"
) -> int:
    """Run the wrapper; once progress passes `stop_at_percent` kill the daemon (or, `cut` = kill-9, the wrapper's
    process group with SIGKILL); the wire bytes it reported."""
    process = subprocess.Popen(
        [str(WRAPPER), "--bwlimit", str(rate_kbps), url, str(dest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    received, last_done = 0, 0
    for line in process.stdout:
        parts = line.split()
        if parts[0] == "progress":
            last_done = int(parts[1])
            if stop_at_percent is not None and int(parts[2]) >= stop_at_percent:
                if cut == "kill-9":
                    os.killpg(process.pid, signal.SIGKILL)
                    break
                daemon.stop()
        elif parts[0] == "received":
            received = int(parts[1])
    process.wait()
    # A cut transfer prints no --stats: count what reached the partial file (a lower bound of its wire bytes).
    return received or last_done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--rate-kbps", type=int, default=1000)
    parser.add_argument("--cut", choices=("mirror", "kill-9"), default="mirror")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "mirror" / "ch").mkdir(parents=True)
        size = args.size_mb * 2**20
        (root / "mirror" / "ch" / "book.zim").write_bytes(os.urandom(size))
        (root / "one").mkdir()
        (root / "two").mkdir()
        dest = root / "kit" / "book.zim"
        daemon = RsyncDaemon(root / "mirror", root / "one").start()
        first = fetch(f"{daemon.url}/ch/book.zim", dest, args.rate_kbps, 50, daemon, args.cut)
        daemon.stop()
        left = [dest.parent / ".rsync-partial" / "book.zim", *dest.parent.glob(".book.zim.??????")]
        kept = max((p.stat().st_size for p in left if p.exists()), default=0)
        first = max(first, kept)  # bytes that reached the disk crossed the wire (pipe buffers outrun progress lines)
        daemon = RsyncDaemon(root / "mirror", root / "two").start()
        started = time.monotonic()
        second = fetch(f"{daemon.url}/ch/book.zim", dest, args.rate_kbps, None, daemon)
        daemon.stop()
        same = dest.read_bytes() == (root / "mirror" / "ch" / "book.zim").read_bytes()
        print(
            f"cut: {args.cut}; file {size} bytes; cut attempt moved ≥ {first} (partial kept: {kept}); resume received {second} "
            f"in {time.monotonic() - started:.1f} s; identical: {same}"
        )
        print(
            f"total on the wire ≥ {(first + second) / size * 100:.1f} % of the file "
            f"(issue 3 target ≤ 103 %); resume alone {second / size * 100:.1f} %"
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
