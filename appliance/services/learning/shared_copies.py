"""Copying a lesson the county shared (a book's `tpkit/lessons.json`, docs/shared-lessons.md §3–4) into one of the
teacher's classes as a draft: its files copied from the book into the kit's uploads, its quizzes created in the class,
its book and article items kept, its place in the textbook kept, and a line naming its source. No HTTP here.

Must not import web or cli. As copies.py does: every file is written completely before the one transaction that adds
the lesson; a copy that fails leaves no file behind. What a book carries is checked as the hub checks a report
(protocol.shared_lesson) and each question as an imported one (quiz_marking.check_question): a book may not act as
the teacher.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appliance.content.textbook import BookDataError, read_document, read_entry
from appliance.errors import BadRequestError, BookNotFoundError, ReportError, ShareError
from appliance.protocol import shared_lesson
from appliance.services.learning import lessons, quiz_pictures, uploads
from appliance.services.learning.quiz_marking import check_question
from appliance.services.library import units
from appliance.services.people import access as people

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

BODY_MAX_BYTES = 2 * 1024 * 1024  # a `lesson` body: text and quiz questions, never files


@dataclasses.dataclass(frozen=True)
class Words:
    """The copy's own words in the kit's language (the web layer translates them): the source line ("来自 王老师（某某
    小学），CC BY 4.0") and what a book item says when this kit lacks the book."""

    source: Callable[[str, str, str], str]  # (author, school, licence) → the line
    book_missing: str


def _not_found(share_id: str) -> ShareError:
    return ShareError(
        f"No book on this kit carries the shared lesson {share_id!r}.",
        cause="The county's lessons book was updated or removed since the page was opened.",
        fix="Open 按课本找 again and choose the lesson from its unit.",
        code="share.not_found",
        status=404,
    )


def _damaged(book: str, what: str) -> ShareError:
    return ShareError(
        f"The shared lesson in book {book!r} cannot be copied: {what}.",
        cause="The county's lessons book is damaged or was made by another version of tpkit.",
        fix="Ask the county's technician to publish the lessons book again; the kit gets it with the next sync.",
        code="share.damaged",
        status=422,
    )


def read_shared(kit: Kit, book_name: str, share_id: str) -> tuple[Any, Any, shared_lesson.LessonShare]:
    """(book, its lessons.json entry, the checked `lesson` body) of a shared lesson; ShareError when it is not there
    or what the book carries cannot be used."""
    found = units.shared_lesson(units.index(kit.load_library()), book_name, share_id)
    if found is None:
        raise _not_found(share_id)
    book, entry = found
    try:
        checked = shared_lesson.check_lesson(read_document(book.zim, entry.data, BODY_MAX_BYTES))
    except (BookDataError, ReportError) as exc:
        raise _damaged(book.name, str(getattr(exc, "message", exc))) from exc
    return book, entry, checked


def _file_bytes(book: Any, checked: shared_lesson.LessonShare, index: int) -> tuple[str, bytes]:
    described = checked.body["files"][index]
    path = described.get("path")
    try:
        if not isinstance(path, str):
            raise BookDataError(f"files[{index}] has no path")
        data = read_entry(book.zim, path, shared_lesson.MAX_FILES_BYTES)
    except BookDataError as exc:
        raise _damaged(book.name, str(exc)) from exc
    wanted = checked.files[index]
    if len(data) != wanted.bytes or hashlib.sha256(data).hexdigest() != wanted.sha256:
        raise _damaged(book.name, f"{path} does not match its size and sha256")
    return wanted.name, data


@dataclasses.dataclass
class _Copy:
    """What a copy has made so far, to remove when it fails."""

    kit: Kit
    viewer: Any
    class_id: int
    uploads: list[str] = dataclasses.field(default_factory=list)

    def upload(self, name: str, data: bytes) -> dict[str, Any]:
        folder = self.kit.paths.uploads_dir / "lessons"
        limit = max(len(data), self.kit.settings.lesson_upload_max_mb * 1024 * 1024)
        stored = uploads.store(io.BytesIO(data), name, folder, uploads.LESSON_KINDS, limit)
        self.uploads.append(stored.name)
        return {
            "stored_name": stored.name,
            "media_type": stored.media_type,
            "size_bytes": stored.size_bytes,
            "sha256": stored.sha256,
        }

    def forget(self) -> None:
        for name in self.uploads:
            (self.kit.paths.uploads_dir / "lessons" / name).unlink(missing_ok=True)


def _questions(copy: _Copy, book: Any, checked: shared_lesson.LessonShare, item: dict) -> list[dict[str, Any]]:
    questions = []
    for number, raw in enumerate(item["questions"], start=1):
        if not isinstance(raw, dict):
            raise _damaged(book.name, f"question {number} of {item['title']!r} is not an object")
        try:
            stored = dataclasses.asdict(check_question(raw, number))
        except BadRequestError as exc:
            raise _damaged(book.name, f"{item['title']!r}: {exc.message}") from exc
        picture = raw.get("picture_file")
        if isinstance(picture, int) and not isinstance(picture, bool) and 0 <= picture < len(checked.files):
            name, data = _file_bytes(book, checked, picture)
            stored["picture"] = quiz_pictures.store_for_class(
                copy.kit, copy.viewer, copy.class_id, io.BytesIO(data), name
            )
        questions.append(stored)
    return questions


def _quiz(copy: _Copy, book: Any, checked: shared_lesson.LessonShare, item: dict) -> int:
    pass_mark = item.get("pass_mark", 60)
    if not isinstance(pass_mark, (int, float)) or isinstance(pass_mark, bool) or not 0 <= pass_mark <= 100:
        pass_mark = 60
    attempts = item.get("attempts_allowed", 1)
    attempts = attempts if isinstance(attempts, int) and not isinstance(attempts, bool) and 1 <= attempts <= 10 else 1
    questions = _questions(copy, book, checked, item)
    with copy.kit.quizzes.transaction() as conn:
        return copy.kit.quizzes.add_quiz(
            conn,
            class_id=copy.class_id,
            author_id=copy.viewer["id"],
            title=item["title"][: shared_lesson.MAX_TITLE],
            attempts_allowed=attempts,
            due_at=None,
            pass_mark=round(pass_mark / 100, 4),
            questions=questions,
        )


def _items(copy: _Copy, book: Any, checked: shared_lesson.LessonShare, words: Words) -> list[dict[str, Any]]:
    library = copy.kit.load_library()
    items = []
    for item in checked.body.get("items", []):
        kind, title = item["kind"], item["title"][:200]
        if kind in ("book", "article"):
            name = str(item.get("book", ""))
            try:
                library.book(name)
            except BookNotFoundError:
                title = f"{title}{words.book_missing}"
            items.append({"kind": kind, "title": title, "book": name, "path": str(item.get("path", ""))})
        elif kind == "file":
            name, data = _file_bytes(book, checked, item["file"])
            items.append({"kind": "upload", "title": title, **copy.upload(name, data)})
        else:
            items.append({"kind": "quiz", "title": title, "quiz_id": _quiz(copy, book, checked, item)})
    return items


def copy_shared(kit: Kit, viewer: Viewer | None, book_name: str, share_id: str, class_id: int, words: Words) -> int:
    """A draft of the shared lesson in `class_id` (one the viewer teaches; every class for an administrator); its id.
    A child is refused (AccessDeniedError), another teacher's class is as if absent (NotVisibleError)."""
    viewer = people.require(viewer, *people.STAFF)
    people.staff_class(kit.people, viewer, class_id)
    book, entry, checked = read_shared(kit, book_name, share_id)
    copy = _Copy(kit, viewer, class_id)
    try:
        items = _items(copy, book, checked, words)
        instructions = str(checked.body.get("instructions", "")).strip()
        source = words.source(checked.author, checked.school, checked.licence)
        instructions = instructions[: lessons.TEXT_MAX_CHARS - len(source) - 2]  # the source line always fits
        return kit.lessons.add_lesson(
            class_id,
            viewer["id"],
            checked.title,
            f"{instructions}\n\n{source}" if instructions else source,
            False,
            None,
            [],
            publish_at=None,
            items=items,
            position=_position(entry),
        )
    except BaseException:  # keep no file of a copy that was not made
        copy.forget()
        raise


def _position(entry: Any) -> dict[str, str | int | None]:
    place = entry.position
    keys = ("edition", "grade", "volume", "subject", "unit", "lesson")
    return {key: getattr(place, key) for key in keys} if place else {}
