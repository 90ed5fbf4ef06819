"""What checking a book that came by stick or from a peer kit costs (issue 21): the publisher's file is checked by
its SHA-256, a kit's own rebuild of it by the entry digest the index signs; libzim's whole check runs for both.

Usage: .venv/bin/python bench/received_book.py BOOK.zim   (make one with bench/make_zim.py). docs/performance.md.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from appliance.content import zimdelta, zimfile
from appliance.files import file_digest


def main(path: Path) -> None:
    checks = (
        ("sha256", lambda: file_digest(path)),
        ("libzim check", lambda: zimfile.check_whole(path)),
        ("entry digest", lambda: zimdelta.book_digest(path)),
    )
    for name, work in checks:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        print(f"{name:<13} {time.perf_counter() - wall:6.2f} s wall {time.process_time() - cpu:6.2f} s CPU")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MB for a {path.stat().st_size / 2**20:.1f} MB book")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
