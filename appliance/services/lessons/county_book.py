"""The county lessons book (docs/shared-lessons.md §3): the lessons a county's reviewers accepted, written as one ZIM
book any Kiwix reader opens (an index by unit, a page per lesson with its instructions, files and quiz questions as
text) that also tells kits what it holds (`Tags`, tpkit/items.json, tpkit/lessons.json, lessons/<id>.json).

Takes plain data (the hub reads its own database; this module must not import the hub, web or cli).
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from appliance import __version__
from appliance.content.icons import badge
from appliance.content.zimwriter import Entry, FileEntry, write_zim
from appliance.protocol import textbook_names
from appliance.services.packing import positions
from appliance.services.packing.book_pages import html_page

NAME = "county_lessons"
MAIN_PAGE = "index.html"
ITEMS_JSON = "tpkit/items.json"
LESSONS_JSON = "tpkit/lessons.json"
FORMAT = 1
LANGUAGE = "zho"  # the county's teachers write in Chinese; the book's few own words are Chinese
SHELF = ("edition", "grade", "volume", "subject")
WORDS = {
    "title": "县里老师分享的课",
    "description": "本县老师分享、教研员审核通过的课",
    "no_place": "未标课本",
    "no_unit": "未分单元",
    "by": "{author}（{school}），{licence}",
    "files": "文件",
    "items": "内容",
    "quiz": "测验",
    "answer": "答案：",
    "back": "返回目录",
}
KIND_WORDS = {"book": "图书", "article": "文章", "file": "文件", "quiz": "测验"}


@dataclasses.dataclass(frozen=True)
class SharedFile:
    """One file of a lesson, on disk while the book is written."""

    index: int
    name: str
    media_type: str
    source: Path


@dataclasses.dataclass(frozen=True)
class Lesson:
    """An accepted lesson: the `lesson` body as its kit sent it, and where the hub put its files."""

    share_id: str
    version: int
    school: str
    body: dict[str, Any]
    files: tuple[SharedFile, ...]

    @property
    def position(self) -> dict[str, Any]:
        return {key: value for key, value in self.body.get("position", {}).items() if value is not None}


def file_path(share_id: str, file: SharedFile) -> str:
    return f"files/{share_id}/{file.index}-{file.name}"


def write(out: Path, lessons: Sequence[Lesson], county: str, today: datetime.date) -> Path:
    """Write the book of `lessons` to `out` atomically."""
    ordered = sorted(lessons, key=_order)
    entries: list[Entry | FileEntry] = [
        Entry(MAIN_PAGE, WORDS["title"], "text/html", _index(ordered), front=True),
        Entry(ITEMS_JSON, "", "application/json", _json(_items(ordered))),
        Entry(LESSONS_JSON, "", "application/json", _json(_lessons(ordered))),
    ]
    for lesson in ordered:
        entries.append(Entry(f"lessons/{lesson.share_id}.html", lesson.body["title"], "text/html", _page(lesson), True))
        entries.append(Entry(f"lessons/{lesson.share_id}.json", "", "application/json", _json(_data(lesson))))
        entries += [FileEntry(file_path(lesson.share_id, f), f.name, f.media_type, f.source) for f in lesson.files]
    metadata = {
        "Name": NAME,
        "Title": f"{WORDS['title']}（{county}）",
        "Language": LANGUAGE,
        "Creator": county,
        "Publisher": county,
        "Description": WORDS["description"],
        "Date": today.isoformat(),
        "Tags": positions.tags([lesson.position for lesson in ordered], videos=False),
        "Scraper": f"tpkit hub lessons publish {__version__}",
    }
    return write_zim(
        out,
        metadata={name: value for name, value in metadata.items() if value},
        main_path=MAIN_PAGE,
        entries=entries,
        illustration_png=badge(48, (43, 123, 214), (255, 255, 255)),
        index_language=LANGUAGE,
    )


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


def _order(lesson: Lesson) -> tuple:
    where = lesson.position
    return (
        *((where.get(k) is None, str(where.get(k, "")).zfill(3)) for k in (*SHELF, "unit", "lesson")),
        lesson.share_id,
    )


def _items(lessons: Sequence[Lesson]) -> dict[str, Any]:
    rows = []
    for lesson in lessons:
        row = {"path": f"lessons/{lesson.share_id}.html", "title": lesson.body["title"], "kind": "lesson"}
        row |= {key: lesson.position[key] for key in positions.KEYS if key in lesson.position}
        rows.append(row | {"bytes": sum(f["bytes"] for f in lesson.body.get("files", []))})
    return {"format": FORMAT, "items": rows}


def _lessons(lessons: Sequence[Lesson]) -> dict[str, Any]:
    keys = ("title", "position", "licence", "author")
    return {
        "format": FORMAT,
        "lessons": [
            {"share_id": lesson.share_id, "version": lesson.version}
            | {key: lesson.body.get(key) for key in keys}
            | {
                "school": lesson.school,
                "path": f"lessons/{lesson.share_id}.html",
                "data": f"lessons/{lesson.share_id}.json",
            }
            for lesson in lessons
        ],
    }


def _data(lesson: Lesson) -> dict[str, Any]:
    """The `lesson` body as sent, each file with its entry in the book."""
    paths = {f.index: file_path(lesson.share_id, f) for f in lesson.files}
    files = [{**entry, "path": paths[index]} for index, entry in enumerate(lesson.body.get("files", []))]
    return {**lesson.body, "files": files}


def _index(lessons: Sequence[Lesson]) -> bytes:
    body = [f"<h1>{html.escape(WORDS['title'])}</h1><p>{html.escape(WORDS['description'])}</p>"]
    for shelf, in_shelf in itertools.groupby(lessons, key=lambda lesson: tuple(lesson.position.get(k) for k in SHELF)):
        heading = textbook_names.place(dict(zip(SHELF, shelf)), "zh", SHELF) or WORDS["no_place"]
        body.append(f"<h2>{html.escape(heading)}</h2>")
        for unit, in_unit in itertools.groupby(in_shelf, key=lambda lesson: lesson.position.get("unit")):
            label = textbook_names.name("unit", unit, "zh") if unit is not None else WORDS["no_unit"]
            rows = "".join(
                f'<li><a href="lessons/{lesson.share_id}.html">{html.escape(lesson.body["title"])} '
                f"<small>{html.escape(_by(lesson))}</small></a></li>"
                for lesson in in_unit
            )
            body.append(f"<h3>{html.escape(label)}</h3><ul>{rows}</ul>")
    return html_page(LANGUAGE, WORDS["title"], "".join(body))


def _by(lesson: Lesson) -> str:
    return WORDS["by"].format(author=lesson.body["author"], school=lesson.school, licence=lesson.body["licence"])


def _page(lesson: Lesson) -> bytes:
    """A lesson's page: where it sits, who made it, its instructions, and each item (files linked, quizzes as text)."""
    where = textbook_names.place(lesson.position, "zh", (*SHELF, "unit", "lesson"))
    body = [
        f'<p><a href="../{MAIN_PAGE}">{WORDS["back"]}</a></p><h1>{html.escape(lesson.body["title"])}</h1>',
        f"<p><small>{html.escape(where)}</small><br>{html.escape(_by(lesson))}</p>",
    ]
    if lesson.body.get("instructions"):
        body.append(f"<pre>{html.escape(lesson.body['instructions'])}</pre>")
    paths = {f.index: file_path(lesson.share_id, f) for f in lesson.files}
    body.append(f"<h2>{WORDS['items']}</h2><ol>")
    for item in lesson.body.get("items", []):
        kind = html.escape(KIND_WORDS.get(item["kind"], item["kind"]))
        title = html.escape(item["title"])
        if item["kind"] == "file" and item.get("file") in paths:
            body.append(f'<li>{kind} <a href="../{quote(paths[item["file"]])}">{title}</a></li>')
        elif item["kind"] == "quiz":
            body.append(f"<li>{kind} {title}{_questions(item.get('questions', []), paths)}</li>")
        else:
            book = f" <small>《{html.escape(item['book_title'])}》</small>" if item.get("book_title") else ""
            body.append(f"<li>{kind} {title}{book}</li>")
    body.append("</ol>")
    return html_page(LANGUAGE, lesson.body["title"], "".join(body))


def _questions(questions: list[Any], paths: dict[int, str]) -> str:
    """A quiz's questions as text: the prompt (and its picture), the options with the right ones marked ✓, or the
    answer."""
    rows = []
    for question in questions if isinstance(questions, list) else []:
        if not isinstance(question, dict):
            continue
        prompt = f"<p>{html.escape(str(question.get('prompt', '')))}</p>"
        picture = question.get("picture_file")
        if isinstance(picture, int) and picture in paths:
            prompt += f'<img src="../{quote(paths[picture])}" alt="">'
        options, answer = question.get("options"), question.get("answer")
        if isinstance(options, list) and options:
            marked = answer if isinstance(answer, list) else []
            shown = "".join(
                f"<li>{html.escape(str(option))}{' ✓' if n in marked else ''}</li>" for n, option in enumerate(options)
            )
            rows.append(f"<li>{prompt}<ul>{shown}</ul></li>")
        else:
            said = "、".join(map(str, answer)) if isinstance(answer, list) else str(answer or "")
            rows.append(f"<li>{prompt}<p>{WORDS['answer']}{html.escape(said)}</p></li>")
    return f"<ol>{''.join(rows)}</ol>"
