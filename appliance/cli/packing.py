"""`tpkit pack FOLDER --out BOOK.zim`: a county's folder of lessons, courseware and worksheets made into a book
(docs/textbook-units.md, "Packing a folder")."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from appliance.cli.common import add_setting_flags, mb
from appliance.config import Settings


def add_parsers(commands) -> None:
    pack = commands.add_parser(
        "pack",
        help="make a ZIM book of a folder of videos, audio, PDFs, pictures and web pages described by its pack.toml",
        description="Check FOLDER/pack.toml (book title, language, licence; each item's file, title and textbook "
        "unit), then write one ZIM book any Kiwix reader opens: an index by unit and lesson, a page per item "
        "(video and audio players with poster and captions, PDFs as page pictures), full-text and title search, "
        "and the textbook positions the kit lists by unit (docs/textbook-units.md). Every problem of the "
        "manifest is listed before anything is written.",
        epilog="Exit status: 0 when the book was written, 1 when it was not (the message lists each problem and "
        "its fix). Needs Debian's ffmpeg and poppler-utils on the computer that packs (never on the kit).",
    )
    pack.add_argument("folder", type=Path, help="the folder holding pack.toml and the files it names")
    pack.add_argument(
        "--out", type=Path, required=True, metavar="BOOK.zim", help="the book to write (replaced atomically)"
    )
    pack.add_argument(
        "--video",
        choices=("480p",),
        help="re-encode every video to H.264/AAC MP4 at most 854x480, ~760 kb/s, for 30 phones on one classroom "
        "Wi-Fi; encodes are kept in .BOOK.pack-cache/ beside --out, so packing again re-encodes only changed "
        "videos (default: store videos as given)",
    )
    pack.add_argument(
        "--curriculum",
        type=Path,
        metavar="MAP.toml",
        help="a county's curriculum map (editions, subjects, units and lessons with Chinese and English names) to "
        "check and carry in the book as tpkit/curriculum.json; a folder whose pack.toml has no item then makes a "
        "book of the map alone",
    )
    add_setting_flags(pack, ("log_level",))


def run(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.packing.pack import pack

    packed = pack(
        args.folder,
        args.out,
        video=args.video,
        curriculum_map=args.curriculum,
        today=datetime.date.today(),
        say=lambda line: print(line, flush=True),
    )
    encodes = f"; {packed.encoded} video(s) re-encoded, {packed.cached} taken from the cache" if args.video else ""
    print(f"[✓] {packed.out}: {packed.items} item(s), {mb(packed.size_bytes)}{encodes}")
    return 0
