"""The uplink measurements of issue 3, on a real rsync daemon across a 5 Mbit/s namespace link.

    sudo .venv/bin/python bench/uplink.py [--rate-mbit 5] [--size-mb 8] [--trials 5] [--parts resume,cap,yield]
                                          [--json OUT]

(2) a transfer killed at 50 % and resumed: wire bytes over an uninterrupted transfer's, for plain rsync with a
    SIGTERM (rsync keeps its partial file) and a kill -9 (--inplace --append-verify), and for content-sync's
    tpkit-rsync with a kill -9 of its whole process group (what a power cut or a yield does);
(3) a cap of 50 % of the link: plain rsync --bwlimit as the peer, then the real `tpkit sync` with
    sync_rate_cap_percent = 50 (its probe measures the link, then it caps itself): wire bytes per second;
(4) yielding: the real `tpkit sync` (default yield settings, resume after 3 s): seconds from people's first
    byte to sync deciding to step aside and to its rsync being gone; the book installed whole each time.
Needs root, iproute2, tc and rsync; builds its own namespaces (tests/netlab.py) and removes them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import netlab  # noqa: E402

PORT = 8873
WRAPPER = ROOT / "content-sync" / "tpkit-rsync"


def _transfer(lab, url, dest, extra=(), kill_at=None, kill_signal=signal.SIGTERM, wrapper=False):
    """One rsync pull (or tpkit-rsync's); with `kill_at` bytes, its process group killed when that many crossed."""
    argv = [str(WRAPPER), url, f"{dest}/big.bin"] if wrapper else ["rsync", "--timeout=30", *extra, url, f"{dest}/"]
    before, started = lab.kit_bytes(), time.monotonic()
    process = lab.popen(lab.kit, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None:
        if kill_at is not None and lab.kit_bytes() - before >= kill_at:
            os.killpg(process.pid, kill_signal)
            process.wait(30)
            break
        time.sleep(0.05)
    return lab.kit_bytes() - before, time.monotonic() - started, process.returncode


def _fresh(dest: Path) -> None:
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.mkdir()


def resume_overhead(lab, url, dest, size, mode):
    extra = ["--partial-dir=.tpkit-partial"] if mode == "SIGTERM" else ["--inplace", "--append-verify"]
    wrapper = mode.startswith("tpkit-rsync")
    _fresh(dest)
    whole, seconds, _ = _transfer(lab, url, dest, extra, wrapper=wrapper)
    _fresh(dest)
    first, _, _ = _transfer(
        lab,
        url,
        dest,
        extra,
        kill_at=size // 2,
        wrapper=wrapper,
        kill_signal=signal.SIGTERM if mode == "SIGTERM" else signal.SIGKILL,
    )
    # What reached the disk of the cut attempt: the partial file, rsync's leftover temporary file, or the file itself.
    kept = max((p.stat().st_size for p in dest.rglob("*") if p.is_file()), default=0)
    second, _, code = _transfer(lab, url, dest, extra, wrapper=wrapper)
    ok = code == 0 and (dest / "big.bin").read_bytes() == (lab.source_dir / "big.bin").read_bytes()
    return {
        "mode": mode,
        "uninterrupted_bytes": whole,
        "uninterrupted_s": round(seconds, 2),
        "first_bytes": first,
        "kept_bytes": kept,
        "resumed_bytes": second,
        "resume_over_rest": round(second / max(1, whole * (size - kept) / size), 4),
        "total_over_needed": round((first + second) / whole, 4),
        "identical": ok,
    }


def rate_cap(lab, url, dest, share):
    cap = lab.link_bytes_per_s * share
    _fresh(dest)
    samples = []
    process = lab.popen(
        lab.kit,
        ["rsync", "--timeout=30", f"--bwlimit={cap / 1024:.0f}", url, f"{dest}/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while process.poll() is None:
        samples.append((time.monotonic(), lab.kit_bytes()))
        time.sleep(0.5)
    steady = samples[4:-2]  # skip the first 2 s (handshake, file list) and the tail
    rate = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
    return {
        "share": share,
        "cap_bytes_per_s": round(cap),
        "measured_bytes_per_s": round(rate),
        "measured_over_cap": round(rate / cap, 3),
    }


def sync_rate_cap(lab, percent, book_kb, port):
    """The real `tpkit sync` with sync_rate_cap_percent: wire bytes per second from 2 s after it capped itself."""
    samples = []
    with tempfile.TemporaryDirectory() as work:
        run = netlab.SyncRun(
            lab,
            Path(work),
            book_kb=book_kb,
            port=port,
            settings={"TPKIT_SYNC_RATE_CAP_PERCENT": str(percent), "TPKIT_SYNC_YIELD_KBPS": "0"},
        )
        while run.process.poll() is None:
            samples.append((time.time(), lab.kit_bytes()))
            time.sleep(0.5)
        done = run.finish()
    capped = netlab.first_after(done["lines"], "rate cap:")
    steady = [s for s in samples if capped is not None and s[0] >= capped + 2][:-2]  # not the verify/switch tail
    target = lab.link_bytes_per_s * percent / 100
    rate = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0]) if len(steady) > 4 else None
    return {
        "share": percent / 100,
        "target_bytes_per_s": round(target),
        "measured_bytes_per_s": round(rate) if rate else None,
        "measured_over_target": round(rate / target, 3) if rate else None,
        "cap_line": next((line for _, line in done["lines"] if "rate cap:" in line), None),
        "returncode": done["returncode"],
        "identical": done["installed_sha256"] == done["published_sha256"],
    }


def yield_latency(lab, trials):
    """The real `tpkit sync` from the mirror namespace while people start browsing (tests/netlab.py)."""
    results = []
    for trial in range(trials):
        with tempfile.TemporaryDirectory() as work:
            run = netlab.sync_while_people_browse(lab, Path(work), book_kb=5000, port=PORT + 1 + trial)
        decided, stopped = netlab.first_after(run["lines"], "stopping"), netlab.first_after(run["lines"], "stopped")
        resumed = netlab.first_after(run["lines"], "resuming")
        results.append(
            {
                "decided_after_s": round(decided - run["people_start"], 2) if decided else None,
                "stopped_after_s": round(stopped - run["people_start"], 2) if stopped else None,
                "resumed_after_people_stop_s": round(resumed - run["people_end"], 2) if resumed else None,
                "returncode": run["returncode"],
                "identical": run["installed_sha256"] == run["published_sha256"],
            }
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate-mbit", type=float, default=5.0)
    parser.add_argument("--size-mb", type=float, default=8.0)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--parts", default="resume,cap,yield", help="which measures, comma-separated")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    problem = netlab.why_unavailable()
    if problem:
        print(f"cannot run: {problem}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, netlab.NetLab("tpkb", args.rate_mbit) as lab:
        source, dest = Path(tmp) / "mirror", Path(tmp) / "kit"
        source.mkdir()
        dest.mkdir()
        size = int(args.size_mb * 1024 * 1024)
        (source / "big.bin").write_bytes(os.urandom(size))
        lab.source_dir = source
        url = lab.rsync_daemon(source, PORT) + "/big.bin"
        parts = args.parts.split(",")
        results = {"rate_mbit": args.rate_mbit, "size_bytes": size}
        if "resume" in parts:
            results["resume"] = [
                resume_overhead(lab, url, dest, size, mode) for mode in ("SIGTERM", "SIGKILL", "tpkit-rsync SIGKILL")
            ]
        if "cap" in parts:
            results["cap"] = [rate_cap(lab, url, dest, share) for share in (0.5, 0.25)]
            results["sync_cap"] = [sync_rate_cap(lab, 50, book_kb=14000, port=PORT + 40)]
        if "yield" in parts:
            results["yield"] = yield_latency(lab, args.trials)
    print(json.dumps(results, indent=2))
    waits = [r["stopped_after_s"] for r in results.get("yield", []) if r["stopped_after_s"] is not None]
    if waits:
        print(f"\nsync stopped after people started: median {statistics.median(waits)} s, max {max(waits)} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
