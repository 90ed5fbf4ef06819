"""Title suggestions and full-text search across one, several or all books.

Must not import web or cli. Results from several books are interleaved so each book's own
relevance order is kept (python-libzim searches one archive at a time).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections import OrderedDict

from appliance.content.library import Book, Library
from appliance.content.text import html_to_text, mark_words, query_terms, snippet, word_count
from appliance.content.zimfile import Content
from appliance.errors import BadRequestError, DamagedBookError, NoFullTextIndexError, TpkitError

log = logging.getLogger(__name__)

DEFAULT_PAGE_LENGTH = 25
MAX_PAGE_LENGTH = 140  # kiwix-serve's cap; beyond it a phone gets a page too long to be useful
DEFAULT_SUGGESTIONS = 10
# Bounds on what one request may ask for: a hostile count=10**9 or start=10**9 must not make the
# kit build a billion-item list. Nobody reads past result 10,000 or 100 suggestions.
MAX_SUGGESTIONS = 100
MAX_SEARCH_START = 10_000
# Search pages kept (PageCache): a page's snippets read every article on it from its ZIM (25 cluster reads, ~0.1 s of
# CPU on a 2-core x86 and more on a Pi), and a class searches the words its teacher just said. ~15 KB a page.
PAGE_CACHE_MAX_PAGES = 64


@dataclasses.dataclass(frozen=True)
class Suggestion:
    book: Book
    path: str
    title: str
    label: list[tuple[str, bool]]


@dataclasses.dataclass(frozen=True)
class Hit:
    book: Book
    path: str
    title: str
    snippet: list[tuple[str, bool]]
    word_count: int | None


@dataclasses.dataclass(frozen=True)
class SearchPage:
    pattern: str
    start: int
    page_length: int
    total: int
    hits: list[Hit]
    title_matches: list[Suggestion]
    unindexed: list[Book]


def select_books(library: Library, names: list[str]) -> list[Book]:
    """The named books, or every book when no name is given; BadRequestError naming an unknown one."""
    if not names:
        return library.books()
    books = []
    for name in names:
        try:
            books.append(library.book(name))
        except TpkitError as exc:
            raise BadRequestError(f"No such book: {name}", fix=exc.fix, code="library.book_not_found") from exc
    return books


def _interleave(lists: list[list]) -> list:
    return [item for group in itertools.zip_longest(*lists) for item in group if item is not None]


def suggest(books: list[Book], term: str, count: int = DEFAULT_SUGGESTIONS, start: int = 0) -> list[Suggestion]:
    """Titles matching `term` in `books`, best first within each book (count and start are bounded)."""
    count, start = min(max(count, 1), MAX_SUGGESTIONS), min(max(start, 0), MAX_SEARCH_START)
    terms = query_terms(term)
    per_book = []
    for book in books:
        try:
            found = book.zim.suggest(term, start + count)
        except (RuntimeError, DamagedBookError):
            log.warning("suggest: %s failed for %r; skipping that book", book.name, term)
            continue
        per_book.append([Suggestion(book, path, title, mark_words(title, terms)) for path, title in found])
    return _interleave(per_book)[start : start + count]


def clamp_page_length(raw: int | None, default: int = DEFAULT_PAGE_LENGTH) -> int:
    """kiwix-serve's rule: missing or 0 means the default (25 for kiwix clients); more than 140 means 140."""
    if not raw or raw <= 0:
        return default if not raw else MAX_PAGE_LENGTH
    return min(raw, MAX_PAGE_LENGTH)


def _hit(book: Book, path: str, terms: list[str]) -> Hit:
    try:
        found = book.zim.lookup(path)
    except TpkitError:
        return Hit(book, path, book.zim.title_of(path), [], None)
    if isinstance(found, Content) and found.mimetype.startswith("text/html"):
        text = html_to_text(found.data)
        return Hit(book, path, book.zim.title_of(path), snippet(text, terms), word_count(text))
    return Hit(book, path, book.zim.title_of(path), [], None)


def _ranked(books: list[Book], pattern: str, start: int, page_length: int) -> tuple[int, list[tuple[Book, str]]]:
    """(estimated total, (book, path) results start..start+page_length). One book is paged by Xapian
    itself, as kiwix-serve does, so equal-relevance ties fall the same way; several are interleaved."""
    if len(books) == 1:
        total, paths = books[0].zim.search(pattern, start, page_length)
        return total, [(books[0], path) for path in paths]
    total, per_book = 0, []
    for book in books:
        estimated, paths = book.zim.search(pattern, 0, start + page_length)
        total += estimated
        per_book.append([(book, path) for path in paths])
    return total, _interleave(per_book)[start : start + page_length]


class PageCache:
    """The last PAGE_CACHE_MAX_PAGES search pages, keyed by everything a page depends on: each book's name, uuid and
    file version (a book added, removed, renamed or replaced is another key), the pattern and the window. Thread-safe."""

    def __init__(self, max_pages: int = PAGE_CACHE_MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: OrderedDict[tuple, SearchPage] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    def __len__(self) -> int:
        return len(self._pages)

    def current(self, generation: int) -> PageCache:
        """This cache, emptied first when the library's generation changed since it was last used: pages hold their
        books, and a removed or replaced book's file must not stay open for them."""
        with self._lock:
            if generation != self._generation:
                self._pages.clear()
                self._generation = generation
        return self

    @staticmethod
    def key(books: list[Book], pattern: str, start: int, page_length: int) -> tuple:
        return tuple((b.name, b.uuid, b.signature) for b in books), pattern, start, page_length

    def get(self, key: tuple) -> SearchPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: SearchPage) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)


def search(books: list[Book], pattern: str, start: int, page_length: int, kept: PageCache | None = None) -> SearchPage:
    """Full-text search over the books that have an index; title matches for those that do not. With `kept`, a page
    asked for again is taken from it."""
    start = min(max(start, 0), MAX_SEARCH_START)
    if kept is None:
        return _search(books, pattern, start, page_length)
    key = PageCache.key(books, pattern, start, page_length)
    page = kept.get(key)
    if page is None:
        page = _search(books, pattern, start, page_length)
        kept.put(key, page)
    return page


def _search(books: list[Book], pattern: str, start: int, page_length: int) -> SearchPage:
    if not pattern.strip():
        raise BadRequestError("No query provided.", fix="Type some words into the search box.", code="search.no_query")
    indexed = [b for b in books if b.zim.has_fulltext_index]
    unindexed = [b for b in books if not b.zim.has_fulltext_index]
    if len(books) == 1 and not indexed:
        raise NoFullTextIndexError(
            "The fulltext search engine is not available for this content.",
            cause=f"{books[0].zim.path.name} was made without a full-text index.",
            fix="Search titles with the suggestion box, or ask for a version of the book with an index.",
        )
    total, window = _ranked(indexed, pattern, start, page_length)
    terms = query_terms(pattern)
    hits = [_hit(book, path, terms) for book, path in window]
    title_matches = suggest(unindexed, pattern, count=10) if unindexed and start == 0 else []
    return SearchPage(pattern, start, page_length, total, hits, title_matches, unindexed)
