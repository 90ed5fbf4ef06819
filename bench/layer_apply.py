"""Applying a patch to a ~1 GB book: as a layer (issue 21, "apply ∝ edit") against today's rebuild, same run.

v1 is bench/delta.py's wiki with large incompressible images (make_zim --image-kb: photos), v2 the same wiki with
2 % of its articles edited and 1 % added; both cached in the work folder. The county channel publishes v1, then v2
with `--previous` (a patch). For each way (layer: TPKIT_SYNC_LAYER_MIN_BYTES=0; rebuild: a huge value), a fresh kit
syncs v1 from a loopback rsync daemon, a real `tpkit serve` starts on it, and then a real `tpkit sync` fetches v2 by
patch while the bench watches:
  - seconds from the patch staged (the sync's "verifying … patch" line) to an edited article served with its edit
    by `tpkit serve` (polled every 0.1 s; the library rescans every library_scan_interval_s = 1 s),
  - the sync process's peak RSS (VmHWM sampled; above a sync with nothing to do) and the web server's peak extra RSS
  - the most disk the kit's folders held above what they held before the sync (sampled every 0.1 s, hard links
    counted once), and the patch's bytes.

Usage (from the repository root; niced, CPU is shared):
  nice .venv/bin/python bench/layer_apply.py --work /tmp/tpkit-layer [--articles 20000] [--images 4000] [--image-kb 220]
Writes WORK/layer_apply.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import delta  # noqa: E402  (bench/ is not a package)
import make_zim  # noqa: E402

from appliance.content.zimfile import ZimFile  # noqa: E402
from appliance.services.sync import channel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "primary-en"
SAMPLE_S = 0.1
WAYS = {"layer": "0", "rebuild": str(1 << 50)}


def cached_version(work: Path, args: argparse.Namespace, version: int) -> Path:
    out = work / f"v{version}-{args.articles}-{args.images}x{args.image_kb}" / f"{delta.BOOK}.zim"
    if not out.exists():
        start = time.monotonic()
        delta.build_version(out, args.articles, args.images, args.seed, version, image_kb=args.image_kb)
        print(f"[i] wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - start:.0f} s", flush=True)
    return out


def edited_article(args: argparse.Namespace, v2: Path) -> tuple[str, str]:
    """An article v2 edited, and a piece of its new paragraph (delta.build_version's second generator picks them)."""
    rng = random.Random(args.seed)
    vocab = make_zim.make_vocabulary(rng)
    titles = make_zim.make_titles(rng, vocab, args.articles)
    title = random.Random(args.seed + 1).sample(titles, int(args.articles * delta.EDIT_SHARE))[0]
    path = make_zim.title_to_path(title)
    html = bytes(ZimFile(v2).lookup(path).data).decode()  # type: ignore[union-attr]
    paragraph = html.split("</h1>\n", 1)[1].split("</p>", 1)[0]
    return path, paragraph.removeprefix("<p>")[:60]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def start_daemon(work: Path, root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    conf = work / "rsyncd.conf"
    conf.write_text(f"use chroot = no\npid file = {work}/rsyncd.pid\n[tpkit]\npath = {root}\nread only = yes\n")
    daemon = subprocess.Popen(
        ["rsync", "--daemon", "--no-detach", f"--config={conf}", f"--port={port}", "--address=127.0.0.1"]
    )
    wait_for_port(port)
    return daemon, f"rsync://127.0.0.1:{port}/tpkit"


def publish(work: Path, book: Path, previous: Path | None, key: Path) -> dict:
    folder = work / "mirror" / CHANNEL
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.zim"):
        old.unlink()
    os.link(book, folder / book.name)
    start = time.monotonic()
    channel.publish(folder, key, CHANNEL, previous_dir=previous)
    print(f"[i] published {book.parent.name} in {time.monotonic() - start:.0f} s", flush=True)
    index = json.loads((folder / "index.json").read_text())
    return {p.get("kind", "full"): p for p in index["packages"]}


def kit_environment(kit: Path, source: str, pub: Path, min_bytes: str) -> dict[str, str]:
    return {
        **os.environ,
        "TPKIT_DATA_DIR": str(kit / "data"),
        "TPKIT_CONTENT_DIR": str(kit / "data" / "content"),
        "TPKIT_SYNC_SOURCE": source,
        "TPKIT_SYNC_CHANNELS": CHANNEL,
        "TPKIT_TRUSTED_CHANNEL_KEYS": str(pub),
        "TPKIT_DISK_RESERVE_MB": "1",
        "TPKIT_MDNS_ENABLED": "false",
        "TPKIT_LIBRARY_SCAN_INTERVAL_S": "1",
        "TPKIT_SYNC_LAYER_MIN_BYTES": min_bytes,
        "TPKIT_LOG_LEVEL": "warning",
    }


def disk_bytes(folder: Path) -> int:
    """Bytes the files under `folder` take on disk, each inode once (the previous version is a hard link)."""
    seen, total = set(), 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(parent, name))
            except FileNotFoundError:
                continue  # renamed or removed while we walk
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def vm_rss_kb(pid: int) -> int:
    """VmRSS of a process and all its descendants (the web server's workers), in KiB."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(vm_rss_kb(int(child)) for child in children)


def vm_hwm_kb(pid: int) -> int:
    """The peak RSS of a running process since its exec (VmHWM). Not wait4's ru_maxrss: Linux starts a child's from
    its parent's peak, and this bench's own process reads gigabytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(command: list[str], env: dict[str, str]) -> float:
    """Run a command to its end; its peak RSS in MB (VmHWM, sampled every SAMPLE_S until it ends)."""
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, vm_hwm_kb(process.pid))
        time.sleep(SAMPLE_S / 2)
    if process.returncode != 0:
        raise SystemExit(f"{command} failed")
    return round(peak / 1024, 1)


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode(errors="replace")
    except OSError:
        return ""


def one_way(work: Path, way: str, source: str, pub: Path, article: tuple[str, str], v2_pub) -> dict:
    kit = work / f"kit-{way}"
    shutil.rmtree(kit, ignore_errors=True)
    env = kit_environment(kit, source, pub, WAYS[way])
    tpkit = [sys.executable, "-m", "appliance"]
    v2_pub(False)  # the channel at v1
    subprocess.run([*tpkit, "sync"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    idle_sync_mb = peak_rss_mb([*tpkit, "sync"], env)  # a sync with nothing to do: what "extra" is counted from
    port = free_port()
    web = subprocess.Popen(
        [*tpkit, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/content/{delta.BOOK}/{article[0]}"
        deadline = time.monotonic() + 900
        while not fetch(url):  # the library serves a new book once its checksum passes: wait for v1
            if time.monotonic() > deadline:
                raise SystemExit("tpkit serve never served v1")
            time.sleep(1)
        assert article[1] not in fetch(url), "v1 already shows the edit"
        web_before_kb = vm_rss_kb(web.pid)
        v2_pub(True)  # the channel at v2, with the patch
        disk_before = disk_bytes(kit)
        sync = subprocess.Popen([*tpkit, "sync"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1)
        marks: dict[str, float] = {}
        peaks = {"disk": disk_before, "web_kb": web_before_kb, "sync_kb": 0}
        done = threading.Event()

        def read_progress() -> None:
            assert sync.stdout is not None
            for line in sync.stdout:
                if "verifying" in line and "patch" in line and "staged" not in marks:
                    marks["staged"] = time.monotonic()

        def watch() -> None:
            while not done.is_set():
                peaks["disk"] = max(peaks["disk"], disk_bytes(kit))
                peaks["web_kb"] = max(peaks["web_kb"], vm_rss_kb(web.pid))
                peaks["sync_kb"] = max(peaks["sync_kb"], vm_hwm_kb(sync.pid))
                if "staged" in marks and "served" not in marks and article[1] in fetch(url):
                    marks["served"] = time.monotonic()
                time.sleep(SAMPLE_S)

        reader, watcher = threading.Thread(target=read_progress), threading.Thread(target=watch)
        reader.start()
        watcher.start()
        reader.join()  # the sync's output ends when it does
        sync.wait()
        status = sync.returncode
        deadline = time.monotonic() + 120
        while "served" not in marks and time.monotonic() < deadline:
            time.sleep(SAMPLE_S)
        done.set()
        watcher.join()
        if status != 0:
            raise SystemExit(f"tpkit sync ({way}) failed with {status}")
        return {
            "staged_to_served_s": round(marks["served"] - marks["staged"], 1) if "served" in marks else None,
            "sync_peak_rss_mb": round(peaks["sync_kb"] / 1024, 1),
            "sync_idle_rss_mb": idle_sync_mb,
            "sync_extra_rss_mb": round(peaks["sync_kb"] / 1024 - idle_sync_mb, 1),
            "web_extra_rss_mb": round((peaks["web_kb"] - web_before_kb) / 1024, 1),
            "disk_extra_mb": round((peaks["disk"] - disk_before) / 1e6, 1),
            "disk_after_mb": round((disk_bytes(kit) - disk_before) / 1e6, 1),
        }
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)


def measure(args: argparse.Namespace) -> dict:
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    v1, v2 = cached_version(work, args, 1), cached_version(work, args, 2)
    keys = work / "keys"
    keys.mkdir(exist_ok=True)
    if not (keys / "county.key").exists():
        channel.keygen(keys / "county")
    key, pub = keys / "county.key", keys / "county.pub"
    previous = work / "published-v1"
    previous.mkdir(exist_ok=True)
    if not (previous / v1.name).exists():
        os.link(v1, previous / v1.name)
    mirror = work / "mirror"
    shutil.rmtree(mirror, ignore_errors=True)
    states = {}
    states[False] = publish(work, v1, None, key)
    shutil.copytree(mirror, work / "mirror-v1", copy_function=os.link)
    states[True] = publish(work, v2, previous, key)
    shutil.copytree(mirror, work / "mirror-v2", copy_function=os.link)

    def v2_pub(at_v2: bool) -> None:
        shutil.rmtree(mirror)
        shutil.copytree(work / ("mirror-v2" if at_v2 else "mirror-v1"), mirror, copy_function=os.link)

    daemon, source = start_daemon(work, mirror)
    try:
        article = edited_article(args, v2)
        results = {
            "v1_bytes": v1.stat().st_size,
            "v2_bytes": v2.stat().st_size,
            "patch_bytes": states[True]["patch"]["size_bytes"],
            "article": article[0],
        }
        for way in args.ways.split(","):
            results[way] = one_way(work, way, source, pub, article, v2_pub)
            print(f"[i] {way}: {results[way]}", flush=True)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        for folder in ("mirror-v1", "mirror-v2"):
            shutil.rmtree(work / folder, ignore_errors=True)
    return results


def table(r: dict) -> str:
    r = {**r, **{way: r.get(way) or dict.fromkeys(r.get("layer") or r["rebuild"], "–") for way in WAYS}}
    rows = [
        "| | layer | rebuild (today) |",
        "|---|---:|---:|",
        f"| staged patch → edited article served | {r['layer']['staged_to_served_s']} s | "
        f"{r['rebuild']['staged_to_served_s']} s |",
        f"| `tpkit sync` peak RSS | {r['layer']['sync_peak_rss_mb']} MB | {r['rebuild']['sync_peak_rss_mb']} MB |",
        f"| … above a sync with nothing to do ({r['layer']['sync_idle_rss_mb']} MB) | {r['layer']['sync_extra_rss_mb']} MB | "
        f"{r['rebuild']['sync_extra_rss_mb']} MB |",
        f"| web worker extra RSS | {r['layer']['web_extra_rss_mb']} MB | {r['rebuild']['web_extra_rss_mb']} MB |",
        f"| most extra disk during the sync | {r['layer']['disk_extra_mb']} MB | {r['rebuild']['disk_extra_mb']} MB |",
        f"| extra disk after it | {r['layer']['disk_after_mb']} MB | {r['rebuild']['disk_after_mb']} MB |",
    ]
    head = (
        f"v1 {r['v1_bytes'] / 1e6:.1f} MB, v2 {r['v2_bytes'] / 1e6:.1f} MB, patch {r['patch_bytes'] / 1e6:.2f} MB "
        f"({r['patch_bytes'] / r['v2_bytes']:.2%} of v2); edited article `{r['article']}`"
    )
    return head + "\n\n" + "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="cache and scratch folder (keeps v1/v2 between runs)")
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--image-kb", type=int, default=220, help="image size (incompressible), for a ~1 GB book")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--ways", default="layer,rebuild", help="which ways to measure, in order")
    args = parser.parse_args(argv)
    results = measure(args)
    (args.work / "layer_apply.json").write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
