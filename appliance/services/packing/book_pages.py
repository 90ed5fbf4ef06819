"""The pages a packed book carries: its index by unit and lesson, and a page per item, in the book's own language.

They must read right in any Kiwix reader, without tpkit, so their few words live here (Chinese and English) and not
in the kit's catalogues; links are relative; no script. Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from appliance.protocol.textbook_names import chinese_number

WORDS = {
    "zh": {
        "unit": "第{n}单元",
        "lesson": "第{n}课",
        "video": "视频",
        "audio": "录音",
        "pdf": "文档",
        "image": "图片",
        "page": "网页",
        "minutes": "{n}分钟",
        "pages": "共{n}页",
        "page_n": "第{n}页",
        "back": "返回目录",
        "captions": "字幕",
        "open_file": "打开原文件",
        "pdf_note": "手机浏览器常常不能直接打开这种文档，下面是它每一页的图片。",
        "text": "页面上的文字",
        "no_player": "这台设备放不了它，可以打开原文件。",
        "units": "本书的单元",
        "grade": "{n}年级",
        "volume1": "上册",
        "volume2": "下册",
    },
    "en": {
        "unit": "Unit {n}",
        "lesson": "Lesson {n}",
        "video": "Video",
        "audio": "Audio",
        "pdf": "Document",
        "image": "Picture",
        "page": "Page",
        "minutes": "{n} min",
        "pages": "{n} pages",
        "page_n": "Page {n}",
        "back": "Back to the contents",
        "captions": "Captions",
        "open_file": "Open the original file",
        "pdf_note": "Phone browsers often cannot show this kind of document; here is a picture of each page.",
        "text": "The text on the pages",
        "no_player": "This device cannot play it; open the original file.",
        "units": "Units of this book",
        "grade": "Grade {n}",
        "volume1": "Book 1",
        "volume2": "Book 2",
    },
}
STYLE = (
    "<style>body{font:17px/1.5 sans-serif;margin:0 auto;max-width:46em;padding:.5em .8em;color:#222}"
    "h1{font-size:1.35em}h2{font-size:1.15em;border-bottom:2px solid #2b7bd6;margin-top:1.4em}h3{font-size:1em}"
    "ul{list-style:none;padding:0}li a{display:block;padding:.6em .4em;border-bottom:1px solid #ddd;"
    "text-decoration:none;color:#1a4f8b}small{color:#666}video,img,audio{width:100%;height:auto;display:block}"
    "img.page{border:1px solid #ccc;margin:.5em 0}pre{white-space:pre-wrap}</style>"
)


def words_for(language: str) -> dict[str, str]:
    """The words of a book in `language` (ISO 639-3): Chinese for zho, English otherwise."""
    return WORDS["zh" if language == "zho" else "en"]


def unit_label(words: dict[str, str], unit: int) -> str:
    """第二单元 in a Chinese book (the unit in Chinese numerals, as textbooks write it), Unit 2 in an English one."""
    return words["unit"].format(n=chinese_number(unit) if words is WORDS["zh"] else unit)


@dataclasses.dataclass(frozen=True)
class Listed:
    """An item as the index lists it: where its page is, what it is, and where it sits."""

    path: str
    title: str
    kind: str
    position: dict[str, int | str]
    seconds: float | None
    page_count: int | None


def html_page(language: str, title: str, body: str) -> bytes:
    """A whole page of a book: its language, a phone viewport, the book's style, `body` (HTML)."""
    lang = "zh" if language == "zho" else "en"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>'
        f"{STYLE}</head><body>{body}</body></html>"
    ).encode()


def _detail(words: dict[str, str], item: Listed) -> str:
    if item.seconds:
        return words["minutes"].format(n=max(1, round(item.seconds / 60)))
    if item.page_count:
        return words["pages"].format(n=item.page_count)
    return ""


def _shelf(words: dict[str, str], position: dict[str, int | str], several: bool) -> str:
    """A unit's heading; with the grade and volume first when the book spans several."""
    label = unit_label(words, int(position["unit"]))
    if not several or "grade" not in position:
        return label
    grade = words["grade"].format(
        n=chinese_number(int(position["grade"])) if words is WORDS["zh"] else position["grade"]
    )
    volume = words.get(f"volume{position.get('volume')}", "")
    return f"{grade}{volume} {label}"


def _group(item: Listed) -> tuple[tuple, int | str | None]:
    """The unit (its whole position) and lesson an item is listed under."""
    keys = ("edition", "grade", "volume", "subject", "unit")
    return tuple(item.position.get(k) for k in keys), item.position.get("lesson")


def _heading(label: str, name: str | None) -> str:
    return html.escape(f"{label} {name}" if name else label)


def _row(words: dict[str, str], item: Listed) -> str:
    detail = " · ".join(part for part in (words[item.kind], _detail(words, item)) if part)
    return f'<li><a href="{quote(item.path)}">{html.escape(item.title)} <small>{html.escape(detail)}</small></a></li>'


def index_page(language: str, title: str, description: str, items: Sequence[Listed], names: dict) -> bytes:
    """The book's main page: its items by unit, then lesson, each with its kind and length; `names` maps
    (…, unit) and (…, unit, lesson) position tuples to a curriculum map's names in this language."""
    words = words_for(language)
    body = [f"<h1>{html.escape(title)}</h1><p>{html.escape(description)}</p>"]
    shelves = {tuple(i.position.get(k) for k in ("edition", "grade", "volume", "subject")) for i in items}
    unit_key = None
    for (key, lesson), group in itertools.groupby(items, key=_group):
        first, *rest = group
        if key != unit_key:
            unit_key, heading = key, _shelf(words, first.position, len(shelves) > 1)
            body.append(f"<h2>{_heading(heading, names.get(key))}</h2>")
        if lesson is not None:
            body.append(f"<h3>{_heading(words['lesson'].format(n=lesson), names.get((*key, lesson)))}</h3>")
        body.append(f"<ul>{''.join(_row(words, item) for item in (first, *rest))}</ul>")
    return html_page(language, title, "".join(body))


def map_page(language: str, title: str, description: str, units: Iterable[dict]) -> bytes:
    """The main page of a book that carries only a curriculum map: the map's units, in its order."""
    words = words_for(language)
    name = "zh" if language == "zho" else "en"
    rows = "".join(
        f"<li>{html.escape(unit_label(words, unit['unit']))} {html.escape(unit[name])}</li>" for unit in units
    )
    return html_page(
        language,
        title,
        f"<h1>{html.escape(title)}</h1><p>{html.escape(description)}</p><h2>{words['units']}</h2><ul>{rows}</ul>",
    )


@dataclasses.dataclass(frozen=True)
class Media:
    """What an item page shows, as paths relative to the page."""

    source: str
    mimetype: str
    poster: str | None = None
    captions: str | None = None
    pictures: tuple[tuple[str, tuple[int, int] | None], ...] = ()  # a PDF's pages and their size in pixels
    text: str = ""


def item_page(language: str, item: Listed, where: str, media: Media) -> bytes:
    """An item's page: its player, picture or pages, the way back to the contents, and its original file."""
    words = words_for(language)
    lang = "zh" if language == "zho" else "en"
    body = [f'<p><a href="../index.html">← {words["back"]}</a></p><h1>{html.escape(item.title)}</h1>']
    body.append(f"<p><small>{html.escape(where)}</small></p>")
    src = quote(media.source)
    # crossorigin: the kit serves a book's pages in an opaque origin (web/book_origin.py), where a <track> fetched in
    # the default same-origin mode fails and captions never show; in CORS mode the library's
    # Access-Control-Allow-Origin answers it (kiwix-serve, same origin, answers either way).
    if item.kind in ("video", "audio"):
        poster = f' poster="{quote(media.poster)}"' if media.poster and item.kind == "video" else ""
        if media.poster and item.kind == "audio":
            body.append(f'<img src="{quote(media.poster)}" alt="">')
        track = (
            f'<track kind="captions" src="{quote(media.captions)}" srclang="{lang}" label="{words["captions"]}" default>'
            if media.captions
            else ""
        )
        body.append(
            f'<{item.kind} controls preload="metadata" playsinline crossorigin="anonymous"{poster}>'
            f'<source src="{src}" type="{media.mimetype}">{track}'
            f'<p><a href="{src}">{words["no_player"]}</a></p></{item.kind}>'
        )
    elif item.kind == "image":
        body.append(f'<img src="{src}" alt="{html.escape(item.title)}">')
    else:
        body.append(f"<p>{words['pdf_note']}</p>")
        for number, (picture, size) in enumerate(media.pictures, start=1):
            dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
            alt = words["page_n"].format(n=number)
            body.append(f'<img class="page" loading="lazy" src="{quote(picture)}"{dims} alt="{alt}">')
        if media.text.strip():
            body.append(f"<details><summary>{words['text']}</summary><pre>{html.escape(media.text)}</pre></details>")
    body.append(f'<p><a href="{src}">{words["open_file"]}</a></p>')
    return html_page(language, item.title, "".join(body))
