"""Cost of recording "opened" on the library's hot path (issue 4): a cached article through the ASGI app for an
anonymous reader, a signed-in teacher (session looked up, nothing written) and a signed-in student (session
looked up, the statement made after the response is sent and put in the worker's batch, written with others:
services/learning/open_batch.py; bench/opened_writes.py measures what that saves on the disk).

    .venv/bin/python bench/opened_records.py [--count 2000]

Run it against another checkout with PYTHONPATH=/path/to/checkout to compare. Numbers are the best of 5 rounds.
The student's time includes the background task (ASGI returns after background tasks), so it is the worker's
cost, not the reader's latency.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from appliance.config import load_settings
from appliance.content.zimwriter import Entry, write_zim
from appliance.services.kit import open_kit
from appliance.services.people import access as people, auth, class_roster
from appliance.services.people.access import CONSOLE
from appliance.web.app import create_app
from bench.inprocess import asgi_cost


def _book(folder: Path) -> None:
    body = "<html><head><title>Water</title></head><body>" + "<p>Rivers carry rain back to the sea.</p>" * 40
    write_zim(
        folder / "bench_book.zim",
        metadata={
            "Title": "Bench",
            "Description": "bench",
            "Language": "eng",
            "Creator": "bench",
            "Publisher": "tpkit",
            "Date": "2026-01-02",
            "Name": "bench_book",
        },
        main_path="water",
        entries=[Entry("water", "Water", "text/html", (body + "</body></html>").encode(), front=True)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        _book(content)
        kit = open_kit(
            load_settings(
                environ={}, overrides={"data_dir": f"{tmp}/data", "content_dir": str(content), "mdns_enabled": False}
            )
        )
        teacher_id = people.create_teacher(kit.people, CONSOLE, "T", "t.bench", "password-123")
        result = class_roster.import_file(kit.people, CONSOLE, b"name,pin\nAnna,2580\n", "a.csv", "A", "t.bench")
        student_id = kit.people.students_of(result.class_id)[0]["id"]
        app = create_app(kit, watch_library=False)
        for who, account_id in (("anonymous", None), ("teacher", teacher_id), ("student", student_id)):
            cookie = f"tpkit_session={auth._open_session(kit.accounts, account_id, 3600)}" if account_id else ""
            cost = asgi_cost(app, "/content/bench_book/water", args.count, cookie=cookie)
            print(f"{who:10} cached article: {cost:.1f} µs per request")
        if hasattr(kit, "open_batch"):  # a checkout from before the batch (PYTHONPATH=...) has none
            kit.open_batch.flush()
        written = kit.db.read().execute("SELECT count(*) FROM sqlite_master WHERE name = 'learning_records'")
        if written.fetchone()[0]:
            print(
                f"learning_records rows: {kit.db.read().execute('SELECT count(*) FROM learning_records').fetchone()[0]}"
            )
        kit.close()


if __name__ == "__main__":
    main()
