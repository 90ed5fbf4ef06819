"""Plain text from article HTML, and search snippets with the matched words marked.

Imports nothing from the package. Regex-based on purpose: articles are trusted ZIM content,
and a full HTML parser costs ten times more per search result on a Pi.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Also dropped: what a page marks `<!--htdig_noindex-->`, as libzim's indexer does (mwoffliner's licence footer).
_DROP = re.compile(r"<(script|style|head|nav)\b.*?</\1\s*>|<!--htdig_noindex-->.*?<!--/htdig_noindex-->", re.S | re.I)
# Block-level tags separate words; inline tags (<b>, <a>, <span>) do not: "<b>word</b>." stays "word.".
_BLOCK_TAG = re.compile(
    r"</?(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|"
    r"blockquote|figure|figcaption|dd|dt|pre|hr|img)\b[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]+>")
# ASCII white space only: a no-break space (&nbsp;) joins words, for libzim's word count as for readers.
_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
SNIPPET_CHARS = 200


def html_to_text(data: bytes | memoryview) -> str:
    """The visible text of an HTML page, whitespace collapsed."""
    text = bytes(data).decode("utf-8", "replace")
    text = _TAG.sub("", _BLOCK_TAG.sub(" ", _DROP.sub(" ", text)))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def word_count(text: str) -> int:
    """The word count libzim's indexer stores for a page, which kiwix-serve reports: its `countWords`, the
    runs of the page's indexed text between ASCII spaces, plus one (Ray Charles' "My Kind of Jazz": 68 runs, 69)."""
    return sum(1 for run in text.split(" ") if run) + 1


def query_terms(pattern: str) -> list[str]:
    """The words of a query, lower-cased; CJK runs are kept whole so they match as phrases."""
    # An apostrophe inside a word (don't, what'd) belongs to it, as in Xapian's tokenizer.
    return [t for t in re.split(r"[\s\"+\-]+|(?<!\w)'|'(?!\w)", pattern.casefold()) if t]


def _term_pattern(term: str) -> str:
    """Latin terms match as word prefixes and mark the whole word (as Xapian's snippets do); CJK as is."""
    if _CJK.search(term):
        return re.escape(term)
    return rf"(?<!\w){re.escape(term)}\w*"


def mark(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split `text` into (piece, is_match) parts, matching terms case-insensitively."""
    if not terms:
        return [(text, False)]
    pattern = re.compile("|".join(_term_pattern(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    parts, last = [], 0
    for match in pattern.finditer(text):
        if match.start() > last:
            parts.append((text[last : match.start()], False))
        parts.append((match.group(0), True))
        last = match.end()
    if last < len(text):
        parts.append((text[last:], False))
    return parts


_TITLE_WORD = re.compile(r"\w+(?:['’]\w+)*")


def fold(text: str) -> str:
    """Lower case without accents (öld → old), as libzim's title index compares words."""
    if text.isascii():  # most titles: nothing to decompose (a third of a suggestion's cost went here)
        return text.casefold()
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def mark_words(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split a title into (piece, is_match) parts the way libzim's title index highlights it: whole
    words, each word matching one of the earlier terms exactly or starting with the last (typed) term, accents
    and case ignored."""
    if not terms:
        return [(text, False)]
    *whole, typed = [fold(term) for term in terms]
    parts, last = [], 0
    for word in _TITLE_WORD.finditer(text):
        folded = fold(word.group(0))
        if folded in whole or folded.startswith(typed):
            parts += [(text[last : word.start()], False)] if word.start() > last else []
            parts.append((word.group(0), True))
            last = word.end()
    return parts + ([(text[last:], False)] if last < len(text) else [])


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """About `width` characters around the first matched term, as marked parts with `...` where cut."""
    folded = text.casefold()
    hits = [folded.find(t) for t in terms if folded.find(t) >= 0]
    first = min(hits) if hits else 0
    start = max(0, first - width // 3)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + width)
    piece = ("..." if start > 0 else "") + text[start:end] + ("..." if end < len(text) else "")
    return mark(piece, terms)
