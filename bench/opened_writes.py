"""What a class's reading writes to the SD card (issue 19, part 3): "opened" learning records for articles, one
transaction each (`records.record_open`, as before) against the batch the library now uses
(`records.record_open_later` and `services/learning/open_batch.py`), on a real SQLite file in WAL mode with
`synchronous=FULL`, as on a kit.

    .venv/bin/python bench/opened_writes.py [--pupils 40] [--opens 2000] [--batch 30] [--before 4000] [--dir /var/tmp]

`--batch`: how many opens a worker's batch holds when its 20 s are up (a class of 40 reading on the image: ~30;
at most open_batch.BATCH_MOST); `--before`: opens already stored, so the indexes have the pages a class's week gives.

Bytes are this process's `write_bytes` from /proc/self/io (what it sent towards the disk: the WAL, the database at
each checkpoint); the folder must be on a disk, not tmpfs. docs/image.md, "A 1 GB Pi under a class, and the SD card".
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.learning import records
from appliance.services.people import access as people, class_roster
from appliance.services.people.access import CONSOLE

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone.utc)


def write_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise SystemExit("no write_bytes in /proc/self/io (a kernel without task I/O accounting)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=40)
    parser.add_argument("--opens", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=30, help="opens written together (at most 200)")
    parser.add_argument("--before", type=int, default=4000, help="opens already stored when measuring")
    parser.add_argument("--dir", default="/var/tmp", help="where the database is made (a disk, not tmpfs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        kit = open_kit(load_settings(environ={}, overrides={"data_dir": f"{tmp}/data", "content_dir": f"{tmp}/c"}))
        people.create_teacher(kit.people, CONSOLE, "T", "t.bench", "password-123")
        roster = "name\n" + "".join(f"Pupil {n:02d}\n" for n in range(args.pupils))
        result = class_roster.import_file(kit.people, CONSOLE, roster.encode(), "a.csv", "A", "t.bench")
        pupils = [kit.people.person(p["id"]) for p in kit.people.students_of(result.class_id)]
        for n in range(args.before):
            records.record_open_later(kit, pupils[n % len(pupils)], "article", f"bench_book/before{n}", "x", now=START)
        kit.open_batch.flush()
        for label, record, flush in (
            ("one transaction each", records.record_open, lambda: None),
            (f"batched by {args.batch}", records.record_open_later, kit.open_batch.flush),
        ):
            before, t0 = write_bytes(), time.perf_counter()
            for n in range(args.opens):
                pupil = pupils[(n * 7) % len(pupils)]
                record(kit, pupil, "article", f"bench_book/{label[:5]}{n}", "x", now=START)
                if n % args.batch == args.batch - 1:
                    flush()
            flush()
            took = time.perf_counter() - t0
            written = write_bytes() - before
            print(
                f"{label:22} {args.opens} opens: {written / 2**20:7.2f} MiB written, {written / args.opens / 1024:6.1f} KiB"
                f" an open, {took / args.opens * 1e6:7.0f} µs an open"
            )
        kit.close()


if __name__ == "__main__":
    main()
