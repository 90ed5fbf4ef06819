"""A county lessons book for tests, written with libzim's writer exactly as docs/shared-lessons.md §3 says
`tpkit hub lessons publish` writes it: `Tags` with the lessons' positions, `tpkit/items.json` (each lesson's page as an
item of kind `lesson`), `tpkit/lessons.json`, and per lesson `lessons/<share_id>.html`, `lessons/<share_id>.json`
(the `lesson` body with each file's `path`) and `files/<share_id>/<i>-<name>`. The hub's publish test can compare
its own book with one of these."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from appliance.content.zimwriter import Entry, write_zim
from appliance.protocol import shared_lesson
from tests.conftest import article

POSITION = {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2, "lesson": 1}
SHARE_ID = "6f1c3c2e-8d8a-4a53-9b0e-2f7d1a4c9e11"


def lesson_body(
    files: list[tuple[str, str, bytes]],
    *,
    share_id: str = SHARE_ID,
    version: int = 1,
    title: str = "两位数加两位数",
    items: list[dict] | None = None,
    position: dict | None = None,
    author: str = "王老师",
    school: str = "某某小学",
    licence: str = "CC BY 4.0",
) -> dict:
    """A `lesson` body (docs/shared-lessons.md §1) with `files` as (name, media type, bytes); `items` default to one
    `file` item per file."""
    return {
        "share_id": share_id,
        "version": version,
        "title": title,
        "instructions": "先读课文，再做练习。",
        "position": POSITION if position is None else position,
        "licence": licence,
        "author": author,
        "school": school,
        "items": items
        if items is not None
        else [{"kind": "file", "title": n, "file": i} for i, (n, _, _) in enumerate(files)],
        "files": [
            {
                "name": name,
                "media_type": media_type,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "parts": shared_lesson.parts_of(len(data)),
            }
            for name, media_type, data in files
        ],
    }


def county_lessons_book(folder: Path, lessons: list[tuple[dict, list[bytes]]], *, county: str = "demo") -> Path:
    """Write `county_lessons_<county>.zim` holding `lessons`: each (its `lesson` body, its files' bytes in order)."""
    entries = [
        Entry("index", "县里分享的课", "text/html", article("县里分享的课", "<p>按单元排列</p>", "zh"), front=True)
    ]
    listed, items, tags = [], [], set()
    for body, data in lessons:
        share_id = body["share_id"]
        shared_lesson.check_lesson(body)
        book_body = json.loads(json.dumps(body))
        for index, (described, content) in enumerate(zip(book_body["files"], data, strict=True)):
            described["path"] = f"files/{share_id}/{index}-{described['name']}"
            entries.append(Entry(described["path"], described["name"], described["media_type"], content))
        page, data_path = f"lessons/{share_id}.html", f"lessons/{share_id}.json"
        entries.append(Entry(page, body["title"], "text/html", article(body["title"], "<p>课</p>", "zh"), front=True))
        raw = json.dumps(book_body, ensure_ascii=False).encode()
        entries.append(Entry(data_path, body["title"], "application/json", raw))
        keys = ("share_id", "version", "title", "position", "licence", "author", "school")
        listed.append({key: body[key] for key in keys} | {"path": page, "data": data_path})
        position = body["position"]
        if all(k in position for k in ("edition", "grade", "volume", "subject", "unit")):
            items.append({"path": page, "title": body["title"], "kind": "lesson", **position, "bytes": len(raw)})
            tags |= {f"_{k}:{position[k]}" for k in ("edition", "grade", "volume", "subject", "unit")}
    entries.append(
        Entry("tpkit/items.json", "items", "application/json", json.dumps({"format": 1, "items": items}).encode())
    )
    lessons_json = json.dumps({"format": 1, "lessons": listed}, ensure_ascii=False).encode()
    entries.append(Entry("tpkit/lessons.json", "lessons", "application/json", lessons_json))
    metadata = {
        "Title": "县里分享的课",
        "Language": "zho",
        "Name": "county_lessons",
        "Date": "2026-12-01",
        "Tags": ";".join(sorted(tags)),
        "Creator": "县教研室",
    }
    folder.mkdir(parents=True, exist_ok=True)
    return write_zim(
        folder / f"county_lessons_{county}.zim",
        metadata=metadata,
        main_path="index",
        entries=entries,
        index_language=None,
    )
