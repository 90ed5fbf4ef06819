"""A kit's start, measured steadily on a shared machine (issue 15): spawn `tpkit serve`, poll a page until it answers
200, then read each process's CPU seconds (/proc/PID/stat) at that moment and its RssAnon and Pss_Anon once the kit has
rested.

Wall-clock cold start on a loaded machine swings by seconds; the CPU that the parent and the first worker spent before
the first page does not. Usage (docs/performance.md, "Cold start and memory"):

    .venv/bin/python bench/start.py --content-dir DIR --data-dir DIR [--path /content/bench/mainPage] [--trials 3]

Set TPKIT_* variables (e.g. TPKIT_MEMORY_MB=1024) in the environment to start the kit with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DEFAULT_TPKIT, compile_tpkit  # noqa: E402
from servers import ManagedServer, process_tree, read_pss_anon_kb, read_status_kb  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_start(server: ManagedServer, path: str, rest_s: float) -> dict:
    wall = server.start(path)
    root = server.proc.pid  # type: ignore[union-attr]  # started just above
    tree = process_tree(root)
    cpu = {pid: cpu_seconds(pid) for pid in tree}
    time.sleep(rest_s)
    resting = process_tree(root)
    rss = {pid: read_status_kb(pid, "RssAnon") / 1024 for pid in resting}
    pss = {pid: read_pss_anon_kb(pid) / 1024 for pid in resting}
    server.stop()
    workers = sorted((cpu[pid] for pid in tree if pid != root), reverse=True)
    return {
        "wall_ms": wall * 1000,
        "parent_cpu_ms": cpu[root] * 1000,
        "first_worker_cpu_ms": (workers[0] if workers else 0.0) * 1000,
        "rss_mb": sorted(rss.values(), reverse=True),
        "pss_mb": sorted(pss.values(), reverse=True),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content-dir", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--path", default="/", help="the page polled until it answers 200 (default /)")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--rest-s", type=float, default=3.0, help="idle time before RssAnon is read")
    p.add_argument("--python", default=sys.executable)
    args = p.parse_args(argv)
    compile_tpkit(args.python)
    fields = dict(python=args.python, content_dir=str(args.content_dir), data_dir=str(args.data_dir))
    server = ManagedServer("tpkit", DEFAULT_TPKIT, fields, Path(tempfile.mkdtemp(prefix="tpkit-start-")))
    runs = []
    for _ in range(args.trials):
        run = one_start(server, args.path, args.rest_s)
        runs.append(run)
        print(
            f"wall {run['wall_ms']:.0f} ms, CPU before the first page: parent {run['parent_cpu_ms']:.0f} ms + "
            f"first worker {run['first_worker_cpu_ms']:.0f} ms; RssAnon at rest {sum(run['rss_mb']):.1f} MB "
            f"({', '.join(f'{mb:.1f}' for mb in run['rss_mb'])}), Pss_Anon {sum(run['pss_mb']):.1f} MB "
            f"({', '.join(f'{mb:.1f}' for mb in run['pss_mb'])})",
            flush=True,
        )
    for key in ("wall_ms", "parent_cpu_ms", "first_worker_cpu_ms"):
        print(f"median {key}: {statistics.median(r[key] for r in runs):.0f}")
    print(f"median RssAnon at rest: {statistics.median(sum(r['rss_mb']) for r in runs):.1f} MB")
    print(f"median Pss_Anon at rest: {statistics.median(sum(r['pss_mb']) for r in runs):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
