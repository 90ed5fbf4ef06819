"""`tpkit pack FOLDER --out BOOK.zim`: a checked folder made into a ZIM book (docs/textbook-units.md, "Packing a folder").

Entries come in a fixed order (by position, then file), media are written from their files (libzim's FileProvider),
so the same folder gives the same entries and a corrected worksheet costs a small patch. Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from appliance import __version__
from appliance.content.icons import badge
from appliance.content.zimwriter import Entry, FileEntry, write_zim
from appliance.edges.images import picture_size
from appliance.errors import PackError
from appliance.protocol.textbook_names import chinese_number
from appliance.services.packing import book_pages, curriculum, manifest, media, page_files, positions
from appliance.services.packing.book_pages import Listed, Media
from appliance.services.packing.manifest import Item, Manifest

ITEMS_JSON = "tpkit/items.json"
CURRICULUM_JSON = "tpkit/curriculum.json"
MAIN_PAGE = "index.html"
FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Packed:
    """What a pack made: the book, its items, and how many videos were encoded now or taken from the cache."""

    out: Path
    items: int
    size_bytes: int
    encoded: int
    cached: int


@dataclasses.dataclass
class _Prepared:
    item: Item
    listed: Listed
    media_bytes: int
    entries: list[Entry | FileEntry]
    encoded: bool = False
    cached: bool = False


def cache_folder(out: Path) -> Path:
    """Where re-encoded videos are kept between packs: beside the book, e.g. .BOOK.pack-cache/."""
    return out.parent / f".{out.stem}.pack-cache"


def pack(
    folder: Path,
    out: Path,
    *,
    video: str | None = None,
    curriculum_map: Path | None = None,
    today: datetime.date,
    say: Callable[[str], None] = lambda line: None,
) -> Packed:
    """Check the folder's manifest (and the map), then write the book to `out` atomically; PackError before
    anything is written when the manifest or map has problems."""
    book = manifest.read(folder, today=today)
    the_map = curriculum.read(curriculum_map) if curriculum_map else None
    if not book.items and the_map is None:
        raise PackError(
            f"{folder / manifest.MANIFEST} lists no [[item]], and no curriculum map was given: nothing to pack.",
            fix="Add an [[item]] for each file, or give the map with --curriculum MAP.toml.",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.stem}.pack-", dir=out.parent) as work:
        prepared = [
            _prepare(book, item, slug, Path(work), cache_folder(out) if video else None, say)
            for item, slug in _in_order(book.items)
        ]
        write_zim(
            out,
            metadata=_metadata(book, prepared),
            main_path=MAIN_PAGE,
            entries=_entries(book, prepared, the_map),
            illustration_png=badge(48, (43, 123, 214), (255, 255, 255)),
            index_language=book.language,
        )
    return Packed(
        out, len(prepared), out.stat().st_size, sum(p.encoded for p in prepared), sum(p.cached for p in prepared)
    )


def _in_order(items: tuple[Item, ...]) -> list[tuple[Item, str]]:
    """Items by position then file, each with a short name for its paths in the book that does not change when
    other items are added or the manifest is reordered."""

    def order(item: Item) -> tuple:
        return (*(_sort_key(item.position, key) for key in positions.KEYS), item.relative)

    named, taken = [], set()
    for item in sorted(items, key=order):
        stem = re.sub(r"[^a-z0-9]+", "-", Path(item.relative).stem.lower()).strip("-")[:40]
        stem = stem or hashlib.sha256(item.relative.encode()).hexdigest()[:8]
        slug = f"u{item.position['unit']}" + (f"-l{item.position['lesson']}" if "lesson" in item.position else "")
        slug = candidate = f"{slug}-{stem}"
        counter = 2
        while candidate in taken:
            candidate, counter = f"{slug}-{counter}", counter + 1
        taken.add(candidate)
        named.append((item, candidate))
    return named


def _sort_key(position: dict[str, int | str], key: str) -> tuple[int, str]:
    """A sort key for one position value: absent first, numbers in numeric order."""
    value = position.get(key)
    return (0, "") if value is None else (1, f"{value:>8}" if isinstance(value, int) else str(value))


def _where(book: Manifest, position: dict[str, int | str]) -> str:
    words = book_pages.words_for(book.language)
    parts = []
    if "grade" in position:
        grade = position["grade"]
        number = chinese_number(int(grade)) if book.language == "zho" else grade
        parts.append(words["grade"].format(n=number) + words.get(f"volume{position.get('volume')}", ""))
    parts.append(book_pages.unit_label(words, int(position["unit"])))
    if "lesson" in position:
        parts.append(words["lesson"].format(n=position["lesson"]))
    return " · ".join(parts)


def _prepare(book: Manifest, item: Item, slug: str, work: Path, cache: Path | None, say) -> _Prepared:
    say(f"[i] {item.relative}: {item.kind}")
    page = f"items/{slug}.html"
    if item.kind == "page":
        return _page_item(book, item)
    if item.kind == "pdf":
        return _pdf_item(book, item, slug, page, work)
    if item.kind == "image":
        listed = Listed(page, item.title, item.kind, item.position, None, None)
        stored = FileEntry(f"media/{slug}{item.source.suffix.lower()}", item.title, item.mimetype, item.source)
        return _with_page(book, item, listed, stored, Media(f"../{stored.path}", item.mimetype))
    return _player_item(book, item, slug, page, work, cache, say)


def _with_page(book: Manifest, item: Item, listed: Listed, stored: FileEntry, shown: Media, *extra) -> _Prepared:
    html = book_pages.item_page(book.language, listed, _where(book, item.position), shown)
    entries: list[Entry | FileEntry] = [Entry(listed.path, item.title, "text/html", html, front=True), stored, *extra]
    return _Prepared(item, listed, stored.source.stat().st_size, entries)


def _player_item(book, item: Item, slug: str, page: str, work: Path, cache: Path | None, say) -> _Prepared:
    seconds = media.probe(item.source).seconds
    source, mimetype, suffix, encoded = item.source, item.mimetype, item.source.suffix.lower(), False
    if cache is not None and item.kind == "video":
        last = [-1]

        def progress(done: float) -> None:
            if int(done * 10) > last[0]:
                last[0] = int(done * 10)
                say(f"[i] {item.relative}: re-encoding to 480p, {done:.0%}")

        source, encoded = media.encode_480p(item.source, cache, seconds, progress)
        mimetype, suffix = "video/mp4", ".mp4"
        if not encoded:
            say(f"[i] {item.relative}: 480p taken from {cache.name} (unchanged since the last pack)")
    stored = FileEntry(f"media/{slug}{suffix}", item.title, mimetype, source)
    extra, shown = [], Media(f"../{stored.path}", mimetype)
    poster = item.poster or (media.poster(source, seconds, work / f"{slug}.jpg") if item.kind == "video" else None)
    if poster:
        extra.append(
            FileEntry(f"media/{slug}.poster{poster.suffix.lower()}", item.title, _picture_type(poster), poster)
        )
        shown = dataclasses.replace(shown, poster=f"../{extra[-1].path}")
    if item.captions:
        extra.append(FileEntry(f"media/{slug}.vtt", item.title, "text/vtt", item.captions))
        shown = dataclasses.replace(shown, captions=f"../{extra[-1].path}")
    listed = Listed(page, item.title, item.kind, item.position, seconds, None)
    prepared = _with_page(book, item, listed, stored, shown, *extra)
    prepared.encoded, prepared.cached = encoded, cache is not None and item.kind == "video" and not encoded
    return prepared


def _picture_type(path: Path) -> str:
    return manifest.KINDS.get(path.suffix.lower(), ("image", "image/jpeg"))[1]


def _pdf_item(book: Manifest, item: Item, slug: str, page: str, work: Path) -> _Prepared:
    pictures = media.pdf_pages(item.source, work / slug)
    text = media.pdf_text(item.source, work / f"{slug}.txt")
    stored = FileEntry(f"media/{slug}.pdf", item.title, item.mimetype, item.source)
    extra = [
        FileEntry(f"media/{slug}/p-{number}.jpg", f"{item.title} {number}", "image/jpeg", picture)
        for number, picture in enumerate(pictures, start=1)
    ]
    shown = Media(
        f"../{stored.path}",
        item.mimetype,
        pictures=tuple((f"../{e.path}", picture_size(e.source)) for e in extra),
        text=text,
    )
    listed = Listed(page, item.title, item.kind, item.position, None, len(pictures))
    return _with_page(book, item, listed, stored, shown, *extra)


def _page_item(book: Manifest, item: Item) -> _Prepared:
    """An HTML item stored as it is, under pages/ with the files it links to at the same relative places."""
    root = book.folder.resolve()
    path = f"pages/{item.relative}"
    entries: list[Entry | FileEntry] = [FileEntry(path, item.title, "text/html", item.source, front=True)]
    for needed in page_files.needed(item.source, root):
        relative = needed.relative_to(root).as_posix()
        entries.append(FileEntry(f"pages/{relative}", "", page_files.mimetype(needed), needed))
    listed = Listed(path, item.title, item.kind, item.position, None, None)
    return _Prepared(item, listed, item.source.stat().st_size, entries)


def _items_json(prepared: list[_Prepared]) -> bytes:
    rows = []
    for p in prepared:
        row: dict[str, int | str] = {"path": p.listed.path, "title": p.item.title, "kind": p.item.kind}
        row |= {key: p.item.position[key] for key in positions.KEYS if key in p.item.position}
        row["bytes"] = p.media_bytes
        if p.item.kind in ("video", "audio") and p.listed.seconds is not None:
            row["seconds"] = round(p.listed.seconds)
        rows.append(row)
    return json.dumps({"format": FORMAT, "items": rows}, ensure_ascii=False, indent=1).encode()


def _map_names(book: Manifest, the_map: dict | None) -> dict:
    """The map's unit and lesson names in the book's language, keyed by position tuples (book_pages.index_page)."""
    language = "zh" if book.language == "zho" else "en"
    names: dict[tuple, str] = {}
    for unit in (the_map or {}).get("units", []):
        key = tuple(unit[k] for k in positions.KEYS[:5])
        names[key] = unit[language]
        names |= {(*key, lesson["lesson"]): lesson[language] for lesson in unit["lessons"]}
    return names


def _entries(book: Manifest, prepared: list[_Prepared], the_map: dict | None) -> list[Entry | FileEntry]:
    listed = [p.listed for p in prepared]
    if prepared or the_map is None:
        main = book_pages.index_page(book.language, book.title, book.description, listed, _map_names(book, the_map))
    else:
        main = book_pages.map_page(book.language, book.title, book.description, the_map["units"])
    entries: list[Entry | FileEntry] = [
        Entry(MAIN_PAGE, book.title, "text/html", main, front=True),
        Entry(ITEMS_JSON, "", "application/json", _items_json(prepared)),
    ]
    if the_map is not None:
        data = json.dumps(the_map, ensure_ascii=False, indent=1).encode()
        entries.append(Entry(CURRICULUM_JSON, "", "application/json", data))
    unique: dict[str, Entry | FileEntry] = {}
    for p in prepared:
        for entry in p.entries:
            unique.setdefault(entry.path, entry)  # a picture two HTML items share is stored once
    return entries + list(unique.values())


def _metadata(book: Manifest, prepared: list[_Prepared]) -> dict:
    item_positions = [p.item.position for p in prepared] or [book.position]
    metadata = {
        "Name": book.name,
        "Title": book.title,
        "Language": book.language,
        "License": book.licence,
        "Creator": book.creator,
        "Publisher": book.publisher,
        "Description": book.description,
        "Date": book.date,
        "Tags": positions.tags(item_positions, videos=any(p.item.kind == "video" for p in prepared)),
        "Scraper": f"tpkit pack {__version__}",
    }
    return {name: value for name, value in metadata.items() if value}  # no empty Tags for a map without a position
