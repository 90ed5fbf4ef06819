"""A student's bookmarks, notes and reading history on "My space". No HTTP here.

Must not import web or cli. Every function takes the signed-in `viewer` and works only on that student's own rows:
a student can neither read nor change another's bookmarks or notes (there is no id to name them by). Articles are
checked against the library (and redirects followed) before they are kept; a lesson must be one the student sees.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from urllib.parse import unquote

from appliance.content.zimfile import Redirect
from appliance.errors import LessonError, TpkitError
from appliance.services.learning import clock, lessons, xapi
from appliance.services.people import access as people

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

NOTE_MAX_CHARS = 2000  # a few sentences to remember an article by, not an essay (that is homework)
HISTORY_SHOWN = 20
ARTICLE_MARK = "/xapi/activities/article/"


@dataclasses.dataclass(frozen=True)
class Article:
    book: str
    path: str
    title: str


def article(kit: Kit, viewer: Viewer, book_name: str, path: str) -> Article:
    """The article a student names, as the library has it (its own path when `path` was a redirect);
    BookNotFoundError / EntryNotFoundError (404) when there is no such article."""
    viewer = people.require(viewer, "student")
    book = kit.load_library().book(book_name)
    found = book.zim.lookup(path)
    if isinstance(found, Redirect):
        path = found.target_path
    return Article(book.name, path, book.zim.title_of(path))


def bookmark(kit: Kit, viewer: Viewer, book_name: str, path: str, keep: bool) -> Article:
    """Bookmark the article (`keep`) or take the bookmark away; doing either twice changes nothing more."""
    found = article(kit, viewer, book_name, path)
    if keep:
        kit.notebook.add_bookmark(viewer["id"], found.book, found.path, found.title, clock.stamp(kit.settings))
    else:
        kit.notebook.remove_bookmark(viewer["id"], found.book, found.path)
    return found


def _body(text: str) -> str:
    body = text.replace("\r\n", "\n").strip()
    if len(body) > NOTE_MAX_CHARS:
        raise LessonError(
            f"The note has {len(body)} characters; at most {NOTE_MAX_CHARS} are kept.",
            code="note.too_long",
            fix="Shorten the note, then save it again.",
        )
    return body


def note_article(kit: Kit, viewer: Viewer, book_name: str, path: str, text: str) -> Article:
    """Write the student's note on an article (an empty note deletes it)."""
    found = article(kit, viewer, book_name, path)
    kit.notebook.save_note(
        viewer["id"],
        0,
        found.book,
        found.path,
        found.title,
        _body(text),
        clock.stamp(kit.settings),
    )
    return found


def note_lesson(kit: Kit, viewer: Viewer, lesson_id: int, text: str) -> None:
    """Write the student's note on a lesson they see (an empty note deletes it); NotVisibleError otherwise."""
    lesson = lessons.student_lesson(kit.lessons, viewer, lesson_id)
    kit.notebook.save_note(viewer["id"], lesson_id, "", "", lesson["title"], _body(text), clock.stamp(kit.settings))


def article_page(kit: Kit, viewer: Viewer, book_name: str, path: str) -> dict:
    """What the article's page on My space shows: the article, whether it is bookmarked, the note."""
    found = article(kit, viewer, book_name, path)
    note = kit.notebook.note(viewer["id"], 0, found.book, found.path)
    return {
        "article": found,
        "bookmarked": kit.notebook.is_bookmarked(viewer["id"], found.book, found.path),
        "note": note["body"] if note else "",
    }


def lesson_note(kit: Kit, viewer: Viewer, lesson_id: int) -> str:
    note = kit.notebook.note(viewer["id"], lesson_id, "", "")
    return note["body"] if note else ""


def library_history(kit: Kit, viewer: Viewer) -> list[dict]:
    """Articles the student opened (from the library or a lesson), newest first, each once: from their learning
    records. Titles come from the library; an article whose book is gone keeps its path as the title."""
    viewer = people.require(viewer, "student")
    kit.open_batch.flush()  # what this worker keeps back (services/learning/open_batch.py) is part of their history
    rows = kit.learning_records.latest_activities(
        viewer["id"], xapi.VERBS["opened"][0], xapi.TYPES["article"], HISTORY_SHOWN
    )
    found = []
    for row in rows:
        book_name, _, path = unquote(str(row["activity"]).partition(ARTICLE_MARK)[2]).partition("/")
        if not book_name or not path:
            continue
        when = clock.wall_of_utc(kit.settings, row["last_at"])
        found.append({"book": book_name, "path": path, "title": _title(kit, book_name, path), "when": when})
    return found


def _title(kit: Kit, book_name: str, path: str) -> str:
    try:
        return kit.load_library().book(book_name).zim.title_of(path)
    except TpkitError:  # the book was removed or damaged since: the history still says what was read
        return path


def history(kit: Kit, viewer: Viewer) -> list[dict]:
    """My space's one history, newest first: the lessons and lesson items the student opened and the articles they
    read in the library, each once (an article opened from a lesson is listed with its lesson, at its latest open).
    Each entry has `at` (local time), `title`, and `lesson_id`, `lesson_title`, `item_id` for lessons or `book`,
    `path` for articles."""
    viewer = people.require(viewer, "student")
    found = [_lesson_entry(row) for row in kit.lessons.history(viewer["id"], HISTORY_SHOWN)]
    found += [
        {**read, "lesson_id": 0, "lesson_title": "", "item_id": 0, "kind": "library"}
        for read in library_history(kit, viewer)
    ]
    kept: dict[tuple, dict] = {}
    for entry in found:
        key = (entry["book"], entry["path"]) if entry["book"] else (entry["lesson_id"], entry["item_id"])
        other = kept.get(key)
        if other is not None:
            named = other if other["kind"] != "library" else entry  # the lesson's entry names its lesson
            entry = {**named, "when": max(other["when"], entry["when"])}
        kept[key] = entry
    merged = sorted(kept.values(), key=lambda entry: entry["when"], reverse=True)[:HISTORY_SHOWN]
    return [{**entry, "at": entry["when"][:16]} for entry in merged]


def _lesson_entry(row) -> dict:
    item = bool(row["item_id"] and row["item_title"])  # an item since removed leaves its lesson
    return {
        "when": row["last_at"],
        "title": row["item_title"] if item else row["lesson_title"],
        "lesson_id": row["lesson_id"],
        "lesson_title": row["lesson_title"] if item else "",
        "item_id": row["item_id"] if item else 0,
        "book": (row["item_book"] or "") if item else "",
        "path": (row["item_path"] or "") if item else "",
        "kind": row["item_kind"] if item else "lesson",
    }


def space(kit: Kit, viewer: Viewer) -> dict:
    """The notebook part of My space: bookmarks, notes, and the one history (`history`)."""
    viewer = people.require(viewer, "student")
    return {
        "bookmarks": kit.notebook.bookmarks(viewer["id"]),
        "notes": kit.notebook.notes(viewer["id"]),
        "history": history(kit, viewer),
    }
