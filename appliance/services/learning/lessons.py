"""Lessons and homework: who may see, open, hand in and grade what; the student's "My space" and the class
overview. No HTTP here.

Must not import web or cli. Every function takes the signed-in `viewer` and checks it first: a student sees only
lessons of their classes assigned to them and only their own hand-ins; a teacher only their classes' lessons.
Anything not visible is NotVisibleError, exactly like something that does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from appliance.content.zimfile import Redirect
from appliance.errors import LessonError, NotVisibleError, TpkitError
from appliance.services.learning import (
    clock,
    handin_photos,
    quiz_overview,
    quotas,
    records,
    scores,
    thumbnails,
    uploads,
)
from appliance.services.people import access as people, name_order
from appliance.storage.lessons import Lessons
from appliance.storage.people import People

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

TITLE_MAX_CHARS = 120
TEXT_MAX_CHARS = 10_000  # instructions, an answer, a comment: a long page, not a book
DUE_PATTERN = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?")
PHOTOS_MAX = 4
NEW_DAYS = 7  # a lesson is "new" on My space for a week or until opened
STATES = ("not_opened", "opened", "handed_in", "late", "graded", "returned")
FIELDS = {"answer": "body", "maximum": "out_of"}  # what a message calls a field → the form's field name
NOW = "now"  # create()'s publish_at for lessons made in code (bench, tests, imports): published at once, as before


def _text(value: str, what: str, required: bool = False, max_chars: int = TEXT_MAX_CHARS) -> str:
    text = value.replace("\r\n", "\n").strip()
    if required and not text:
        raise LessonError(
            f"The {what} is missing.",
            fix=f"Type a {what}, then send the form again.",
            code="lesson.text_missing",
            field=FIELDS.get(what, what),
        )
    if len(text) > max_chars:
        raise LessonError(
            f"The {what} has {len(text)} characters; at most {max_chars} are kept.",
            fix=f"Shorten the {what}.",
            code="lesson.text_too_long",
            field=FIELDS.get(what, what),
        )
    return text


def parse_due(value: str) -> str | None:
    """'YYYY-MM-DD' (due at the end of that day) or 'YYYY-MM-DD HH:MM' → 'YYYY-MM-DD HH:MM'; '' → None. A due time
    is the kit's wall time, compared with `clock.wall` (services/learning/clock.py)."""
    value = value.strip()
    if not value:
        return None
    found = DUE_PATTERN.fullmatch(value)
    try:
        if not found:
            raise ValueError(value)
        day = dt.date.fromisoformat(found[1])
        time_of_day = dt.time.fromisoformat(found[2]) if found[2] else dt.time(23, 59)
    except ValueError:
        raise LessonError(
            f"The due date {value!r} is not a date.",
            fix="Pick the date from the calendar (year-month-day, e.g. 2026-12-01).",
            code="lesson.due_not_date",
            field="due",
        ) from None
    return f"{day.isoformat()} {time_of_day.strftime('%H:%M')}"


# --- teachers ------------------------------------------------------------------------------------


def create(
    people_: People,
    lessons: Lessons,
    viewer: Viewer,
    class_id: int,
    title: str,
    instructions: str,
    homework: bool,
    due: str,
    student_ids: list[int],
    publish_at: str | None = NOW,
) -> int:
    """A teacher's new lesson (or homework) for one of their classes, for the whole class or the chosen students;
    a draft children do not see while `publish_at` is None, else seen from then on (ISO UTC; NOW: at once)."""
    people.staff_class(people_, viewer, class_id)
    title, instructions = checked_title(title), checked_text(instructions, "instructions")
    chosen = checked_students(people_, class_id, student_ids)
    publish_at = clock.utc_text(None) if publish_at == NOW else publish_at
    return lessons.add_lesson(
        class_id, viewer["id"], title, instructions, homework, parse_due(due), chosen, publish_at=publish_at
    )


def checked_title(title: str) -> str:
    """A lesson's title on one line, required, at most TITLE_MAX_CHARS; LessonError otherwise."""
    return _text(title, "title", required=True, max_chars=TITLE_MAX_CHARS).replace("\n", " ")


def checked_text(value: str, what: str) -> str:
    """Instructions or an answer with Windows line ends made plain, at most TEXT_MAX_CHARS; LessonError otherwise."""
    return _text(value, what)


def checked_students(people_: People, class_id: int, student_ids: list[int]) -> list[int]:
    """The chosen students, sorted, when all are in the class; NotVisibleError otherwise."""
    enrolled = {s["id"] for s in people_.students_of(class_id)}
    chosen = sorted(set(student_ids))
    if set(chosen) - enrolled:
        raise NotVisibleError("A chosen student is not in this class.", fix="Pick students from the class list.")
    return chosen


def staff_lesson(people_: People, lessons: Lessons, viewer: Viewer | None, lesson_id: int):
    """(class, lesson) that an administrator or a teacher of the lesson's class opens; NotVisibleError otherwise."""
    viewer = people.require(viewer, *people.STAFF)
    lesson = lessons.lesson(lesson_id)
    if lesson is None or lesson["archived_at"]:  # a deleted lesson is archived: gone from every page
        raise NotVisibleError(
            f"There is no lesson {lesson_id} among your classes.",
            code="lesson.not_found",
            fix="Open the lesson from your class's page.",
        )
    try:
        klass = people.staff_class(people_, viewer, lesson["class_id"])
    except NotVisibleError:
        raise NotVisibleError(
            f"There is no lesson {lesson_id} among your classes.",
            code="lesson.not_found",
            fix="Open the lesson from your class's page.",
        ) from None
    return klass, lesson


def add_library_item(
    people_: People, lessons: Lessons, library, viewer: Viewer, lesson_id: int, book_name: str, path: str = ""
) -> int:
    """Add a whole book (no path) or one of its articles; its title is read from the book."""
    staff_lesson(people_, lessons, viewer, lesson_id)
    book = library.book(book_name)
    if not path:
        return lessons.add_item(lesson_id, kind="book", title=book.title, book=book.name)
    found = book.zim.lookup(path)  # EntryNotFoundError when the article is not in this book
    if isinstance(found, Redirect):  # keep the article itself, whatever old name the search found
        path = found.target_path
    return lessons.add_item(lesson_id, kind="article", title=book.zim.title_of(path), book=book.name, path=path)


def add_quiz_item(kit: Kit, viewer: Viewer, lesson_id: int, quiz_id: int) -> int:
    """Add one of the class's quizzes to the lesson (children open it from the lesson's page)."""
    _, lesson = staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
    quiz = kit.quizzes.quiz(quiz_id)
    if quiz is None or quiz["archived_at"] or quiz["class_id"] != lesson["class_id"]:
        raise NotVisibleError(
            f"There is no quiz {quiz_id} in this lesson's class.",
            code="lesson.quiz_not_in_class",
            fix="Pick a quiz of this class from the list on the lesson's page.",
        )
    return kit.lessons.add_item(lesson_id, kind="quiz", title=quiz["title"], quiz_id=quiz_id)


def add_upload(kit: Kit, viewer: Viewer, lesson_id: int, source: BinaryIO, filename: str, title: str) -> int:
    """Store a teacher's file under uploads/lessons (complete on disk first), then add it to the lesson."""
    staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
    title = _text(title, "title", max_chars=TITLE_MAX_CHARS).replace("\n", " ")
    stored = uploads.store(
        source,
        filename,
        kit.paths.uploads_dir / "lessons",
        uploads.LESSON_KINDS,
        kit.settings.lesson_upload_max_mb * 1024 * 1024,
    )
    try:
        return kit.lessons.add_item(
            lesson_id,
            kind="upload",
            title=title or stored.original_name,
            stored_name=stored.name,
            media_type=stored.media_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        )
    except BaseException:
        (kit.paths.uploads_dir / "lessons" / stored.name).unlink(missing_ok=True)
        raise


# --- students ------------------------------------------------------------------------------------


def student_lesson(lessons: Lessons, viewer: Viewer, lesson_id: int, now: str | None = None):
    """A published lesson of one of the student's classes assigned to them (at `now`, ISO UTC; None: the clock);
    NotVisibleError otherwise, a draft exactly like a lesson that does not exist."""
    viewer = people.require(viewer, "student")
    found = next((lesson for lesson in lessons.for_student(viewer["id"], now) if lesson["id"] == lesson_id), None)
    if found is None:
        raise NotVisibleError(
            f"There is no lesson {lesson_id} for you.", code="lesson.not_found", fix="Open your lessons from My space."
        )
    return found


def open_lesson(kit: Kit, viewer: Viewer, lesson_id: int, item_id: int | None = None, record: bool = True):
    """A student opens a lesson (item_id None) or one of its items: recorded for the teacher, and as an xAPI
    statement unless the student opened the same activity within records.OPEN_WINDOW_S. Returns (lesson, item or
    None). Item 0, like any item the lesson does not have, is lesson.not_found (issue 14: it was a 500). With
    `record` False (the phone keeping the page for later, not the child reading it) nothing is recorded."""
    lesson = student_lesson(kit.lessons, viewer, lesson_id)
    item = None
    if item_id is not None:
        item = kit.lessons.item(item_id)
        if item is None or item["lesson_id"] != lesson_id:
            raise NotVisibleError(
                f"The lesson has no item {item_id}.",
                code="lesson.not_found",
                fix="Open the lesson again from My space.",
            )
    if record:
        kit.lessons.mark_opened(lesson_id, viewer["id"], item_id or 0, clock.stamp(kit.settings))
        kind, parts, name = _activity(lesson, item)
        records.record_open(kit, viewer, kind, "/".join(parts), name)
    return lesson, item


def _activity(lesson, item) -> tuple[str, tuple[str, ...], str]:
    if item is not None and item["kind"] == "quiz":
        return "quiz", (str(item["quiz_id"]),), item["title"]
    if item is None or item["kind"] == "upload":
        return (
            "lesson",
            (str(lesson["id"]), *((f"item-{item['id']}",) if item else ())),
            (item["title"] if item else lesson["title"]),
        )
    if item["kind"] == "book":
        return "book", (item["book"],), item["title"]
    return "article", (item["book"], item["path"]), item["title"]


def hand_in(
    kit: Kit,
    viewer: Viewer,
    lesson_id: int,
    body: str,
    photos: list[tuple[BinaryIO, str]],
    when: dt.datetime | None = None,
    delivery: tuple[str, dt.datetime] | None = None,
) -> int:
    """A student hands in homework: each photo written completely first (a camera's JPEG checked whole and kept as
    sent until it is made small after the answer, services/learning/handin_photos; another picture scaled down and
    without metadata in uploads/handins at once), then one committed row (synchronous=FULL) naming them. Late when
    after the due time, both on the kit's clock (`when`: aware, or naive as the kit's wall time; None: now). Refused
    once graded (until returned), and with HandinRoomError when the student's quotas or the disk's reserve would not
    hold it (services/learning/quotas). A phone's `delivery` (client id, arrival) is stored beside it, `when` being
    when the phone made it (services/learning/deliveries)."""
    lesson = student_lesson(kit.lessons, viewer, lesson_id)
    if not lesson["homework"]:
        raise LessonError("This lesson has no homework to hand in.", fix="Open the homework from My space.")
    body = _text(body, "answer")
    if not body and not photos:
        raise LessonError(
            "The hand-in is empty.",
            fix="Write your answer or add a photo, then hand in.",
            code="lesson.handin_empty",
            field="body",
        )
    if len(photos) > PHOTOS_MAX:
        raise LessonError(
            f"{len(photos)} photos were sent; at most {PHOTOS_MAX} are kept.",
            fix="Hand in fewer photos.",
            code="lesson.too_many_photos",
            field="photos",
        )
    latest = kit.lessons.latest_handins([lesson_id], viewer["id"]).get((lesson_id, viewer["id"]))
    if latest is not None and latest["state"] == "graded":
        raise LessonError(
            "This homework is already graded.",
            code="lesson.already_graded",
            fix="Ask your teacher to return it if you want to do it again.",
        )
    space = quotas.room(kit, viewer["id"], lesson_id)
    if photos:  # an answer alone takes no room on the disk; photos are refused before any is written
        space.check()
        quotas.check_free_space(kit, photos)
    when = clock.wall(kit.settings, when)
    late = bool(lesson["due_at"]) and when.strftime("%Y-%m-%d %H:%M") > lesson["due_at"]
    folder, limit = kit.paths.uploads_dir / "handins", kit.settings.handin_photo_max_mb * 1024 * 1024
    waiting = handin_photos.folder(kit)
    stored: list[uploads.StoredFile] = []
    try:
        for source, filename in photos:
            stored.append(
                uploads.store(
                    source,
                    filename,
                    folder,
                    uploads.PHOTO_KINDS,
                    limit,
                    shrink_edge_px=kit.settings.handin_photo_max_edge_px,
                    waiting_folder=waiting,
                )
            )
        if stored:
            space.check(sum(s.size_bytes for s in stored))
        for done in stored:  # grading pages show these; one that cannot be made now is made when first asked for
            if not done.waiting:
                thumbnails.ensure(folder / done.name, thumbnails.folder(kit))
        handin_id = kit.lessons.add_handin(
            lesson_id,
            viewer["id"],
            body,
            clock.stamp(kit.settings, when),
            late,
            [(s.name, s.media_type, s.size_bytes, s.sha256) for s in stored],
            (delivery[0], clock.stamp(kit.settings, when), clock.stamp(kit.settings, delivery[1]))
            if delivery
            else None,
        )
    except BaseException:  # one photo refused (or the database failed): keep none of this hand-in's files
        for done in stored:
            (waiting / done.name if done.waiting else folder / done.name).unlink(missing_ok=True)
            thumbnails.remove(folder / done.name, thumbnails.folder(kit))
        raise
    handin_photos.submit(kit, [s.name for s in stored if s.waiting])
    records.record(kit, viewer["id"], "handed_in", "homework", str(lesson_id), lesson["title"])
    return handin_id


def handin_file(kit: Kit, viewer: Viewer | None, file_id: int):
    """(file row, path) for the student who handed it in, or a teacher of the lesson's class."""
    row = kit.lessons.handin_file(file_id)
    handin = kit.lessons.handin(row["handin_id"]) if row else None
    allowed = (
        row is not None
        and handin is not None
        and (
            (viewer is not None and viewer["role"] == "student" and viewer["id"] == handin["account_id"])
            or _staff_may(kit, viewer, handin["lesson_id"])
        )
    )
    if not allowed or row is None:
        people.require(viewer, "student", *people.STAFF)
        raise NotVisibleError(f"There is no file {file_id}.", code="lesson.not_found", fix="Open it from the lesson.")
    if not handin_photos.ready(kit, row["stored_name"]):  # made small now if it still waits (a moment after a hand-in)
        raise NotVisibleError(
            f"Photo {file_id} could not be opened after it was handed in.",
            code="lesson.photo_unreadable",
            cause="the photo's data was damaged on its way (a phone's upload cut short)",
            fix="Return the homework so that the student can hand in the photo again.",
        )
    row = kit.lessons.handin_file(file_id)  # its size and digest as made small (the ETag's key)
    assert row is not None, file_id
    return row, kit.paths.uploads_dir / "handins" / row["stored_name"]


def lesson_file(kit: Kit, viewer: Viewer, item_id: int):
    """(item row, path) of a teacher's upload, for a student it is assigned to or a teacher of the class."""
    item = kit.lessons.item(item_id)
    if item is None or item["kind"] != "upload":
        viewer = people.require(viewer, "student", *people.STAFF)
        raise NotVisibleError(f"There is no file {item_id}.", code="lesson.not_found", fix="Open it from the lesson.")
    if viewer is not None and viewer["role"] == "student":
        open_lesson(kit, viewer, item["lesson_id"], item_id)
    elif not _staff_may(kit, viewer, item["lesson_id"]):
        viewer = people.require(viewer, "student", *people.STAFF)
        raise NotVisibleError(f"There is no file {item_id}.", code="lesson.not_found", fix="Open it from the lesson.")
    return item, kit.paths.uploads_dir / "lessons" / item["stored_name"]


def _staff_may(kit: Kit, viewer: Viewer | None, lesson_id: int) -> bool:
    try:
        staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
        return True
    except TpkitError:
        return False


# --- what each side sees -------------------------------------------------------------------------


@dataclasses.dataclass
class Cell:
    state: str  # one of STATES
    handin: dict | None


def state_of(lesson, opened: bool, handin) -> str:
    if handin is not None:
        if handin["state"] in ("graded", "returned"):
            return handin["state"]
        return "late" if handin["late"] else "handed_in"
    return "opened" if opened else "not_opened"


def my_space(kit: Kit, viewer: Viewer, when: dt.datetime | None = None) -> dict:
    """The student's lessons sorted into due, new, came back with feedback, and the rest (My space's history is
    services/learning/notebook.history), at `when` (aware, or naive as the kit's wall time; None: now)."""
    viewer = people.require(viewer, "student")
    found = kit.lessons.for_student(viewer["id"], clock.utc_text(kit.settings, when) if when else None)
    when = clock.wall(kit.settings, when)
    ids = [lesson["id"] for lesson in found]
    opens, handins = kit.lessons.opens(ids), kit.lessons.latest_handins(ids, viewer["id"])
    space: dict[str, list[Any]] = {"due": [], "new": [], "feedback": [], "other": []}
    week_ago = clock.stamp(kit.settings, when - dt.timedelta(days=NEW_DAYS))
    for lesson in found:
        handin = handins.get((lesson["id"], viewer["id"]))
        entry = {
            "lesson": lesson,
            "state": state_of(lesson, (lesson["id"], viewer["id"]) in opens, handin),
            "handin": handin,
            "overdue": bool(lesson["due_at"]) and clock.stamp(kit.settings, when)[:16] > lesson["due_at"],
        }
        if handin is not None and handin["state"] in ("graded", "returned"):
            space["feedback"].append(entry)
        if lesson["homework"] and (handin is None or handin["state"] == "returned"):
            space["due"].append(entry)
        elif entry["state"] == "not_opened" and _seen_since(kit.settings, lesson) >= week_ago[:16]:
            space["new"].append(entry)
        elif not (handin is not None and handin["state"] in ("graded", "returned")):
            space["other"].append(entry)
    space["due"].sort(key=lambda e: e["lesson"]["due_at"] or "9999")
    return space


def _seen_since(settings: Any, lesson) -> str:
    """When children could first see the lesson, in created_at's form (the kit's wall time 'YYYY-MM-DD HH:MM'): a
    lesson published a week after it was drafted is new from its publish time."""
    if not lesson["publish_at"]:
        return lesson["created_at"]
    return max(lesson["created_at"], clock.wall_of_utc(settings, lesson["publish_at"])[:16])


def overview(kit: Kit, viewer: Viewer, class_id: int, now: str | None = None) -> dict:
    """Students × published lessons of a class (at `now`, ISO UTC; None: the clock; drafts ask children nothing yet)
    with each cell's state and the newest hand-in (score, late); students × quizzes (services/learning/quiz_overview);
    and per student how many homework and quizzes are not handed in."""
    klass = people.staff_class(kit.people, viewer, class_id)
    students = name_order.students_of(kit.people, class_id)
    found = list(reversed(kit.lessons.published_of_class(class_id, now)))
    ids = [lesson["id"] for lesson in found]
    opens, handins = kit.lessons.opens(ids), kit.lessons.latest_handins(ids)
    assigned = {lesson["id"]: set(kit.lessons.assigned_to(lesson["id"])) for lesson in found}
    cells = {}
    for lesson in found:
        for student in students:
            if assigned[lesson["id"]] and student["id"] not in assigned[lesson["id"]]:
                continue
            key = (lesson["id"], student["id"])
            handin = handins.get(key)
            cells[key] = Cell(state_of(lesson, key in opens, handin), dict(handin) if handin else None)
    quizzes = kit.quizzes.of_class(class_id)
    table = {
        "klass": klass,
        "students": students,
        "lessons": found,
        "cells": cells,
        "quizzes": quizzes,
        "quiz_cells": quiz_overview.quiz_cells(kit, quizzes, students),
    }
    table["behind"] = quiz_overview.behind(table)
    return table


def progress(table: dict) -> list[dict]:
    """Per lesson, oldest first: the share of its students who handed in (or opened, for a lesson without
    homework) and their mean score as a share of the maximum (None before any grade) — the overview's chart."""
    points = []
    for lesson in table["lessons"]:
        cells = [c for (lesson_id, _), c in table["cells"].items() if lesson_id == lesson["id"]]
        done_states = ("handed_in", "late", "graded", "returned") if lesson["homework"] else STATES[1:]
        done = sum(1 for c in cells if c.state in done_states)
        scores = [
            c.handin["score"] / c.handin["out_of"]
            for c in cells
            if c.handin and c.handin["score"] is not None and c.handin["out_of"]
        ]
        points.append(
            {
                "title": lesson["title"],
                "done": done / len(cells) if cells else 0.0,
                "score": sum(scores) / len(scores) if scores else None,
            }
        )
    return points


def overview_rows(table: dict, t: Callable[..., str]) -> list[list[Any]]:
    """The overview as CSV rows in the language of `t` (a translator: key → text): one per student with its
    name, student number and how much is not done, then per lesson and per quiz a state, a score and an out-of
    column, and per lesson its level (优/良/合格/待合格). Scores are plain numbers rounded for people
    (services/learning/scores), never "4/5" in one cell."""
    header = [t("overview.csv_name"), t("overview.csv_number"), t("overview.behind")]
    for title, levelled in [(lesson["title"], True) for lesson in table["lessons"]] + [
        (quiz["title"], False) for quiz in table["quizzes"]
    ]:
        header += [
            t("overview.csv_state", title=title),
            t("overview.csv_score", title=title),
            t("overview.csv_out_of", title=title),
            *([t("overview.csv_level", title=title)] if levelled else []),
        ]
    rows = [header]
    for student in table["students"]:
        row = [student["display_name"], student["student_number"] or "", table["behind"][student["id"]]]
        for lesson in table["lessons"]:
            cell = table["cells"].get((lesson["id"], student["id"]))
            graded = cell is not None and cell.handin is not None and cell.handin["score"] is not None
            level = scores.level_key(cell.handin["level"]) if cell is not None and cell.handin is not None else ""
            row += [
                "" if cell is None else t("state." + cell.state),
                scores.shown(cell.handin["score"]) if graded else "",
                scores.shown(cell.handin["out_of"]) if graded else "",
                t(level) if level else "",
            ]
        for quiz in table["quizzes"]:
            quiz_cell = table["quiz_cells"].get((quiz["id"], student["id"]))  # None: the quiz is for others
            row += (
                ["", "", ""]
                if quiz_cell is None
                else [t("quiz_state." + quiz_cell.state), scores.shown(quiz_cell.best), scores.shown(quiz_cell.out_of)]
            )
        rows.append(row)
    return rows


def student_summary(kit: Kit, viewer: Viewer, class_id: int, student_id: int) -> dict:
    """One student's row of the overview with their lessons and quizzes, for the printable page for parents."""
    table = overview(kit, viewer, class_id)
    student = next((s for s in table["students"] if s["id"] == student_id), None)
    if student is None:
        raise NotVisibleError(f"There is no student {student_id} in this class.", fix="Pick a name from the overview.")
    rows = [
        (lesson, table["cells"][(lesson["id"], student_id)])
        for lesson in table["lessons"]
        if (lesson["id"], student_id) in table["cells"]
    ]
    quiz_rows = [
        (quiz, table["quiz_cells"][(quiz["id"], student_id)])
        for quiz in table["quizzes"]
        if (quiz["id"], student_id) in table["quiz_cells"]
    ]
    return {"klass": table["klass"], "student": student, "rows": rows, "quiz_rows": quiz_rows}
