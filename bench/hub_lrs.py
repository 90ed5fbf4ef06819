"""LRS forwarding with a big queue: how fast `tpkit hub forward` (`lrs_forwarding.forward`) drains the hub's
learning-records outbox when many statements wait (issue 20: 308 statements/s with 500,000 waiting).

    .venv/bin/python bench/hub_lrs.py --backend sqlite
    .venv/bin/python bench/hub_lrs.py --backend postgresql --database-url postgresql://postgres@/lrsbench?host=/tmp/pg
    .venv/bin/python bench/hub_lrs.py --root /tmp/tpkit-main --stop-after 50000   # another checkout's code

Setup (not timed): `--statements` xAPI statements as a kit makes them (~750 bytes each, random ids, queued one
second apart) written straight into `lrs_outbox` of a new hub database, all waiting. Timed: one call of
`lrs_forwarding.forward` (batches of `--batch`) against a loopback receiver in its own process (a threaded HTTP
server answering 200 to each POST of a batch, reading and discarding it: it is not the bottleneck, see its CPU
seconds in the output). Prints statements/s for the first `--first` statements and overall. `--stop-after N` makes
the receiver answer 503 once it has taken N statements, so forward stops there (its back-off path): for code too
slow to drain the whole queue in reasonable time. `--prune` then times `tpkit hub prune`'s deletion of the
forwarded statements (`lrs_forwarding.prune_forwarded`, 500 per transaction).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _receiver(ready, done, stop_after: int) -> None:
    """The loopback LRS: answers 200 to POST /…/statements until `stop_after` statements (0: never), then 503; sends
    back the time each batch was answered and its size, and the CPU seconds it used."""
    stamps: list[tuple[float, int]] = []
    taken = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as an LRS behind nginx
        disable_nagle_algorithm = True  # the reply's head and body are two writes: no 40 ms delayed-ACK wait

        def do_POST(self):  # noqa: N802 - the http.server interface
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if stop_after and taken[0] >= stop_after:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            count = body.count(b',"version":"1.0.3"')  # one per statement (the bench's statements have it once)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")
            taken[0] += count
            stamps.append((time.perf_counter(), count))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ready.send(server.server_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    done.recv()  # the bench is finished
    server.shutdown()
    done.send((stamps, time.process_time()))


def _fill(db, statements: int, now: float) -> None:
    """`statements` waiting statements, queued one second apart up to `now`, in multi-row INSERTs."""
    from appliance.services.learning import xapi

    home = "https://tpkit.invalid/kits/bench-kit"
    template = json.dumps(
        xapi.statement(
            home_page=home,
            learner=str(uuid.uuid4()),
            verb="scored",
            activity=xapi.activity_id(home, "quiz", "7"),
            activity_kind="quiz",
            activity_name="Fractions, lesson 7",
            when=dt.datetime.fromtimestamp(now, dt.timezone.utc),
            clock_synchronised=True,
            kit_id="bench-kit",
            result=xapi.score_result(7, 10),
            statement_id="00000000-0000-0000-0000-000000000000",
        ),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    rows_per_insert = 500
    with db.transaction() as tx:
        for start in range(0, statements, rows_per_insert):
            values, params = [], []
            for n in range(start, min(start + rows_per_insert, statements)):
                statement_id = str(uuid.uuid4())
                queued = now - statements + n
                values.append("(?, ?, ?, ?, ?)")
                statement = template.replace("00000000-0000-0000-0000-000000000000", statement_id)
                params += [statement_id, "bench-kit", statement, queued, queued]
            tx.execute(
                "INSERT INTO lrs_outbox (statement_id, kit_id, statement, queued_at, next_attempt_at) VALUES "
                + ", ".join(values),
                params,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (for --backend postgresql)")
    parser.add_argument("--statements", type=int, default=500_000, help="statements waiting when forward starts")
    parser.add_argument("--first", type=int, default=50_000, help="also report the rate over the first N statements")
    parser.add_argument("--batch", type=int, default=0, help="statements per POST (default: lrs_forwarding.BATCH)")
    parser.add_argument("--stop-after", type=int, default=0, help="the receiver answers 503 after N statements")
    parser.add_argument("--prune", action="store_true", help="then time deleting the forwarded statements")
    parser.add_argument("--root", type=Path, default=ROOT, help="the tpkit checkout whose code is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from appliance.hub import lrs_forwarding
    from appliance.hub.settings import load_hub_settings
    from appliance.hub.storage.backend import open_database
    from appliance.hub.storage.database import migrate

    folder = Path(tempfile.mkdtemp(prefix="hub-lrs-bench-"))
    overrides = {"hub_data_dir": str(folder)}
    if args.backend == "postgresql":
        overrides["hub_database_url"] = args.database_url
    db = open_database(load_hub_settings(environ={}, overrides=overrides))
    ready_here, ready_there = multiprocessing.Pipe()
    done_here, done_there = multiprocessing.Pipe()
    receiver = multiprocessing.Process(target=_receiver, args=(ready_there, done_there, args.stop_after))
    try:
        migrate(db)
        now = time.time()
        started = time.perf_counter()
        _fill(db, args.statements, now)
        print(f"setup: {args.statements} statements queued in {time.perf_counter() - started:.1f} s", flush=True)
        receiver.start()
        port = ready_here.recv()
        batch = args.batch or lrs_forwarding.BATCH
        cpu_before, started = time.process_time(), time.perf_counter()
        done = lrs_forwarding.forward(db, f"http://127.0.0.1:{port}/xapi", now + 1, batch=batch)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        left = lrs_forwarding.status(db)["waiting"]
        pruned, prune_s = 0, 0.0
        if args.prune:  # a month on, `tpkit hub prune` deletes what was forwarded (batches of 500)
            prune_started = time.perf_counter()
            pruned = lrs_forwarding.prune_forwarded(db, now + 31 * 86400, 30)
            prune_s = time.perf_counter() - prune_started
    finally:
        if receiver.pid:
            done_here.send(None)
            stamps, receiver_cpu = done_here.recv()
            receiver.join(timeout=30)
        db.close()
        shutil.rmtree(folder, ignore_errors=True)
    taken, first_at = 0, None
    for stamp, count in stamps:
        taken += count
        if first_at is None and taken >= args.first:
            first_at = stamp - started
    code = os.popen(f"git -C {args.root} describe --always --dirty 2>/dev/null").read().strip()  # noqa: S605
    rows = [
        ("code", f"{args.root} ({code or '?'})"),
        ("backend", args.backend),
        ("statements waiting", f"{args.statements:,}"),
        ("batch", str(batch)),
        ("forwarded", f"{done.forwarded:,} (receiver counted {taken:,}); {left:,} left waiting"),
        (f"first {args.first:,}: statements/s", f"{args.first / first_at:,.0f}" if first_at else "n/a"),
        ("overall: statements/s", f"{done.forwarded / elapsed:,.0f} ({elapsed:.1f} s)"),
        ("CPU s: forward / receiver", f"{cpu:.1f} / {receiver_cpu:.1f}"),
    ]
    if args.prune:
        rows.append(("prune: rows/s", f"{pruned / prune_s:,.0f} ({pruned:,} deleted in {prune_s:.1f} s)"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
