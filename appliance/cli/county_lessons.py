"""`tpkit hub lessons publish`: the lessons the county's reviewers accepted, written into the county lessons book in
a channel folder and signed (docs/shared-lessons.md §3, docs/hub.md "Shared lessons").

Imports the ZIM writer and the kit's services only when the command runs: a hub without libzim still loads `tpkit
hub` (tests/test_imports.py).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

COUNTY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def add_parser(actions, setting_flags) -> None:
    lessons = actions.add_parser("lessons", help="the lessons teachers shared: publish the accepted ones")
    lesson_actions = lessons.add_subparsers(dest="lessons_command", metavar="LESSONS_ACTION", required=True)
    publish = lesson_actions.add_parser(
        "publish",
        help="write every accepted lesson into the county lessons book in a channel folder, sign the channel, "
        "and mark the lessons published (run by tpkit-hub-lessons.timer)",
        description="Writes county_lessons_<county>.zim into DIR (an index by unit, a page per lesson, its files, "
        "and what kits read: Tags, tpkit/items.json, tpkit/lessons.json), then signs DIR's index as `tpkit channel "
        "publish` does, with patches from the books in --previous. Nothing newly accepted: nothing is written.",
        epilog="Exit status: 0 when the channel was published or there was nothing to publish, 1 otherwise.",
    )
    publish.add_argument("--channel", type=Path, required=True, metavar="DIR", help="the county lessons channel folder")
    publish.add_argument("--key", type=Path, required=True, help="the channel's secret key (tpkit channel keygen)")
    publish.add_argument(
        "--previous",
        type=Path,
        metavar="PREV_DIR",
        help="keep the book published last time here (copied from DIR before it is replaced) and publish a patch "
        "from it, so kits fetch only what changed",
    )
    publish.add_argument(
        "--county", default="county", help="the county's short name in the book's file name (a-z, 0-9, -)"
    )
    setting_flags(publish)


def run(settings, args: argparse.Namespace, open_hub) -> int:
    """Publish the county lessons book; the hub's database is opened by `open_hub(settings)`."""
    import datetime
    import time

    from appliance.hub import shares
    from appliance.services.lessons import county_book
    from appliance.services.sync import channel

    if not COUNTY.fullmatch(args.county):
        print(f"[✗] --county {args.county!r} is not a short name.\n    Fix: use lower-case letters, digits and -.")
        return 1
    db = open_hub(settings)
    try:
        rows = shares.publishable(db)
        if not rows:
            print("[i] No accepted lesson: nothing to publish.")
            return 0
        args.channel.mkdir(parents=True, exist_ok=True)
        out = args.channel / f"{county_book.NAME}_{args.county}.zim"
        if out.exists() and all(row["state"] == "published" for row in rows):
            print(f"[i] No lesson accepted since {out} was written: it stays as it is.")
            return 0
        if args.previous is not None and out.exists():  # the book kits hold now: what the patch starts from
            args.previous.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out, args.previous / out.name)
        with tempfile.TemporaryDirectory(prefix=".lessons-", dir=args.channel.parent) as work:
            lessons = [_lesson(db, row, Path(work)) for row in rows]
            county_book.write(out, lessons, args.county, datetime.date.today())
        index = channel.publish(args.channel, args.key, f"county-lessons-{args.county}", previous_dir=args.previous)
        shares.mark_published(db, [(row["share_id"], row["version"]) for row in rows], time.time())
    finally:
        db.close()
    patches = sum(1 for p in index.packages if p.get("kind") == "patch")
    print(f"[✓] {out}: {len(rows)} lesson(s); channel sequence {index.sequence}, {patches} patch(es), signed")
    return 0


def _lesson(db, row, work: Path):
    """A lesson for the book, its files written under `work` (the writer reads them from disk, not from memory)."""
    from appliance.errors import StorageError
    from appliance.hub import shares
    from appliance.services.lessons import county_book

    files = []
    for index, entry in enumerate(row["content"].get("files", [])):
        found = shares.file_data(row, index, db)
        if found is None:  # every file of a submitted version is kept (hub/shares.py): a damaged database
            raise StorageError(
                f"File {index} of the shared lesson {row['share_id']} is missing from the hub's database.",
                fix="Restore the database from its backup, or ask the teacher to share the lesson again.",
            )
        source = work / row["share_id"] / str(index)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(bytes(found["data"]))
        files.append(county_book.SharedFile(index, entry["name"], entry["media_type"], source))
    return county_book.Lesson(row["share_id"], row["version"], row["school"], row["content"], tuple(files))
