"""Textbook books for tests, written with libzim's writer as docs/textbook-units.md says `tpkit pack` writes them:
positions in `Tags`, `tpkit/items.json`, and optionally `tpkit/curriculum.json`; one page per item."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.content.zimwriter import Entry, write_zim
from tests.conftest import article

# rjb, grade 3, book 1, mathematics, unit 2 (the contract's example)
MATH_3A = {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math"}


def item(path: str, title: str, unit: int, lesson: int | None = None, kind: str = "page", **extra) -> dict:
    """One entry of items.json at MATH_3A's `unit` (and `lesson`); `extra` overrides any key (bytes, seconds, …)."""
    found = {"path": path, "title": title, "kind": kind, **MATH_3A, "unit": unit, "bytes": 1000}
    if lesson is not None:
        found["lesson"] = lesson
    return found | extra


def curriculum(units: dict[int, str], lessons: dict[int, dict[int, str]] | None = None, **groups) -> dict:
    """A curriculum map naming MATH_3A's `units` ({unit: Chinese name}) and their lessons; `groups` gives editions
    and subjects ({id: {"zh":…, "en":…}})."""
    lessons = lessons or {}
    return {
        "format": 1,
        "editions": groups.get("editions", {}),
        "subjects": groups.get("subjects", {}),
        "units": [
            {
                **MATH_3A,
                "unit": unit,
                "zh": name,
                "en": f"Unit {unit} (map)",
                "lessons": [{"lesson": n, "zh": ln, "en": f"Lesson {n}"} for n, ln in lessons.get(unit, {}).items()],
            }
            for unit, name in units.items()
        ],
    }


def textbook_book(
    folder: Path,
    name: str,
    *,
    title: str = "三年级数学上册",
    tags: str = "_edition:rjb;_grade:3;_volume:1;_subject:math;_unit:2",
    items: list[dict] | None = None,
    items_raw: bytes | None = None,
    curriculum_map: dict | None = None,
    date: str = "2026-09-01",
) -> Path:
    """Write a textbook book: a page per item (its title as text), items.json (or `items_raw` as it is), a map."""
    items = [] if items is None else items
    entries = [Entry("index", title, "text/html", article(title, "<p>按单元排列</p>", "zh"), front=True)]
    entries += [Entry(i["path"], i["title"], "text/html", article(i["title"], "<p>课</p>", "zh"), True) for i in items]
    listed = items_raw if items_raw is not None else json.dumps({"format": 1, "items": items}).encode()
    entries.append(Entry("tpkit/items.json", "items", "application/json", listed))
    if curriculum_map is not None:
        raw = json.dumps(curriculum_map, ensure_ascii=False).encode()
        entries.append(Entry("tpkit/curriculum.json", "curriculum", "application/json", raw))
    metadata = {"Title": title, "Language": "zho", "Name": name, "Date": date, "Tags": tags, "Creator": "tests"}
    folder.mkdir(parents=True, exist_ok=True)
    return write_zim(folder / f"{name}.zim", metadata=metadata, main_path="index", entries=entries, index_language=None)
