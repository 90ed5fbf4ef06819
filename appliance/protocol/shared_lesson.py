"""A teacher's lesson shared with the county (docs/shared-lessons.md): the bodies of the `lesson` and `lesson_file`
reports, checked the same way by the kit that makes them and the hub that reads them, the parts a file is cut into,
and the states the hub tells back. No HTTP, no SQL.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

from appliance.errors import ReportError

PART_BYTES = 160 * 1024  # a file's bytes per `lesson_file` report, before base64: fits the 256 KiB report limit
MAX_FILES = 20
MAX_FILES_BYTES = 50 * 2**20
MAX_TITLE = 120
MAX_INSTRUCTIONS = 10_000
MAX_ITEMS = 100
LICENCES = ("CC BY 4.0", "CC BY-SA 4.0", "CC BY-NC 4.0", "CC0 1.0")
DEFAULT_LICENCE = LICENCES[0]
ITEM_KINDS = ("book", "article", "file", "quiz")
# As docs/textbook-units.md gives them: ids are short texts, the rest whole numbers in these ranges.
POSITION_KEYS: dict[str, tuple[int, int] | None] = {
    "edition": None,
    "grade": (1, 12),
    "volume": (1, 2),
    "subject": None,
    "unit": (1, 99),
    "lesson": (1, 99),
}
STATES = ("submitted", "accepted", "returned", "published", "broken")
MAX_STATES_IN_REPLY = 50


@dataclasses.dataclass(frozen=True)
class SharedFile:
    name: str
    media_type: str
    bytes: int
    sha256: str
    parts: int


@dataclasses.dataclass(frozen=True)
class LessonShare:
    """A `lesson` report's body, checked. `body` is the whole body as sent (what the county book carries)."""

    share_id: str
    version: int
    title: str
    licence: str
    author: str
    school: str
    position: dict[str, Any]
    files: tuple[SharedFile, ...]
    body: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class LessonPart:
    """A `lesson_file` report's body, checked: part `part` (0-based) of `parts` of file `file` of a share."""

    share_id: str
    version: int
    file: int
    part: int
    parts: int
    data: bytes


def _bad(what: str) -> ReportError:
    return ReportError(
        f"The shared lesson is malformed: {what}.",
        code="report.malformed",
        cause="It was written by another version of tpkit, by hand, or cut during a copy.",
        fix="Upgrade the kit's tpkit to the hub's version, then share the lesson again.",
    )


def _text(body: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str:
    value = body.get(key, "" if not required else None)
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise _bad(f"{key} is not a text of 1–{limit} characters")
    return value


def _whole(value: Any, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{what} = {value!r} is not a whole number from {low} to {high}")
    return value


def _share_id(value: Any) -> str:
    try:
        if not isinstance(value, str) or str(uuid.UUID(value)) != value:
            raise ValueError(value)
    except ValueError as exc:
        raise _bad(f"share_id = {value!r} is not a lower-case UUID") from exc
    return value


def check_position(position: Any) -> dict[str, Any]:
    """A position as docs/textbook-units.md gives it; keys may be missing."""
    if not isinstance(position, dict) or set(position) - set(POSITION_KEYS):
        raise _bad(f"position has keys other than {', '.join(POSITION_KEYS)}")
    for key, bounds in POSITION_KEYS.items():
        value = position.get(key)
        if value is None:
            continue
        if bounds is not None:
            _whole(value, bounds[0], bounds[1], f"position.{key}")
        elif not isinstance(value, str) or not 1 <= len(value) <= 20:
            raise _bad(f"position.{key} = {value!r} is not a short id")
    return position


def check_lesson(body: dict[str, Any]) -> LessonShare:
    share_id = _share_id(body.get("share_id"))
    version = _whole(body.get("version"), 1, 10_000, "version")
    title = _text(body, "title", MAX_TITLE)
    _text(body, "instructions", MAX_INSTRUCTIONS, required=False)
    licence = body.get("licence")
    if licence not in LICENCES:
        raise _bad(f"licence = {licence!r} is not one of {', '.join(LICENCES)}")
    author, school = _text(body, "author", 120), _text(body, "school", 120, required=False)
    position = check_position(body.get("position", {}))
    files_in = body.get("files", [])
    if not isinstance(files_in, list) or len(files_in) > MAX_FILES:
        raise _bad(f"files is not a list of at most {MAX_FILES}")
    files = []
    for index, entry in enumerate(files_in):
        if not isinstance(entry, dict):
            raise _bad(f"files[{index}] is not an object")
        size = _whole(entry.get("bytes"), 0, MAX_FILES_BYTES, f"files[{index}].bytes")
        sha256 = entry.get("sha256")
        if not isinstance(sha256, str) or len(sha256) != 64 or set(sha256) - set("0123456789abcdef"):
            raise _bad(f"files[{index}].sha256 is not 64 lower-case hex digits")
        parts = _whole(entry.get("parts"), 1, MAX_FILES_BYTES // PART_BYTES + 1, f"files[{index}].parts")
        if parts != parts_of(size):
            raise _bad(f"files[{index}].parts = {parts} does not match its {size} bytes")
        files.append(SharedFile(_text(entry, "name", 200), _text(entry, "media_type", 100), size, sha256, parts))
    if sum(f.bytes for f in files) > MAX_FILES_BYTES:
        raise _bad(f"its files are over {MAX_FILES_BYTES // 2**20} MB together")
    items = body.get("items", [])
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise _bad(f"items is not a list of at most {MAX_ITEMS}")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("kind") not in ITEM_KINDS:
            raise _bad(f"items[{index}] is not an object of kind {', '.join(ITEM_KINDS)}")
        _text(item, "title", 200)
        if item["kind"] == "file":
            _whole(item.get("file"), 0, len(files) - 1, f"items[{index}].file")
        if item["kind"] == "quiz" and not isinstance(item.get("questions"), list):
            raise _bad(f"items[{index}].questions is not a list")
    return LessonShare(share_id, version, title, licence, author, school, position, tuple(files), body)


def check_part(body: dict[str, Any]) -> LessonPart:
    share_id = _share_id(body.get("share_id"))
    version = _whole(body.get("version"), 1, 10_000, "version")
    file = _whole(body.get("file"), 0, MAX_FILES - 1, "file")
    parts = _whole(body.get("parts"), 1, MAX_FILES_BYTES // PART_BYTES + 1, "parts")
    part = _whole(body.get("part"), 0, parts - 1, "part")
    try:
        data = base64.b64decode(str(body.get("data", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("data is not base64") from exc
    if len(data) > PART_BYTES or (part < parts - 1 and len(data) != PART_BYTES):
        raise _bad(f"part {part} holds {len(data)} bytes; every part but the last holds {PART_BYTES}")
    return LessonPart(share_id, version, file, part, parts, data)


def parts_of(size: int) -> int:
    """How many parts a file of `size` bytes travels in (an empty file in one empty part)."""
    return max(1, -(-size // PART_BYTES))


def cut(share_id: str, version: int, file: int, data: bytes) -> Iterator[dict[str, Any]]:
    """The `lesson_file` bodies that carry `data`, in order."""
    parts = parts_of(len(data))
    for part in range(parts):
        chunk = data[part * PART_BYTES : (part + 1) * PART_BYTES]
        yield {
            "share_id": share_id,
            "version": version,
            "file": file,
            "part": part,
            "parts": parts,
            "data": base64.b64encode(chunk).decode("ascii"),
        }


def check_states(states: Any) -> list[dict[str, Any]]:
    """The `shares` of a hub's reply: the ones a kit can use (others are dropped, never an error: a reply's
    `desired_config` must not be lost over one odd state)."""
    kept = []
    for state in states if isinstance(states, list) else []:
        try:
            if not isinstance(state, dict) or state.get("state") not in STATES:
                continue
            _share_id(state.get("share_id"))
            _whole(state.get("version"), 1, 10_000, "version")
            if not isinstance(state.get("comment", ""), str) or not isinstance(state.get("at"), str):
                continue
        except ReportError:
            continue
        kept.append(state)
    return kept[:MAX_STATES_IN_REPLY]
