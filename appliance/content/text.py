"""Plain text from article HTML, and search snippets with the matched words marked.

Imports nothing from the package. Regex-based on purpose: articles are trusted ZIM content,
and a full HTML parser costs ten times more per search result on a Pi.
"""

from __future__ import annotations

import html
import re

_DROP = re.compile(r"<(script|style|head|nav)\b.*?</\1\s*>", re.S | re.I)
# Block-level tags separate words; inline tags (<b>, <a>, <span>) do not: "<b>word</b>." stays "word.".
_BLOCK_TAG = re.compile(
    r"</?(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|"
    r"blockquote|figure|figcaption|dd|dt|pre|hr|img)\b[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
SNIPPET_CHARS = 200


def html_to_text(data: bytes | memoryview) -> str:
    """The visible text of an HTML page, whitespace collapsed."""
    text = bytes(data).decode("utf-8", "replace")
    text = _TAG.sub("", _BLOCK_TAG.sub(" ", _DROP.sub(" ", text)))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def word_count(text: str) -> int:
    """Words in Latin scripts, characters in CJK (which has no spaces between words)."""
    cjk = len(_CJK.findall(text))
    return cjk + len(_CJK.sub(" ", text).split()) if cjk else len(text.split())


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


def mark_words(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split a title into (piece, is_match) parts the way libzim's title index highlights it: whole
    words, each word matching one of the earlier terms exactly or starting with the last (typed) term."""
    if not terms:
        return [(text, False)]
    *whole, typed = terms
    parts, last = [], 0
    for word in _TITLE_WORD.finditer(text):
        folded = word.group(0).casefold()
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
