"""按课本找's index (issue 17 §2, docs/textbook-units.md "What the kit does with it"): the time and memory to read
every book's textbook positions and items once per library change, and the cost of one unit's page.

The library is made here with tests/textbook_books.py: BOOKS books of 2,000 items each (10 units × 10 lessons × 20
resources), as a county's recorded lessons and worksheets would be.

Usage: .venv/bin/python bench/units.py [--books 10] [--work /tmp/tpkit-units]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.content.library import Library  # noqa: E402
from appliance.services.library import units  # noqa: E402
from tests.textbook_books import item, textbook_book  # noqa: E402

PAGES = 1000


def make_library(root: Path, books: int) -> None:
    for number in range(books):
        items = [
            item(f"u{u}/l{l}-{k}.html", f"第{u}单元 第{l}课 资源{k}", u, l, kind="video", seconds=300)
            for u in range(1, 11)
            for l in range(1, 11)  # noqa: E741
            for k in range(20)
        ]
        tags = f"_edition:rjb;_grade:{number % 12 + 1};_volume:1;_subject:math;_unit:1;_unit:2"
        textbook_book(root, f"book{number}", items=items, tags=tags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tpkit-units"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    make_library(args.work, args.books)
    library = Library(args.work)
    library.refresh()
    started = time.perf_counter()
    found = units.index(library)  # timed alone: tracemalloc slows what it watches
    built_s = time.perf_counter() - started
    fresh = Library(args.work)  # the same books read afresh (their own Library), for the memory
    fresh.refresh()
    tracemalloc.start()
    kept = units.index(fresh)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(kept.books) == len(found.books)
    wanted = {"edition": "rjb", "grade": "3", "volume": "1", "subject": "math", "unit": "2"}
    started = time.perf_counter()
    for _ in range(PAGES):
        units.drill(found, wanted)
    page_ms = (time.perf_counter() - started) * 1000 / PAGES
    items = sum(len(book.items) for book in found.books.values())
    print(
        f"{args.books} books, {items:,} items: index built in {built_s * 1000:.0f} ms, held {held / 1e6:.1f} MB "
        f"(peak {peak / 1e6:.1f} MB); a unit's page assembled in {page_ms:.2f} ms"
    )
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
