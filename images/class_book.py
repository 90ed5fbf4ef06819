"""The class-load run's book (images/image-test.sh --class-load, images/class-load.sh): one English reader of many
articles, written with tpkit's own ZIM writer, in versions whose difference is a few articles, so a channel
published from one and then the next carries a small patch for the kit to apply (while the class reads, or while the
power-cut run cuts the power).

    .venv/bin/python class_book.py OUT.zim VERSION     VERSION 1, 2, 3…: each from 2 on rewrites every 25th article

Run with the checkout's .venv (it imports appliance). The articles are pseudo-random words (a fixed seed per article),
so the book compresses as real text does, and the class's searches find words the articles hold.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

from appliance.content.zimwriter import Entry, write_zim

ARTICLES = 1500
WORDS_PER_ARTICLE = 400
CHANGED_EVERY = 25
# The words the articles are made of, and that the class searches for.
WORDS = [
    "river",
    "water",
    "field",
    "rice",
    "wheat",
    "school",
    "teacher",
    "pupil",
    "lesson",
    "village",
    "mountain",
    "rain",
    "cloud",
    "sun",
    "moon",
    "star",
    "tree",
    "forest",
    "bird",
    "fish",
    "animal",
    "plant",
    "seed",
    "flower",
    "leaf",
    "root",
    "soil",
    "farm",
    "market",
    "road",
    "bridge",
    "house",
    "family",
    "mother",
    "father",
    "child",
    "number",
    "addition",
    "subtraction",
    "fraction",
    "circle",
    "triangle",
    "square",
    "measure",
    "weight",
    "length",
    "time",
    "clock",
    "season",
    "spring",
    "summer",
    "autumn",
    "winter",
    "health",
    "food",
    "fruit",
    "vegetable",
    "energy",
    "light",
    "heat",
    "sound",
    "machine",
    "story",
    "poem",
    "song",
]
NAME = "class_load_reader"


def article(n: int, version: int) -> str:
    changed = version >= 2 and n % CHANGED_EVERY == 0
    rnd = random.Random(n * 7919 + (version if changed else 1))
    words = [rnd.choice(WORDS) for _ in range(WORDS_PER_ARTICLE)]
    sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
    marker = f"<p>Revised in version {version}.</p>" if changed else ""
    links = "".join(f'<li><a href="article{(n + k) % ARTICLES}">Article {(n + k) % ARTICLES}</a></li>' for k in (1, 2))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Article {n}</title></head><body>'
        f"<h1>Article {n}</h1>{marker}<p>{' '.join(sentences)}</p><ul>{links}</ul></body></html>"
    )


def main(out: str, version: str) -> int:
    number = int(version)
    index = "".join(f'<li><a href="article{n}">Article {n}</a></li>' for n in range(0, ARTICLES, 10))
    entries = [
        Entry(
            "index",
            "Class reader",
            "text/html",
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Class reader</title></head>'
            f"<body><h1>Class reader</h1><ul>{index}</ul></body></html>".encode(),
            front=True,
        ),
        *(
            Entry(f"article{n}", f"Article {n}", "text/html", article(n, number).encode(), front=True)
            for n in range(ARTICLES)
        ),
    ]
    metadata = {
        "Name": NAME,
        "Title": "Class reader",
        "Description": "The class-load test's reader",
        "Language": "eng",
        "Creator": "tpkit",
        "Publisher": "tpkit",
        "Date": (dt.date(2026, 11, 30) + dt.timedelta(days=number)).isoformat(),
        "Tags": "test",
    }
    write_zim(Path(out), metadata=metadata, main_path="index", entries=entries)
    print(f"[✓] {out}: version {number}, {ARTICLES} articles")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or int(sys.argv[2]) < 1:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    sys.exit(main(sys.argv[1], sys.argv[2]))
