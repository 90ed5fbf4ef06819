"""Publishing a patch: `tpkit channel publish --previous` against openZIM's `zimdiff`, same pair, same run (issue 21, 5).

v1 and v2 are bench/delta.py's generated wiki (v2: 2 % of the articles edited, 1 % added, a new Date), cached in the
work folder like delta.py caches them. Each round runs, one after the other, each as its own process measured by
wait4 (wall time, user + system CPU, peak RSS):
  - `python -m appliance channel publish CHANNEL --previous PREV` with v2 in the channel and v1 in PREV (hard
    links), from a fresh channel (no index, no patches): it hashes and reads v2, reads v1, writes the patch, signs;
  - zimdiff 3.5.0 (zim-tools of Debian 13, unpacked by `scripts/kiwix-reference.sh --zimdiff`) V1 V2 OUT.
The order alternates between rounds so neither always runs with a cold page cache.

Usage (from the repository root):
  .venv/bin/python bench/publish.py --work /tmp/tpkit-publish [--articles 5000] [--images 500] [--rounds 3]
Writes WORK/publish-<articles>.json and prints a Markdown table (medians over the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import delta  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parent.parent


def _measured(command: list[str], **options) -> dict:
    """Run `command` as its own process: wall seconds, CPU seconds (user + system) and peak RSS (MB) of it."""
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **options)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[-4:]} failed ({os.waitstatus_to_exitcode(status)}):\n{errors[-2000:]}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def zimdiff_command() -> list[str]:
    done = subprocess.run([str(ROOT / "scripts" / "kiwix-reference.sh"), "--zimdiff"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout.splitlines()


def tpkit_publish(work: Path, v1: Path, v2: Path, key: Path, source: Path | None) -> dict:
    channel_dir, previous = work / "channel", work / "previous"
    for folder, book in ((channel_dir, v2), (previous, v1)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.link(book, folder / book.name)
    command = [sys.executable, "-m", "appliance", "channel", "publish", str(channel_dir), "--key", str(key)]
    # --tpkit-source: another checkout's code (e.g. `git archive main appliance | tar -x -C DIR`), first on the path.
    env = {**os.environ, "PYTHONPATH": str(source)} if source else None
    measured = _measured([*command, "--name", "bench", "--previous", str(previous)], cwd=source or ROOT, env=env)
    [patch] = (channel_dir / "patches").rglob("*.zimpatch")
    return {**measured, "bytes": patch.stat().st_size}


def zimdiff(work: Path, v1: Path, v2: Path, command: list[str]) -> dict:
    out = work / "zimdiff.zim"
    out.unlink(missing_ok=True)
    return {**_measured([*command, str(v1), str(v2), str(out)]), "bytes": out.stat().st_size}


def make_versions(work: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """v1 and v2, written (when not cached) by a process of their own: writing a book grows a process by hundreds
    of MB, and Linux starts a child's ru_maxrss from its parent's peak (the memory map's high-water mark is copied
    at fork and kept at exec), which would be reported as every measured command's peak."""
    code = (
        "import argparse, sys; sys.path.insert(0, sys.argv[1]); import delta; from pathlib import Path; "
        "a = argparse.Namespace(articles=int(sys.argv[3]), images=int(sys.argv[4]), seed=int(sys.argv[5])); "
        "[delta.cached_version(Path(sys.argv[2]), a, n) for n in (1, 2)]"
    )
    folder = Path(__file__).resolve().parent
    subprocess.run(
        [sys.executable, "-c", code, str(folder), str(work), str(args.articles), str(args.images), str(args.seed)],
        cwd=ROOT,
        check=True,
    )
    return work / f"v1-{args.articles}" / f"{delta.BOOK}.zim", work / f"v2-{args.articles}" / f"{delta.BOOK}.zim"


def measure(args: argparse.Namespace) -> dict:
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    v1, v2 = make_versions(work, args)
    key = work / "bench-key"
    if not Path(f"{key}.key").exists():
        subprocess.run(
            [sys.executable, "-m", "appliance", "channel", "keygen", "--out", str(key)], cwd=ROOT, check=True
        )
    command = zimdiff_command()
    rounds: list[dict] = []
    for number in range(args.rounds):
        runs = [
            ("tpkit", lambda: tpkit_publish(work, v1, v2, Path(f"{key}.key"), args.tpkit_source)),
            ("zimdiff", lambda: zimdiff(work, v1, v2, command)),
        ]
        result = {}
        for name, run in runs if number % 2 == 0 else runs[::-1]:
            result[name] = run()
            print(f"[i] round {number + 1}: {name} {result[name]}", flush=True)
        rounds.append(result)
    median = {
        name: {field: statistics.median(r[name][field] for r in rounds) for field in rounds[0][name]}
        for name in ("tpkit", "zimdiff")
    }
    return {
        "articles": args.articles,
        "images": args.images,
        "v1_bytes": v1.stat().st_size,
        "v2_bytes": v2.stat().st_size,
        "tpkit_source": str(args.tpkit_source or ROOT),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "rounds": rounds,
        "median": median,
    }


def table(r: dict) -> str:
    lines = [
        f"v1 {r['v1_bytes'] / 1e6:.1f} MB, v2 {r['v2_bytes'] / 1e6:.1f} MB ({r['articles']} articles, "
        f"{r['images']} images); medians of {len(r['rounds'])} round(s)",
        "| publisher | patch bytes | wall s | CPU s | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("tpkit", "`tpkit channel publish --previous`"), ("zimdiff", "`zimdiff` 3.5.0")):
        m = r["median"][name]
        lines.append(f"| {label} | {m['bytes']:,.0f} | {m['wall_s']} | {m['cpu_s']} | {m['peak_rss_mb']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="cache and scratch folder (keeps v1/v2 between runs)")
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--tpkit-source", type=Path, help="run tpkit from this folder holding appliance/ (default: this one)"
    )
    args = parser.parse_args(argv)
    results = measure(args)
    label = f"-{args.tpkit_source.name}" if args.tpkit_source else ""
    (args.work / f"publish-{args.articles}{label}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
