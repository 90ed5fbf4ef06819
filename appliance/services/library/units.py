"""Find by textbook ("按课本找", issue 17): every served book's positions, items and curriculum map, merged into one
index per library generation, and the drill-down edition → grade and volume → subject → unit read from it.

Must not import web or cli. The index is built on the first question after a library change (never at a worker's
start, issue 15) and reuses what it read of books that did not change; a book whose tags or `tpkit/…` files are bad
is listed without them, the reason logged once per version of the book (docs/textbook-units.md).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref

from appliance.content.library import Book, Library
from appliance.content.textbook import (
    BookDataError,
    CurriculumMap,
    Item,
    Names,
    Position,
    SharedLesson,
    read_items,
    read_lessons,
    read_map,
    tag_positions,
)
from appliance.typed_numbers import whole_number

log = logging.getLogger(__name__)

# The kit's own names of the common editions and subjects (`units.edition.<id>`, `units.subject.<id>` in the message
# catalogues), in this order before any other a county's map or a book brings; a county's map renames them.
DEFAULT_EDITIONS = ("rjb", "bsd", "bb", "sj")
DEFAULT_SUBJECTS = ("chinese", "math", "english", "science", "morality", "music", "art", "pe")

UnitKey = tuple[str, int, int, str, int | None]  # edition, grade, volume, subject, unit (None: the whole subject)


@dataclasses.dataclass(frozen=True)
class BookUnits:
    """What one book says about the curriculum: its tagged positions, its items, any map and shared lessons it
    carries."""

    book: Book
    positions: tuple[Position, ...]
    items: tuple[Item, ...]
    curriculum: CurriculumMap | None
    lessons: tuple[SharedLesson, ...] = ()


@dataclasses.dataclass(frozen=True)
class Index:
    """The library's positions: for each unit (and each subject, unit None) the books tagged with it and the items
    placed in it; and the names the merged maps give."""

    generation: int
    books: dict[str, BookUnits]
    units: dict[UnitKey, tuple[list[str], list[tuple[str, Item]]]]  # book names, (book name, item)
    names: CurriculumMap
    shared: dict[UnitKey, list[tuple[str, SharedLesson]]] = dataclasses.field(default_factory=dict)


_indexes: weakref.WeakKeyDictionary[Library, Index] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def index(library: Library) -> Index:
    """The index of the library's served books now, built once per library generation."""
    generation = library.generation  # read before the books (Library.generation)
    known = _indexes.get(library)
    if known is not None and known.generation == generation:
        return known
    with _lock:  # one thread builds it; the others wait for it rather than read the same books again
        known = _indexes.get(library)
        if known is not None and known.generation == generation:
            return known
        old = known.books if known else {}
        built = _build(generation, [_book_units(book, old.get(book.name)) for book in library.books()])
        _indexes[library] = built
        return built


def _book_units(book: Book, before: BookUnits | None) -> BookUnits:
    if before is not None and before.book is book:
        return before

    def kept(read, what: str, default, are: bool = False):
        try:
            return read()
        except BookDataError as exc:
            log.warning("units: %s of book %s %s ignored: %s", what, book.name, "are" if are else "is", exc)
            return default

    positions = kept(lambda: tag_positions(book.tags), "the Tags", (), are=True)
    items = kept(lambda: read_items(book.zim), "tpkit/items.json", ())
    curriculum = kept(lambda: read_map(book.zim), "tpkit/curriculum.json", None)
    lessons = kept(lambda: read_lessons(book.zim), "tpkit/lessons.json", ())
    return BookUnits(book, positions, items, curriculum, lessons)


def _build(generation: int, books: list[BookUnits]) -> Index:
    units: dict[UnitKey, tuple[list[str], list[tuple[str, Item]]]] = {}
    for entry in books:
        for position in entry.positions:
            names = units.setdefault(position.unit_key, ([], []))[0]
            if entry.book.name not in names:
                names.append(entry.book.name)
        for item in entry.items:
            if item.kind == "lesson" and entry.lessons:
                continue  # listed with its author and the copy button from tpkit/lessons.json (Shelf.shared)
            units.setdefault(item.position.unit_key, ([], []))[1].append((entry.book.name, item))
    return Index(generation, {b.book.name: b for b in books}, units, merged_map(books), _shared(books, units))


def _shared(books: list[BookUnits], units: dict) -> dict[UnitKey, list[tuple[str, SharedLesson]]]:
    """The shared lessons placed in a unit, the newest version of each share only (two books may carry one)."""
    newest: dict[str, tuple[str, SharedLesson]] = {}
    for entry in books:
        for lesson in entry.lessons:
            known = newest.get(lesson.share_id)
            if lesson.position is not None and (known is None or known[1].version < lesson.version):
                newest[lesson.share_id] = (entry.book.name, lesson)
    placed: dict[UnitKey, list[tuple[str, SharedLesson]]] = {}
    for book_name, lesson in sorted(newest.values(), key=lambda found: (found[1].position, found[1].title)):
        assert lesson.position is not None
        placed.setdefault(lesson.position.unit_key, []).append((book_name, lesson))
        units.setdefault(lesson.position.unit_key, ([], []))  # a unit holding only shared lessons is listed too
    return placed


def shared_lesson(found: Index, book_name: str, share_id: str) -> tuple[Book, SharedLesson] | None:
    """The shared lesson `share_id` that book `book_name` carries, or None."""
    entry = found.books.get(book_name)
    for lesson in entry.lessons if entry else ():
        if lesson.share_id == share_id:
            return entry.book, lesson  # type: ignore[union-attr]  # entry is set when it has lessons
    return None


def merged_map(books: list[BookUnits]) -> CurriculumMap:
    """The books' maps merged: for each edition, subject and unit, the name of the newest book (ZIM `Date`, then book
    name) that names it."""
    merged = CurriculumMap({}, {}, {})
    for entry in sorted((b for b in books if b.curriculum), key=lambda b: (b.book.date, b.book.name)):
        assert entry.curriculum is not None
        merged.editions.update(entry.curriculum.editions)
        merged.subjects.update(entry.curriculum.subjects)
        merged.units.update(entry.curriculum.units)
    return merged


def _ordered(ids: set[str], first: tuple[str, ...]) -> list[str]:
    return [i for i in first if i in ids] + sorted(ids - set(first))


def known_ids(found: Index, group: str, defaults: tuple[str, ...]) -> list[str]:
    """Every edition (`group` "editions") or subject ("subjects") the kit, the maps or the books name: the common
    ones first."""
    placed = {key[0] if group == "editions" else key[3] for key in found.units}
    named = set(getattr(found.names, group)) | placed
    return _ordered(named | set(defaults), defaults)


def editions(found: Index) -> list[str]:
    """The editions that something in the library is placed in, the common ones first."""
    return _ordered({key[0] for key in found.units}, DEFAULT_EDITIONS)


def grades(found: Index, edition: str) -> list[tuple[int, int]]:
    """(grade, volume) of the edition that hold something, in school order."""
    return sorted({(key[1], key[2]) for key in found.units if key[0] == edition})


def subjects(found: Index, edition: str, grade: int, volume: int) -> list[str]:
    """The subjects of that edition, grade and volume that hold something."""
    return _ordered({key[3] for key in found.units if key[:3] == (edition, grade, volume)}, DEFAULT_SUBJECTS)


def units_of(found: Index, edition: str, grade: int, volume: int, subject: str) -> list[int]:
    """The units of that subject that hold something."""
    return sorted({key[4] for key in found.units if key[:4] == (edition, grade, volume, subject) and key[4]})


@dataclasses.dataclass(frozen=True)
class Shelf:
    """What a unit's (or a whole subject's) page lists: books tagged with it, its items grouped by lesson (None: for
    the unit as a whole, listed first) and the map's names of the unit and its lessons."""

    books: list[Book]
    lessons: list[tuple[int | None, list[tuple[Book, Item]]]]
    name: Names | None
    lesson_names: dict[int, Names]
    shared: list[tuple[Book, SharedLesson]] = dataclasses.field(default_factory=list)


def shelf(found: Index, key: UnitKey) -> Shelf:
    """The books and items placed at `key` (unit None: the books and items of the whole subject, with no unit)."""
    book_names, placed = found.units.get(key, ([], []))
    books = sorted((found.books[n].book for n in book_names), key=lambda b: (b.title.casefold(), b.name))
    groups: dict[int | None, list[tuple[Book, Item]]] = {}
    for book_name, item in placed:
        groups.setdefault(item.position.lesson, []).append((found.books[book_name].book, item))
    ordered = sorted(groups.items(), key=lambda group: (group[0] is not None, group[0] or 0))
    name, lesson_names = found.names.units.get(key, (None, {}))
    shared = [(found.books[n].book, lesson) for n, lesson in found.shared.get(key, [])]
    return Shelf(books, ordered, name, lesson_names, shared)


def _number(text: str, high: int) -> int | None:
    number = whole_number(text, max_digits=2)
    return number if number is not None and 1 <= number <= high else None


def drill(found: Index, chosen: dict[str, str]) -> dict:
    """Where `chosen` (each level as text, '' when not chosen) leads: `at`, the levels chosen that hold something, down
    to the first missing or unknown one; `next`, the level to choose now (None on a unit's page) and its `choices`;
    `shelf`, what a subject (its books with no unit) or a unit holds."""
    at: dict = {}
    shown = editions(found)
    if chosen.get("edition") not in shown:
        return {"at": at, "next": "edition", "choices": shown, "shelf": None}
    at["edition"] = chosen["edition"]
    grade, volume = _number(chosen.get("grade", ""), 12), _number(chosen.get("volume", ""), 2)
    pairs = grades(found, at["edition"])
    if (grade, volume) not in pairs:
        return {"at": at, "next": "grade", "choices": pairs, "shelf": None}
    at |= {"grade": grade, "volume": volume}
    shown = subjects(found, at["edition"], grade, volume)  # type: ignore[arg-type]  # checked just above
    if chosen.get("subject") not in shown:
        return {"at": at, "next": "subject", "choices": shown, "shelf": None}
    at["subject"] = chosen["subject"]
    numbers = units_of(found, *at.values())
    unit = _number(chosen.get("unit", ""), 99)
    if unit not in numbers:
        return {"at": at, "next": "unit", "choices": numbers, "shelf": shelf(found, (*at.values(), None))}
    found_shelf = shelf(found, (*at.values(), unit))
    at["unit"] = unit
    return {"at": at, "next": None, "choices": [], "shelf": found_shelf}
