"""The files an HTML item of a folder needs beside it (pictures, style sheets, pages it links to), so that its
relative links keep working inside the book. Must not import web or cli.
"""

from __future__ import annotations

import mimetypes
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_LINKING = {"src", "href", "poster", "data"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
MAX_FILES = 2000  # a page that pulls in more is not a lesson page but a site: pack it as its own ZIM (zimit)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in _LINKING and value]
        self.found += [m for name, value in attrs if name == "style" and value for m in _CSS_URL.findall(value)]


def _links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".css":
        return _CSS_URL.findall(text)
    parser = _Links()
    parser.feed(text)
    return parser.found + [
        m for block in re.findall(r"<style[^>]*>(.*?)</style>", text, re.S) for m in _CSS_URL.findall(block)
    ]


def _target(link: str, page: Path, root: Path) -> Path | None:
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    target = (page.parent / unquote(parts.path)).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


def needed(page: Path, root: Path) -> list[Path]:
    """The files inside `root` that `page` reaches by relative links, following pages and style sheets, sorted."""
    seen: set[Path] = set()
    todo = [page]
    while todo and len(seen) < MAX_FILES:
        current = todo.pop()
        if current.suffix.lower() not in (".html", ".htm", ".css"):
            continue
        for link in _links(current):
            target = _target(link, current, root)
            if target and target != page and target not in seen:
                seen.add(target)
                todo.append(target)
    return sorted(seen)


def mimetype(path: Path) -> str:
    """The MIME type a page's file is served with."""
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
