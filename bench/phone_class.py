"""The phone keeps the lesson (issue 18 part B), measured against a real `tpkit serve` on loopback:

    .venv/bin/python bench/phone_class.py [--students 30] [--json bench/results/phone-class-1.json]

Setup (not timed), as bench/lesson.py makes it: the demo library, a teacher, a class of N children with PINs, and
over HTTP the homework lesson with two articles and a 10-question quiz. Each child signs in and taps 带回家
(POST /me/take-home), which hands the page its pass.

Timed: (1) the class pulls its bundles at once, as the service worker does (static/phone_store.js `keep`):
/me/offline.json with the pass, then every address in it with the session and `X-Tpkit-Keep: 1`; bytes on the
wire (what the Wi-Fi carries), bytes kept, and seconds. (2) The next morning the class comes back and all N phones
deliver their queued hand-in at once (POST /me/deliveries/handin, text and a ~300 KB JPEG, the pass), then deliver
it again (a lost answer): seconds, latency, and the database checked for exactly N hand-ins. (3) The service worker's
own size: /sw.js and the store it imports, plain and gzipped.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.lesson import csrf, percentile, phone, photo, prepare, teacher_sets_up  # noqa: E402
from bench.servers import ManagedServer  # noqa: E402

STATIC = ROOT / "appliance" / "web" / "static"


async def sign_in_and_take_home(http: httpx.AsyncClient, class_id: int, who: dict) -> str:
    pin_page = await http.get(f"/learn/{class_id}/{who['id']}")
    signed = await http.post(
        f"/learn/{class_id}/{who['id']}", data={"csrf": csrf(pin_page), "pin": who["pin"], "key": "go"}
    )
    assert signed.status_code == 303, signed.text
    taken = await http.post("/me/take-home", data={"csrf": csrf(await http.get("/me"))})
    return re.search(r'data-token="([^"]+)"', taken.text)[1]  # type: ignore[index]


async def pull(http: httpx.AsyncClient, token: str) -> dict:
    """One phone keeping its bundle: the list, then each address in turn, as the service worker does."""
    start, wire = time.perf_counter(), 0
    listed = await http.get("/me/offline.json", headers={"Authorization": f"Bearer {token}"})
    wire += listed.num_bytes_downloaded
    bundle, kept = listed.json(), 0
    for entry in bundle["entries"]:
        response = await http.get(entry["url"], headers={"X-Tpkit-Keep": "1", "Accept-Encoding": "gzip"})
        wire += response.num_bytes_downloaded
        if response.status_code == 200:
            kept += len(response.content)
    return {
        "listed_bytes": bundle["total_bytes"],
        "entries": len(bundle["entries"]),
        "wire": wire,
        "kept": kept,
        "seconds": time.perf_counter() - start,
    }


async def deliver(http: httpx.AsyncClient, token: str, who: dict, lesson_id: int, item: str, picture: bytes) -> float:
    start = time.perf_counter()
    data = {
        "student": str(who["id"]),
        "client_id": item,
        "made_at": "2026-01-01T18:00:00Z",
        "lesson": str(lesson_id),
        "body": f"Observed at home by {who['number']}",
    }
    answer = await http.post(
        "/me/deliveries/handin",
        data=data,
        files=[("photos", ("home.jpg", picture, "image/jpeg"))],
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - start


async def measure(base_url: str, class_id: int, roster: list[dict], lesson_id: int) -> dict:
    phones = [phone(base_url) for _ in roster]
    try:
        tokens = await asyncio.gather(*(sign_in_and_take_home(h, class_id, w) for h, w in zip(phones, roster)))
        start = time.perf_counter()
        pulls = await asyncio.gather(*(pull(h, t) for h, t in zip(phones, tokens)))
        pull_s = time.perf_counter() - start
        pictures = [photo(w["index"]) for w in roster]
        items = [str(uuid.uuid4()) for _ in roster]
        rounds = []
        for _ in range(2):  # the morning's delivery, then the same again (an answer lost on the way)
            start = time.perf_counter()
            latencies = await asyncio.gather(
                *(deliver(h, t, w, lesson_id, i, p) for h, t, w, i, p in zip(phones, tokens, roster, items, pictures))
            )
            rounds.append(
                {
                    "seconds": round(time.perf_counter() - start, 2),
                    "p50_ms": round(percentile(latencies, 0.5) * 1000),
                    "p95_ms": round(percentile(latencies, 0.95) * 1000),
                }
            )
        return {
            "pulls": pulls,
            "pull_seconds": round(pull_s, 2),
            "photo_bytes": sum(map(len, pictures)),
            "deliveries": rounds,
        }
    finally:
        for http in phones:
            await http.aclose()


def worker_size() -> dict:
    files = {name: (STATIC / name).read_bytes() for name in ("sw.js", "phone_store.js", "phone.js")}
    return {name: {"bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9))} for name, data in files.items()}


def run(students: int, work_dir: Path | None, python: str) -> dict:
    work = Path(work_dir or tempfile.mkdtemp(prefix="tpkit-phone-"))
    data_dir, content_dir = work / "data", work / "content"
    class_id, roster = prepare(data_dir, content_dir, students)
    command = f"{python} -m appliance serve --host 127.0.0.1 --port {{port}} --data-dir {data_dir} --content-dir {content_dir}"
    server = ManagedServer("tpkit", command, {}, work)
    os.environ["TPKIT_LOG_LEVEL"] = "warning"
    server.start("/learn")
    try:
        base_url = f"http://127.0.0.1:{server.port}"
        setup = teacher_sets_up(base_url, class_id)
        found = asyncio.run(measure(base_url, class_id, roster, setup["lesson_id"]))
    finally:
        server.stop()
    with sqlite3.connect(f"file:{data_dir / 'tpkit.sqlite3'}?mode=ro", uri=True) as db:
        stored = db.execute(
            "SELECT count(*), count(DISTINCT client_id) FROM handins WHERE client_id IS NOT NULL"
        ).fetchone()
    pulls = found.pop("pulls")
    return {
        "students": students,
        "bundle_entries": pulls[0]["entries"],
        "bundle_listed_bytes": pulls[0]["listed_bytes"],
        "bundle_kept_bytes_per_phone": round(sum(p["kept"] for p in pulls) / len(pulls)),
        "class_wire_bytes": sum(p["wire"] for p in pulls),
        "class_kept_bytes": sum(p["kept"] for p in pulls),
        "slowest_phone_s": round(max(p["seconds"] for p in pulls), 2),
        **found,
        "handins_stored": stored[0],
        "distinct_client_ids": stored[1],
        "service_worker": worker_size(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    result = run(args.students, args.work_dir, args.python)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
