"""The OPDS catalog's data: book filters (lang, category, tag, notag, q, name, maxsize) and paging.

Must not import web or cli. XML is rendered by web templates; this module decides what is in it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Mapping

from appliance.content.library import Book
from appliance.typed_numbers import whole_number

FEED_ID_NAMESPACE = uuid.UUID("6f0d8a52-5d0e-4c51-9c0e-2f7a2b0f6b3e")  # stable feed ids per query


@dataclasses.dataclass(frozen=True)
class Selection:
    books: list[Book]
    total: int
    start: int
    count: int


def feed_id(key: str) -> str:
    """A stable id for a feed, derived from its path and query."""
    return str(uuid.uuid5(FEED_ID_NAMESPACE, key))


_TAG_ALIASES = {"nopic": "_pictures:no", "novid": "_videos:no", "nodet": "_details:no", "_ftindex": "_ftindex:yes"}
_TAG_DEFAULTS = (
    ("_ftindex", "_ftindex:no"),
    ("_pictures:", "_pictures:yes"),
    ("_videos:", "_videos:yes"),
    ("_details:", "_details:yes"),
)


def kiwix_tags(tags: tuple[str, ...]) -> list[str]:
    """A book's tags as the catalog shows them (libkiwix's convertTags): old short tags spelled out,
    then `_ftindex`, `_pictures`, `_videos` and `_details` defaults for the ones the ZIM does not state."""
    shown = [_TAG_ALIASES.get(tag, tag) for tag in tags]
    return shown + [default for prefix, default in _TAG_DEFAULTS if not any(t.startswith(prefix) for t in shown)]


def _matches(book: Book, filters: Mapping[str, str]) -> bool:
    lang = filters.get("lang")
    if lang and not set(lang.split(",")) & set(book.languages):
        return False
    if filters.get("category") and book.category != filters["category"]:
        return False
    if filters.get("name") and book.name != filters["name"] and book.zim_name != filters["name"]:
        return False
    tags = set(kiwix_tags(book.tags))
    if filters.get("tag") and not set(filters["tag"].split(";")) <= tags:
        return False
    if filters.get("notag") and set(filters["notag"].split(";")) & tags:
        return False
    maxsize = whole_number(filters.get("maxsize", ""))  # isdigit() took "²", which int() refused (a 500)
    if maxsize is not None and book.zim.size_bytes > maxsize:
        return False
    query = filters.get("q", "").casefold()
    return not query or all(word in f"{book.title} {book.description}".casefold() for word in query.split())


def _int(raw: str | None, default: int) -> int:
    try:
        return max(int(raw), 0) if raw else default
    except ValueError:
        return default


def select(books: list[Book], filters: Mapping[str, str]) -> Selection:
    """Books matching every filter given, then `start`/`count` paging (count 0 or absent: all)."""
    matching = sorted((b for b in books if _matches(b, filters)), key=lambda b: b.uuid)
    start = _int(filters.get("start"), 0)
    count = _int(filters.get("count"), 0) or len(matching)
    return Selection(matching[start : start + count], len(matching), start, count)


def languages(books: list[Book]) -> list[tuple[str, int]]:
    """(language code, number of books), sorted by code."""
    counts = Counter(lang for book in books for lang in book.languages)
    return sorted(counts.items())


def categories(books: list[Book]) -> list[str]:
    return sorted({book.category for book in books if book.category})
