"""The OPDS catalog's data: book filters (lang, category, tag, notag, q, name, maxsize) and paging.

Must not import web or cli. XML is rendered by web templates; this module decides what is in it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Mapping

from appliance.content.languages import language_name, same_as
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


# One part of a catalog query, as libkiwix's Xapian query parser reads it: an optional `-` (exclude), an optional
# `title:` or `description:` field, then a "quoted phrase" or a word.
_QUERY_PART = re.compile(r'(-?)(?:(title|description):)?(?:"([^"]*)"?|(\S+))')


def _words(text: str) -> list[str]:
    """Lower-cased words without accents, as libkiwix indexes a book's title and description."""
    return re.findall(r"\w+", _fold(text))


def _has_phrase(words: list[str], phrase: list[str]) -> bool:
    return any(words[i : i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))


def _tag_words(tags: tuple[str, ...]) -> set[str]:
    """The public tags (not `_…`) as libkiwix indexes them: `name` and `value` of `name:value`, searched by prefix."""
    return {_fold(part) for tag in tags if not tag.startswith("_") for part in tag.split(":", 1)}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def query_matches(title: str, description: str, query: str, tags: tuple[str, ...] = ()) -> bool:
    """Whether a book satisfies a catalog `q`: every word or "phrase" in its title or description (or a word
    starting a public tag), every -excluded one absent, `title:`/`description:` looking in that field only (no
    stemming, unlike Xapian)."""
    fields = {"title": _words(title), "description": _words(description)}
    both = [*fields["title"], "", *fields["description"]]  # "" is never a word: a phrase cannot span two fields
    tag_words = _tag_words(tags)
    for exclude, field, quoted, bare in _QUERY_PART.findall(query):
        phrase = _words(quoted or bare)
        if not phrase:
            continue
        found = _has_phrase(fields[field] if field else both, phrase)
        if not found and not field and len(phrase) == 1:
            found = any(word.startswith(phrase[0]) for word in tag_words)
        if found == bool(exclude):
            return False
    return True


def _matches(book: Book, filters: Mapping[str, str]) -> bool:
    lang = filters.get("lang")
    if lang and not set(lang.split(",")) & set(book.languages):
        return False
    if filters.get("category") and book.category not in filters["category"].split(","):
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
    return query_matches(book.title, book.description, filters.get("q", ""), book.tags)


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def select(books: list[Book], filters: Mapping[str, str]) -> Selection:
    """Books matching every filter given, then `start`/`count` paging as libkiwix pages: count absent or negative
    means all, count=0 none (a client asking only for totalResults)."""
    matching = sorted((b for b in books if _matches(b, filters)), key=lambda b: b.uuid)
    start = max(_int(filters.get("start"), 0), 0)
    count = _int(filters.get("count"), -1)
    count = len(matching) if count < 0 else count
    return Selection(matching[start : start + count], len(matching), start, count)


def fingerprint(books: list[Book]) -> str:
    """A digest of which books are served and which file each is; it changes when the library does."""
    digest = hashlib.blake2b(digest_size=12)
    for book in sorted(books, key=lambda b: b.name):
        digest.update(f"{book.name}\0{book.uuid}\0{book.signature}\n".encode())
    return digest.hexdigest()


def languages(books: list[Book]) -> list[tuple[str, int]]:
    """(language code, number of books), sorted by code."""
    counts = Counter(lang for book in books for lang in book.languages)
    return sorted(counts.items())


def categories(books: list[Book]) -> list[str]:
    return sorted({book.category for book in books if book.category})


# --- the home page's shelves (the OPDS filters above keep kiwix-serve's exact codes) ---------------------------


def shelf_languages(books: list[Book]) -> list[str]:
    """The languages of `books`, each once whatever code its books use (`en` and `eng` are one), by name."""
    return sorted({same_as(code) for book in books for code in book.languages}, key=language_name)


def on_shelf(books: list[Book], language: str, category: str) -> list[Book]:
    """The books in `language` (any code of it) and of `category`; "" for either means all."""
    wanted = same_as(language) if language else ""
    return [
        book
        for book in books
        if (not wanted or wanted in {same_as(code) for code in book.languages})
        and (not category or book.category == category)
    ]


def shelves(books: list[Book], reader: str) -> list[tuple[str, list[Book]]]:
    """Books grouped by their first language (one code per language), by title in each: the reader's language
    first (a Chinese reader sees Chinese books first), then the others by name, books that name none last ("")."""
    groups: dict[str, list[Book]] = {}
    for book in sorted(books, key=lambda b: (b.title.casefold(), b.name)):
        groups.setdefault(same_as(book.language) if book.language else "", []).append(book)
    mine = same_as(reader)
    return sorted(groups.items(), key=lambda item: (item[0] == "", item[0] != mine, language_name(item[0])))
