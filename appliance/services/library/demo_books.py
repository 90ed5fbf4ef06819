"""The bilingual demo library that `./build.sh run` builds when the content folder is empty.

Text comes from `content/demo/*.toml` (written by the project); pictures are drawn as SVG here.
Must not import web or cli.
"""

from __future__ import annotations

import html
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.content.icons import badge

if TYPE_CHECKING:  # the writer (libzim.writer) is loaded only to build books, not by `tpkit serve`'s check
    from appliance.content.zimwriter import Entry

_SHAPES = {
    "drop": '<path d="M60 10 C60 10 25 55 25 75 a35 35 0 0 0 70 0 C95 55 60 10 60 10z" fill="#2b7bd6"/>',
    "leaf": '<path d="M20 100 C20 40 60 15 105 15 C105 60 80 100 20 100z" fill="#3a9d3a"/>'
    '<path d="M20 100 L90 30" stroke="#1f5f1f" stroke-width="4"/>',
    "moon": '<circle cx="60" cy="60" r="45" fill="#f4d35e"/><circle cx="80" cy="50" r="40" fill="#1d2951"/>',
    "pie": '<circle cx="60" cy="60" r="45" fill="#eee" stroke="#444" stroke-width="3"/>'
    '<path d="M60 60 L60 15 A45 45 0 0 1 105 60z" fill="#e07a1f"/>',
    "rice": '<path d="M60 110 L60 40" stroke="#6b8e23" stroke-width="5"/>'
    + "".join(f'<ellipse cx="{48 + 24 * (i % 2)}" cy="{30 + 12 * i}" rx="8" ry="5" fill="#d9b44a"/>' for i in range(5)),
    "heart": '<path d="M60 105 L20 60 A22 22 0 0 1 60 30 A22 22 0 0 1 100 60z" fill="#d62839"/>',
    "cloud": '<circle cx="45" cy="60" r="25" fill="#9aa5b1"/><circle cx="75" cy="55" r="30" fill="#9aa5b1"/>'
    '<rect x="30" y="60" width="70" height="25" fill="#9aa5b1"/>'
    '<path d="M45 95 l-6 14 M65 95 l-6 14 M85 95 l-6 14" stroke="#2b7bd6" stroke-width="4"/>',
    "lever": '<path d="M10 70 L110 40" stroke="#7a4f2a" stroke-width="8"/><path d="M60 58 L45 100 L75 100z" fill="#555"/>',
}
_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="style.css"></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""
_CSS = b"""body{font-family:sans-serif;line-height:1.6;margin:0;padding:1em;max-width:40em;color:#222}
h1{color:#1d4e89}img{max-width:100%;height:auto}a{color:#1d4e89}ul.articles{padding:0;list-style:none}
ul.articles li{padding:.4em 0;border-bottom:1px solid #ddd}.figure{width:8em;float:right;margin:0 0 1em 1em}
"""
_ICON_COLOURS = {"eng": ((29, 78, 137), (244, 211, 94)), "zho": ((180, 40, 50), (250, 220, 120))}


def has_books(content_dir: Path) -> bool:
    """Whether the content folder already holds at least one `.zim` file."""
    return content_dir.is_dir() and any(content_dir.glob("*.zim"))


def _svg(shape: str) -> bytes:
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120">{_SHAPES[shape]}</svg>'.encode()


def _entries(spec: dict, lang: str) -> list[Entry]:
    from appliance.content.zimwriter import Entry

    entries = [Entry("style.css", "style", "text/css", _CSS)]
    items = []
    for article in spec["article"]:
        picture = f"img/{article['picture']}.svg"
        body = f'<img class="figure" src="{picture}" alt="">{article["body"]}<p><a href="index">&#8592; {html.escape(spec["title"])}</a></p>'
        page = _PAGE.format(lang=lang, title=html.escape(article["title"]), body=body)
        entries.append(Entry(article["path"], article["title"], "text/html", page.encode(), front=True))
        items.append(f'<li><a href="{article["path"]}">{html.escape(article["title"])}</a></li>')
    for shape in {a["picture"] for a in spec["article"]}:
        entries.append(Entry(f"img/{shape}.svg", shape, "image/svg+xml", _svg(shape)))
    index = f'<p>{html.escape(spec["welcome"])}</p><ul class="articles">{"".join(items)}</ul>'
    entries.append(
        Entry(
            "index",
            spec["title"],
            "text/html",
            _PAGE.format(lang=lang, title=html.escape(spec["title"]), body=index).encode(),
            front=True,
        )
    )
    return entries + _textbook_entries(spec, entries)


def _textbook_entries(spec: dict, entries: list[Entry]) -> list[Entry]:
    """`tpkit/items.json` and `tpkit/curriculum.json` (docs/textbook-units.md) from the spec's `[[item]]` (an
    article's path and its place) and `[curriculum]` (a county's map.toml), when it has them."""
    from appliance.content.zimwriter import Entry

    pages = {entry.path: entry for entry in entries}
    items = [
        {
            "path": i["path"],
            "title": pages[i["path"]].title,
            "kind": "page",
            **i["place"],
            "bytes": len(pages[i["path"]].data),
        }
        for i in spec.get("item", [])
    ]
    written = []
    if items:
        listed = json.dumps({"format": 1, "items": items}, ensure_ascii=False).encode()
        written.append(Entry("tpkit/items.json", "items", "application/json", listed))
    if "curriculum" in spec:
        named = json.dumps({"format": 1, **spec["curriculum"]}, ensure_ascii=False).encode()
        written.append(Entry("tpkit/curriculum.json", "curriculum", "application/json", named))
    return written


def build_book(spec: dict, out_dir: Path) -> Path:
    """Write one demo book described by a parsed `content/demo/*.toml`."""
    from appliance.content.zimwriter import write_zim

    lang = spec["language"]
    html_lang = {"eng": "en", "zho": "zh"}.get(lang, "en")
    metadata = {
        "Name": spec["name"],
        "Title": spec["title"],
        "Description": spec["description"],
        "Language": lang,
        "Creator": "tpkit",
        "Publisher": "tpkit",
        "Date": "2026-11-28",
        "Tags": ";".join(part for part in (spec["tags"], spec.get("textbook", "")) if part),
        "Category": spec["category"],
    }
    background, foreground = _ICON_COLOURS.get(lang, _ICON_COLOURS["eng"])
    return write_zim(
        out_dir / f"{spec['name']}.zim",
        metadata=metadata,
        main_path="index",
        entries=_entries(spec, html_lang),
        illustration_png=badge(48, background, foreground),
        redirects=[("home", spec["title"], "index")],
        index_language=lang,
    )


def build(content_dir: Path) -> list[Path]:
    """Write every demo book into `content_dir`; return their paths."""
    content_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in sorted(resources.files("appliance.content.demo").iterdir(), key=lambda item: item.name):
        if item.name.endswith(".toml"):
            written.append(build_book(tomllib.loads(item.read_text(encoding="utf-8")), content_dir))
    return written
