"""Textbook positions in a book (docs/textbook-units.md): the `_edition:`/`_grade:`… tags, `tpkit/items.json` (the
book's items with their positions) and `tpkit/curriculum.json` (a county's curriculum map), read and checked.

Must not import storage, edges, services or web. Bad data raises BookDataError (a ValueError) naming what is wrong;
the caller ignores that file for that book.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

from appliance import strict_json
from appliance.content.layeredzim import LayeredZim
from appliance.content.zimfile import Content, Redirect, ZimFile
from appliance.errors import DamagedBookError, EntryNotFoundError
from appliance.typed_numbers import whole_number

ITEMS_PATH = "tpkit/items.json"
CURRICULUM_PATH = "tpkit/curriculum.json"
LESSONS_PATH = "tpkit/lessons.json"  # teachers' lessons the county published (docs/shared-lessons.md §3)
# A book's item list is read into memory on every worker (1 GB Pi): 4 MiB holds ~15,000 items, more than a county's
# whole video collection for a grade; a bigger file is refused, not read.
ITEMS_MAX_BYTES = 4 * 1024 * 1024
ITEMS_MAX_COUNT = 20_000
CURRICULUM_MAX_BYTES = 2 * 1024 * 1024
LESSONS_MAX_BYTES = 4 * 1024 * 1024  # a county's whole year of shared lessons is a few thousand short entries
LESSONS_MAX_COUNT = 10_000
SHARE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NAME_MAX_CHARS = 200

KINDS = ("video", "audio", "pdf", "image", "page", "lesson")  # lesson: a shared lesson's page (docs/shared-lessons.md)
ID = re.compile(r"[a-z0-9-]{1,20}")
RANGES = {  # the numbered levels of a position: lowest and highest
    "grade": (1, 12),
    "volume": (1, 2),
    "unit": (1, 99),
    "lesson": (1, 99),
}


class BookDataError(ValueError):
    """A book's `tpkit/…` file or tag does not follow docs/textbook-units.md; the message says what and where."""


@dataclasses.dataclass(frozen=True, order=True, slots=True)  # slots: a county's items are many (1 GB Pi)
class Position:
    """A place in the curriculum: edition → grade → volume → subject → unit → lesson; each optional from the right."""

    edition: str
    grade: int
    volume: int
    subject: str
    unit: int | None = None
    lesson: int | None = None

    @property
    def unit_key(self) -> tuple[str, int, int, str, int | None]:
        return (self.edition, self.grade, self.volume, self.subject, self.unit)


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """One item of `tpkit/items.json`: a page of the book at `path`, with its kind, size and (video, audio) length."""

    path: str
    title: str
    kind: str
    position: Position
    size_bytes: int
    seconds: int | None


def _number(value: object, key: str, where: str) -> int:
    low, high = RANGES[key]
    number = whole_number(value, max_digits=2) if isinstance(value, str) else value
    if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
        raise BookDataError(f"{where}: {key} {value!r} is not a whole number from {low} to {high}")
    return number


def _ident(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise BookDataError(f"{where}: {key} {value!r} is not a short id of a-z, 0-9 and '-' (at most 20)")
    return value


def tag_positions(tags: tuple[str, ...]) -> tuple[Position, ...]:
    """The positions a book's `Tags` name (every combination of the editions, grades, volumes, subjects and units it
    repeats); () when it names no edition, grade, volume and subject. A bad value raises BookDataError."""
    found: dict[str, list[str]] = {}
    for tag in tags:
        key, _, value = tag.partition(":")
        if key in ("_edition", "_grade", "_volume", "_subject", "_unit"):
            found.setdefault(key[1:], []).append(value.strip())
    if not all(found.get(key) for key in ("edition", "grade", "volume", "subject")):
        return ()
    where = "Tags"
    editions = [_ident(v, "edition", where) for v in found["edition"]]
    grades = [_number(v, "grade", where) for v in found["grade"]]
    volumes = [_number(v, "volume", where) for v in found["volume"]]
    subjects = [_ident(v, "subject", where) for v in found["subject"]]
    units: list[int | None] = [_number(v, "unit", where) for v in found.get("unit", [])] or [None]
    combos = itertools.product(editions, grades, volumes, subjects, units)
    return tuple(sorted({Position(*combo) for combo in combos}))


def _entry_bytes(zim: ZimFile | LayeredZim, path: str, max_bytes: int) -> bytes | None:
    """The bytes of a `tpkit/…` entry, None when the book has none; BookDataError when it is too big."""
    try:
        found = zim.lookup(path)
        if isinstance(found, Redirect):
            found = zim.lookup(found.target_path)
    except EntryNotFoundError:
        return None
    except DamagedBookError as exc:
        raise BookDataError(exc.message) from exc
    assert isinstance(found, Content)
    if len(found.data) > max_bytes:
        raise BookDataError(f"{path} holds {len(found.data)} bytes, more than the {max_bytes} a kit reads")
    return bytes(found.data)


def _document(raw: bytes, path: str) -> dict:
    try:
        document = strict_json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BookDataError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != 1:
        raise BookDataError(f'{path} is not a JSON object with "format": 1')
    return document


def _listed(zim: ZimFile | LayeredZim, path: str, max_bytes: int, key: str, max_count: int) -> list:
    """The list under `key` of the `tpkit/…` document at `path`; [] when the book has none."""
    raw = _entry_bytes(zim, path, max_bytes)
    if raw is None:
        return []
    found = _document(raw, path).get(key)
    if not isinstance(found, list) or len(found) > max_count:
        raise BookDataError(f'{path}: "{key}" is not a list of at most {max_count} objects')
    return found


def read_items(zim: ZimFile | LayeredZim) -> tuple[Item, ...]:
    """The items `tpkit/items.json` lists, checked; () when the book has none. BookDataError names a bad one."""
    items = _listed(zim, ITEMS_PATH, ITEMS_MAX_BYTES, "items", ITEMS_MAX_COUNT)
    shared: dict[Position, Position] = {}  # one object per place: a unit's hundreds of items share theirs
    return tuple(_item(entry, n, shared) for n, entry in enumerate(items))


def _item(entry: object, n: int, shared: dict[Position, Position]) -> Item:
    where = f"{ITEMS_PATH} item {n}"
    if not isinstance(entry, dict):
        raise BookDataError(f"{where} is not an object")
    path, title, kind = entry.get("path"), entry.get("title"), entry.get("kind")
    if not isinstance(path, str) or not path or len(path) > 1000 or path.startswith("/"):
        raise BookDataError(f"{where}: path {path!r} is not a path in the book")
    if not isinstance(title, str) or not title.strip() or len(title) > NAME_MAX_CHARS:
        raise BookDataError(f"{where}: title is missing or longer than {NAME_MAX_CHARS} characters")
    if kind not in KINDS:
        raise BookDataError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    size, seconds = entry.get("bytes", 0), entry.get("seconds")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BookDataError(f"{where}: bytes {size!r} is not a whole number of bytes")
    if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0):
        raise BookDataError(f"{where}: seconds {seconds!r} is not a whole number of seconds")
    position = _position(entry, where)
    return Item(path, " ".join(title.split()), kind, shared.setdefault(position, position), size, seconds)


def _position(entry: dict, where: str) -> Position:
    lesson = entry.get("lesson")
    return Position(
        _ident(entry.get("edition"), "edition", where),
        _number(entry.get("grade"), "grade", where),
        _number(entry.get("volume"), "volume", where),
        _ident(entry.get("subject"), "subject", where),
        _number(entry.get("unit"), "unit", where),
        None if lesson is None else _number(lesson, "lesson", where),
    )


@dataclasses.dataclass(frozen=True)
class Names:
    """A thing's name in Chinese and English (either may be empty: the page falls back to the other, then the kit's)."""

    zh: str
    en: str


@dataclasses.dataclass(frozen=True)
class CurriculumMap:
    """One book's `tpkit/curriculum.json`: names of editions, subjects, and units (with their lessons' names)."""

    editions: dict[str, Names]
    subjects: dict[str, Names]
    units: dict[tuple[str, int, int, str, int | None], tuple[Names, dict[int, Names]]]


def _names(value: object, where: str) -> Names:
    if not isinstance(value, dict):
        raise BookDataError(f"{where} is not an object with zh and en")
    zh, en = value.get("zh", ""), value.get("en", "")
    if not isinstance(zh, str) or not isinstance(en, str) or not (zh or en):
        raise BookDataError(f"{where}: zh and en are not text")
    if len(zh) > NAME_MAX_CHARS or len(en) > NAME_MAX_CHARS:
        raise BookDataError(f"{where}: a name is longer than {NAME_MAX_CHARS} characters")
    return Names(zh.strip(), en.strip())


def read_map(zim: ZimFile | LayeredZim) -> CurriculumMap | None:
    """The curriculum map `tpkit/curriculum.json` carries, checked; None when the book has none."""
    raw = _entry_bytes(zim, CURRICULUM_PATH, CURRICULUM_MAX_BYTES)
    if raw is None:
        return None
    document = _document(raw, CURRICULUM_PATH)
    groups = {}
    for group in ("editions", "subjects"):
        value = document.get(group, {})
        if not isinstance(value, dict):
            raise BookDataError(f"{CURRICULUM_PATH}: {group} is not an object")
        where = f"{CURRICULUM_PATH} {group}"
        groups[group] = {_ident(k, "id", where): _names(v, f"{where}.{k}") for k, v in value.items()}
    units = document.get("units", [])
    if not isinstance(units, list):
        raise BookDataError(f"{CURRICULUM_PATH}: units is not a list")
    named = {}
    for n, unit in enumerate(units):
        where = f"{CURRICULUM_PATH} unit {n}"
        if not isinstance(unit, dict) or not isinstance(unit.get("lessons", []), list):
            raise BookDataError(f"{where} is not an object with a list of lessons")
        lessons = {
            _number(lesson.get("lesson") if isinstance(lesson, dict) else None, "lesson", where): _names(lesson, where)
            for lesson in unit.get("lessons", [])
        }
        named[_position(unit, where).unit_key] = (_names(unit, where), lessons)
    return CurriculumMap(groups["editions"], groups["subjects"], named)


@dataclasses.dataclass(frozen=True, slots=True)
class SharedLesson:
    """One lesson of `tpkit/lessons.json`: its page (`path`) and its `lesson` body (`data`) in the book, and where it
    is placed (`position` None: no full unit place; listed under no unit)."""

    share_id: str
    version: int
    title: str
    position: Position | None
    licence: str
    author: str
    school: str
    path: str
    data: str


def _book_path(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 1000 or value.startswith("/") or ".." in value:
        raise BookDataError(f"{where}: {key} {value!r} is not a path in the book")
    return value


def _short(entry: dict, key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "" if not required else None)
    if not isinstance(value, str) or len(value) > NAME_MAX_CHARS or (required and not value.strip()):
        raise BookDataError(f"{where}: {key} is missing or longer than {NAME_MAX_CHARS} characters")
    return " ".join(value.split())


def _shared(entry: object, n: int) -> SharedLesson:
    where = f"{LESSONS_PATH} lesson {n}"
    if not isinstance(entry, dict):
        raise BookDataError(f"{where} is not an object")
    share_id, version = entry.get("share_id"), entry.get("version")
    if not isinstance(share_id, str) or not SHARE_ID.fullmatch(share_id):
        raise BookDataError(f"{where}: share_id {share_id!r} is not a lower-case UUID")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 10_000:
        raise BookDataError(f"{where}: version {version!r} is not a whole number from 1 to 10000")
    place = entry.get("position", {})
    if not isinstance(place, dict):
        raise BookDataError(f"{where}: position is not an object")
    position = None
    if all(place.get(key) is not None for key in ("edition", "grade", "volume", "subject", "unit")):
        position = _position(place, where)
    return SharedLesson(
        share_id,
        version,
        _short(entry, "title", where),
        position,
        _short(entry, "licence", where),
        _short(entry, "author", where),
        _short(entry, "school", where, required=False),
        _book_path(entry.get("path"), where, "path"),
        _book_path(entry.get("data"), where, "data"),
    )


def read_lessons(zim: ZimFile | LayeredZim) -> tuple[SharedLesson, ...]:
    """The shared lessons `tpkit/lessons.json` lists, checked; () when the book has none. BookDataError names a bad
    one (the whole file is then ignored for that book, as items.json is)."""
    found = _listed(zim, LESSONS_PATH, LESSONS_MAX_BYTES, "lessons", LESSONS_MAX_COUNT)
    return tuple(_shared(entry, n) for n, entry in enumerate(found))


def read_entry(zim: ZimFile | LayeredZim, path: str, max_bytes: int) -> bytes:
    """The bytes of the book's entry at `path` (a shared lesson's data or file); BookDataError when it is missing or
    larger than `max_bytes`."""
    raw = _entry_bytes(zim, path, max_bytes)
    if raw is None:
        raise BookDataError(f"the book has no entry {path}")
    return raw


def read_document(zim: ZimFile | LayeredZim, path: str, max_bytes: int) -> dict:
    """The JSON object at `path` (a shared lesson's `lesson` body); BookDataError when missing or not an object."""
    try:
        document = strict_json.loads(read_entry(zim, path, max_bytes))
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, BookDataError):
            raise
        raise BookDataError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BookDataError(f"{path} is not a JSON object")
    return document
