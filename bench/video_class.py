"""A class of phones watching one 480p lesson video at once (issue 17, docs/performance.md "A class watching one
video"): what it costs the kit (CPU, RssAnon) and whether every phone keeps up, side by side with kiwix-serve 3.7.0
serving the same book in the same run.

The book is made here: a 60 s 720p test pattern with a tone (ffmpeg), packed with `tpkit pack --video 480p`. Each
phone is a thread that plays the video as a browser's media element does: one open-ended Range request, read as fast
as its buffer allows (BUFFER_S seconds ahead of the play head), then at the video's own rate. A phone *stalls* when
the bytes it holds fall behind the play head (after STARTUP_S to start). Then a *burst*: every phone downloads the
whole file as fast as it can (a class pressing play after the teacher's "go"), for the throughput the kit can give.

Usage: .venv/bin/python bench/video_class.py [--phones 30] [--watch 30] [--work /tmp/tpkit-video-class]
       [--only tpkit|kiwix]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import re
import shlex
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

from servers import CLOCK_TICKS, HOST, ManagedServer, process_tree  # noqa: E402

from appliance.services.packing.pack import pack  # noqa: E402
from tests.kiwix_reference import INSTALL_FIX, kiwix_serve_3_7  # noqa: E402
from tests.services.packing.pack_folders import make_video  # noqa: E402

BUFFER_S = 30  # how far ahead a phone's player reads before it slows to the video's rate (Chrome buffers ~30 s)
STARTUP_S = 2.0  # the first second of video must be there by then
READ_BYTES = 64 * 1024
TPKIT = "{python} -m appliance serve --host 127.0.0.1 --port {port} --content-dir {content_dir} --data-dir {data_dir}"
MANIFEST = """name = "video-class"
title = "一节课的录像"
language = "zho"
licence = "CC-BY-4.0"
creator = "bench"
edition = "rjb"
grade = 3
volume = 1
subject = "math"

[[item]]
file = "lesson.mp4"
title = "名师课堂"
unit = 1
"""


def make_book(work: Path, seconds: int) -> Path:
    folder = work / "folder"
    make_video(folder / "lesson.mp4", seconds=seconds, size="1280x720")
    (folder / "pack.toml").write_text(MANIFEST, encoding="utf-8")
    content = work / "content"
    content.mkdir(parents=True, exist_ok=True)
    return pack(folder, content / "lesson.zim", video="480p", today=datetime.date.today()).out


def video_path(port: int) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", "/content/lesson/index.html")
    index = conn.getresponse().read().decode()
    item = re.search(r'href="(items/[^"]+)"', index)[1]  # type: ignore[index]
    conn.request("GET", f"/content/lesson/{item}")
    page = conn.getresponse().read().decode()
    return "/content/lesson/" + re.search(r'<source src="([^"]+)"', page)[1].removeprefix("../")  # type: ignore[index]


class Phone(threading.Thread):
    """One phone playing the video for `watch_s` seconds (paced), or downloading it whole (burst)."""

    def __init__(self, port: int, path: str, size: int, seconds: float, watch_s: float, burst: bool) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.size, self.burst = port, path, size, burst
        self.rate = size / seconds  # bytes a second of video
        self.watch_s = watch_s
        self.received = 0
        self.first_second_s: float | None = None
        self.behind_s = 0.0  # the longest the play head waited for bytes
        self.error = ""
        self.elapsed = 0.0

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            conn.request("GET", self.path, headers={"Range": "bytes=0-"})
            answer = conn.getresponse()
            if answer.status not in (200, 206):
                self.error = f"HTTP {answer.status}"
                return
            started = time.monotonic()
            while self.received < self.size:
                now = time.monotonic() - started
                if not self.burst:
                    if now >= self.watch_s:
                        break
                    if self.received >= self.rate * (now + BUFFER_S):
                        time.sleep(0.05)  # the buffer is full: read at the video's rate
                        continue
                chunk = answer.read(READ_BYTES)
                if not chunk:
                    break
                self.received += len(chunk)
                now = time.monotonic() - started
                if self.first_second_s is None and self.received >= self.rate:
                    self.first_second_s = now
                if not self.burst and now > STARTUP_S:
                    play_head = (now - STARTUP_S) * self.rate
                    self.behind_s = max(self.behind_s, (play_head - self.received) / self.rate)
            self.elapsed = time.monotonic() - started
            conn.close()
        except OSError as exc:
            self.error = str(exc)


def cpu_s(root: int) -> float:
    """CPU seconds of a server's processes, with those of children that ended (a worker replaced, a helper run):
    utime, stime, cutime and cstime of each process of the tree."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(value) for value in fields[11:15])
    return total / CLOCK_TICKS


def class_run(server: ManagedServer, path: str, size: int, seconds: float, phones: int, watch_s: float, burst: bool):
    cpu_before = cpu_s(server.pid())
    server.sampler.take_window_peak()
    started = time.monotonic()
    crowd = [Phone(server.port, path, size, seconds, watch_s, burst) for _ in range(phones)]
    for phone in crowd:
        phone.start()
    for phone in crowd:
        phone.join()
    wall = time.monotonic() - started
    cpu = cpu_s(server.pid()) - cpu_before
    received = sum(p.received for p in crowd)
    firsts = sorted(p.first_second_s for p in crowd if p.first_second_s is not None)
    return {
        "phones": phones,
        "wall_s": round(wall, 2),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_percent": round(100 * cpu / wall, 1),
        "rss_anon_peak_mb": round(server.sampler.take_window_peak() / 1024, 1),
        "throughput_mbit_s": round(received * 8 / wall / 1e6, 1),
        "errors": [p.error for p in crowd if p.error],
        "stalled_phones": sum(p.behind_s > 0 for p in crowd) if not burst else None,
        "worst_wait_s": round(max(p.behind_s for p in crowd), 2) if not burst else None,
        "first_second_p95_s": round(firsts[int(0.95 * (len(firsts) - 1))], 3) if firsts else None,
        "slowest_whole_s": round(max(p.elapsed for p in crowd), 2) if burst else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=60, help="the video's length")
    parser.add_argument("--watch", type=float, default=30.0, help="seconds each phone plays in the paced run")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tpkit-video-class"))
    parser.add_argument("--only", choices=("tpkit", "kiwix"), default=None)
    parser.add_argument("--out-json", type=Path, default=ROOT / "bench" / "results" / "video-class.json")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    book = make_book(args.work, args.seconds)
    templates = {"tpkit": TPKIT}
    prefix = kiwix_serve_3_7()
    if args.only != "tpkit":
        if prefix is None:
            sys.exit(f"kiwix-serve 3.7.0 is not unpacked in .cache/kiwix-3.7. {INSTALL_FIX}")
        templates["kiwix-serve 3.7.0"] = f"{shlex.join(prefix)} -i 127.0.0.1 -p {{port}} {{zim}}"
    if args.only == "kiwix":
        del templates["tpkit"]
    fields = {
        "python": sys.executable,
        "content_dir": str(book.parent),
        "data_dir": str(args.work / "data"),
        "zim": str(book),
    }
    results: dict = {"book_mb": round(book.stat().st_size / 1e6, 1), "video_seconds": args.seconds, "servers": {}}
    for name, template in templates.items():
        (args.work / "logs").mkdir(parents=True, exist_ok=True)
        server = ManagedServer(name.split()[0], template, fields, args.work / "logs")
        server.start("/content/lesson/index.html")
        server.sampler.start()
        try:
            path = video_path(server.port)
            conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
            conn.request("HEAD", path)
            size = int(conn.getresponse().getheader("content-length"))
            results["video_mb"] = round(size / 1e6, 2)
            results["video_kbit_s"] = round(size * 8 / args.seconds / 1000)
            paced = class_run(server, path, size, args.seconds, args.phones, args.watch, burst=False)
            burst = class_run(server, path, size, args.seconds, args.phones, args.watch, burst=True)
            results["servers"][name] = {"paced": paced, "burst": burst}
            print(f"{name}: paced {json.dumps(paced)}\n{' ' * len(name)}  burst {json.dumps(burst)}", flush=True)
        finally:
            server.sampler.stop()
            server.stop()
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
