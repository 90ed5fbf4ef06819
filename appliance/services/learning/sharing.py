"""Sharing a lesson with the county (issue 17 §4, docs/shared-lessons.md): what goes out, checked against the limits,
and the `lesson` report with its `lesson_file` reports queued in the outbox, signed like every report. No HTTP here.

Must not import web or cli. The lesson's teacher (or an administrator) shares; every report of a version and its
`lesson_shares` row are stored in one transaction, so a version is queued whole or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.edges import minisign
from appliance.errors import BadRequestError, BookNotFoundError, LessonError, ShareError
from appliance.protocol import shared_lesson
from appliance.services.learning import lesson_edits, lessons, quiz_pictures
from appliance.services.reporting import kit_key
from appliance.services.reporting.outbox_reports import Signer
from appliance.storage import lesson_shares

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

HASH_CHUNK_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class OutgoingFile:
    """A file that goes out with the lesson: an upload or a question's picture, read from `path` when queued."""

    name: str
    media_type: str
    size_bytes: int
    path: Path


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """What sharing the lesson sends: the body's items (files named by index in `files`) and the files."""

    items: list[dict[str, Any]]
    files: list[OutgoingFile]
    quizzes: list[tuple[str, int]]  # (title, number of questions), for the confirmation

    @property
    def files_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def _file_name(title: str, stored_name: str) -> str:
    suffix = Path(stored_name).suffix
    return title if not suffix or title.lower().endswith(suffix) else f"{title}{suffix}"


def _book_title(kit: Kit, name: str, fallback: str) -> str:
    try:
        return kit.load_library().book(name).title
    except BookNotFoundError:
        return fallback


def _quiz_item(kit: Kit, item: Any, files: list[OutgoingFile]) -> dict[str, Any]:
    quiz = kit.quizzes.quiz(item["quiz_id"])
    assert quiz is not None  # the item's quiz row: lesson_items.quiz_id references it
    questions: list[dict[str, Any]] = []
    for question in kit.quizzes.questions(item["quiz_id"]):
        question = dict(question)
        picture = question.pop("picture", None)
        row = kit.quizzes.picture(picture) if isinstance(picture, int) and not isinstance(picture, bool) else None
        if row is not None:
            path = kit.paths.uploads_dir / quiz_pictures.FOLDER / row["stored_name"]
            name = f"{quiz['title']}-{len(questions) + 1}{Path(row['stored_name']).suffix}"
            question["picture_file"] = len(files)
            files.append(OutgoingFile(name, row["media_type"], row["size_bytes"], path))
        questions.append(question)
    return {
        "kind": "quiz",
        "title": quiz["title"],
        "pass_mark": round(float(quiz["pass_mark"]) * 100, 2),  # stored as a fraction; the contract says percent
        "attempts_allowed": quiz["attempts_allowed"],
        "questions": questions,
    }


def outgoing(kit: Kit, lesson: Any) -> Outgoing:
    """The lesson's items as the `lesson` body carries them, and the files they need (nothing read yet)."""
    items: list[dict[str, Any]] = []
    files: list[OutgoingFile] = []
    quizzes: list[tuple[str, int]] = []
    for item in kit.lessons.items(lesson["id"]):
        if item["kind"] in ("book", "article"):
            entry = {"kind": item["kind"], "title": item["title"], "book": item["book"]}
            entry["book_title"] = _book_title(kit, item["book"], item["title"])
            items.append(entry | ({"path": item["path"]} if item["kind"] == "article" else {}))
        elif item["kind"] == "upload":
            path = kit.paths.uploads_dir / "lessons" / item["stored_name"]
            name = _file_name(item["title"], item["stored_name"])
            items.append({"kind": "file", "title": item["title"], "file": len(files)})
            files.append(OutgoingFile(name, item["media_type"], item["size_bytes"], path))
        elif item["kind"] == "quiz" and not item["quiz_archived_at"]:
            items.append(_quiz_item(kit, item, files))
            quizzes.append((items[-1]["title"], len(items[-1]["questions"])))
    return Outgoing(items, files, quizzes)


def check_limits(found: Outgoing) -> None:
    """ShareError (share.too_big) listing the files, largest first, when there are more than MAX_FILES or they hold
    more than MAX_FILES_BYTES together."""
    count, total = len(found.files), found.files_bytes
    if count <= shared_lesson.MAX_FILES and total <= shared_lesson.MAX_FILES_BYTES:
        return
    largest = sorted(found.files, key=lambda f: -f.size_bytes)
    listed = ", ".join(f"{f.name} ({f.size_bytes / 2**20:.1f} MB)" for f in largest)
    most_mb = shared_lesson.MAX_FILES_BYTES // 2**20
    raise ShareError(
        f"This lesson has {count} files of {total / 2**20:.1f} MB together; a shared lesson may have at most "
        f"{shared_lesson.MAX_FILES} files of {most_mb} MB together: {listed}.",
        cause="Recorded video or many pictures make a lesson too big to send over a school's uplink.",
        fix="Remove the largest files from the lesson (or share a shorter video), then share it again.",
        code="share.too_big",
        values={
            "count": count,
            "mb": f"{total / 2**20:.1f}",
            "files": listed,
            "max": shared_lesson.MAX_FILES,
            "max_mb": most_mb,
        },
    )


def _sha256(path: Path, title: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    except FileNotFoundError:
        raise LessonError(
            f"The file {title!r} of this lesson is missing on the kit ({path}).",
            cause="It was deleted from the disk, or the disk was replaced without the uploads folder.",
            fix="Remove that item from the lesson (or upload the file again), then share the lesson.",
            code="lesson.file_missing",
        ) from None
    return digest.hexdigest()


def preview(kit: Kit, viewer: Viewer, lesson_id: int) -> dict[str, Any]:
    """What the share page confirms: the lesson, its author and school, the items and files that go out, whether
    they are within the limits (`too_big`: the ShareError, else None), the licences and the latest share."""
    klass, lesson = lesson_edits.owned_lesson(kit, viewer, lesson_id)
    found = outgoing(kit, lesson)
    try:
        check_limits(found)
        too_big = None
    except ShareError as exc:
        too_big = exc
    return {
        "klass": klass,
        "lesson": lesson,
        "author": _author(kit, lesson),
        "school": kit.settings.school_name,
        "outgoing": found,
        "too_big": too_big,
        "licences": shared_lesson.LICENCES,
        "default_licence": shared_lesson.DEFAULT_LICENCE,
        "share": state(kit, lesson_id),
    }


def _author(kit: Kit, lesson: Any) -> str:
    teacher = kit.people.person(lesson["teacher_id"]) if lesson["teacher_id"] else None
    return teacher["display_name"] if teacher else ""


def state(kit: Kit, lesson_id: int) -> Any:
    """The lesson's newest shared version (state, comment, reviewer, `waiting` reports in the outbox), or None."""
    return lesson_shares.latest(kit.db.read(), lesson_id)


def share(
    kit: Kit,
    viewer: Viewer,
    lesson_id: int,
    licence: str,
    *,
    secret: minisign.SecretKey | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Queue the lesson (the viewer made it, or is an administrator) as a `lesson` report and its files' `lesson_file`
    reports; the version (1, or one more than the last, with the same share_id). ShareError over the limits."""
    _, lesson = lesson_edits.owned_lesson(kit, viewer, lesson_id)
    if licence not in shared_lesson.LICENCES:
        raise BadRequestError(
            f"The licence {licence!r} is not one the county accepts.",
            fix="Choose one of the licences listed.",
            code="request.bad",
            field="licence",
        )
    found = outgoing(kit, lesson)
    check_limits(found)
    last = state(kit, lesson_id)
    share_id, version = (last["share_id"], last["version"] + 1) if last else (str(uuid.uuid4()), 1)
    body = _body(kit, lesson, found, share_id, version, licence)
    shared_lesson.check_lesson(body)  # the hub checks the same: what it would refuse never leaves
    signer = Signer.for_kit(kit, secret or kit_key.ensure(kit.paths), now)
    with kit.db.transaction() as conn:
        first = last_sequence = signer.store(conn, "lesson", body)
        for index, file in enumerate(found.files):
            data = _read(file)
            for part in shared_lesson.cut(share_id, version, index, data):
                last_sequence = signer.store(conn, "lesson_file", part)
        lesson_shares.add(
            conn,
            share_id=share_id,
            version=version,
            lesson_id=lesson_id,
            licence=licence,
            shared_at=signer.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            shared_by=viewer["id"],
            sequences=(first, last_sequence),
        )
    return version


def _read(file: OutgoingFile) -> bytes:
    try:
        return file.path.read_bytes()
    except FileNotFoundError:
        _sha256(file.path, file.name)  # raises lesson.file_missing
        raise


def _body(kit: Kit, lesson: Any, found: Outgoing, share_id: str, version: int, licence: str) -> dict[str, Any]:
    position = {key: lesson[f"pos_{key}"] for key in shared_lesson.POSITION_KEYS if lesson[f"pos_{key}"] is not None}
    files = []
    for file in found.files:
        size = file.path.stat().st_size if file.path.exists() else file.size_bytes
        files.append(
            {
                "name": file.name[:200],
                "media_type": file.media_type,
                "bytes": size,
                "sha256": _sha256(file.path, file.name),
                "parts": shared_lesson.parts_of(size),
            }
        )
    return {
        "share_id": share_id,
        "version": version,
        "title": lessons.checked_title(lesson["title"]),
        "instructions": lesson["instructions"],
        "position": position,
        "licence": licence,
        "author": _author(kit, lesson) or "-",
        "school": kit.settings.school_name,
        "items": found.items,
        "files": files,
    }
