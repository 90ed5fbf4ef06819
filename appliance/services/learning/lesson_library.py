"""What a teacher finds to add to a lesson ("从图书馆添加", issue 16): whole books by title, and articles by the
same full-text search children use (services/library/search.py) besides title matches, each article once.

Must not import web or cli. A title match is often a redirect (an old name, another spelling): it is listed as the
article it leads to (libzim's redirect entry, ZimFile.final_path), so one article never shows twice.
"""

from __future__ import annotations

import dataclasses
import logging

from appliance.content.library import Book, Library
from appliance.errors import TpkitError
from appliance.services.library import search

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Found:
    """An article to add: its book, its own path (never a redirect's), title and a snippet of where the words are."""

    book: Book
    path: str
    title: str
    snippet: list[tuple[str, bool]]


def find(library: Library, query: str, count: int) -> tuple[list[Book], list[Found]]:
    """(books whose title has `query`, up to `count` articles): title matches first, then full-text hits."""
    books = library.books()
    wanted = query.casefold()
    whole = [b for b in books if wanted in b.title.casefold()]
    found: list[Found] = []
    seen: set[tuple[str, str]] = set()
    for book, path, snippet in [*_title_matches(books, query, count), *_fulltext_hits(books, query, count)]:
        final = book.zim.final_path(path)
        if (book.name, final) in seen or len(found) >= count:
            continue
        seen.add((book.name, final))
        found.append(Found(book, final, book.zim.title_of(final), snippet))
    return whole, found


def _title_matches(books: list[Book], query: str, count: int) -> list[tuple[Book, str, list]]:
    return [(s.book, s.path, []) for s in search.suggest(books, query, count)]


def _fulltext_hits(books: list[Book], query: str, count: int) -> list[tuple[Book, str, list]]:
    indexed = [b for b in books if b.zim.has_fulltext_index]
    if not indexed:
        return []
    try:
        page = search.search(indexed, query, 0, count)
    except TpkitError as exc:  # a damaged book's index: its title matches still show
        log.warning("lesson search: full-text search for %r failed (%s); title matches only", query, exc.message)
        return []
    return [(hit.book, hit.path, hit.snippet) for hit in page.hits]
