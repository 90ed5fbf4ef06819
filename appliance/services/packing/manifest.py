"""`pack.toml`, the manifest of a folder to pack: read and checked whole before anything is written, every problem
listed at once with where it is and its fix (docs/textbook-units.md, "The manifest").

Must not import web or cli; reads no file but the manifest (existence and kind of the files it names).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import tomllib
from pathlib import Path

from appliance.errors import PackError
from appliance.services.packing import positions

MANIFEST = "pack.toml"
# What a kind of item is, by the file's extension (lower-cased), and the MIME type the book stores it under.
KINDS = {
    ".mp4": ("video", "video/mp4"),
    ".m4v": ("video", "video/mp4"),
    ".webm": ("video", "video/webm"),
    ".mp3": ("audio", "audio/mpeg"),
    ".m4a": ("audio", "audio/mp4"),
    ".ogg": ("audio", "audio/ogg"),
    ".pdf": ("pdf", "application/pdf"),
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".png": ("image", "image/png"),
    ".webp": ("image", "image/webp"),
    ".html": ("page", "text/html"),
    ".htm": ("page", "text/html"),
}
OFFICE = {".doc", ".docx", ".ppt", ".pptx", ".pps", ".ppsx", ".xls", ".xlsx", ".odt", ".odp", ".ods", ".wps", ".et"}
BOOK_KEYS = {"name", "title", "language", "licence", "creator", "publisher", "description", "date", "item"}
BOOK_POSITION = ("edition", "grade", "volume", "subject")
ITEM_KEYS = {"file", "title", "captions", "poster", *positions.KEYS}
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}")
_LANGUAGE = re.compile(r"[a-z]{3}")
DESCRIPTION_MAX = 80  # the ZIM metadata spec's limit for Description; Kiwix readers cut longer ones


@dataclasses.dataclass(frozen=True)
class Item:
    """One item of the book: its file in the folder and its place in the textbook."""

    number: int  # 1 for the first [[item]] of the manifest
    source: Path
    relative: str  # the file's path inside the folder, with "/"
    kind: str
    mimetype: str
    title: str
    position: dict[str, int | str]
    captions: Path | None
    poster: Path | None


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A checked manifest: the book's metadata, its default position and its items in manifest order."""

    folder: Path
    name: str
    title: str
    language: str
    licence: str
    creator: str
    publisher: str
    description: str
    date: str
    position: dict[str, int | str]
    items: tuple[Item, ...]


def read(folder: Path, *, today: datetime.date) -> Manifest:
    """The folder's checked manifest; PackError listing every problem (nothing read further) when it has any."""
    path = folder / MANIFEST
    if not path.is_file():
        raise PackError(
            f"{folder} has no {MANIFEST}.",
            cause="tpkit pack reads the book's title, language, licence and each item's unit from it.",
            fix=f'Write {path} (an example is in docs/textbook-units.md, "The manifest"), then run tpkit pack again.',
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise problems_error(path, [f"it is not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    manifest = _book(folder, data, problems, today)
    if problems:
        raise problems_error(path, problems)
    return manifest


def problems_error(path: Path, problems: list[str]) -> PackError:
    """One error listing every problem of a file a person wrote (a manifest, a curriculum map)."""
    return PackError(
        f"{path} has {len(problems)} problem(s); nothing was written:",
        problems=problems,
        fix=f"Correct each problem listed in {path.name} (its format: docs/textbook-units.md), then run tpkit pack "
        "again.",
    )


def _text(data: dict, key: str, problems: list[str], *, default: str | None = None, where: str = "") -> str:
    value = data.get(key, default)
    if isinstance(value, str) and value.strip():
        return value.strip()
    shown = "is missing" if key not in data else f"= {value!r} is not a text"
    problems.append(f'{where}{key} {shown}: write {key} = "…" in quotes')
    return ""


def _book(folder: Path, data: dict, problems: list[str], today: datetime.date) -> Manifest:
    for key in sorted(set(data) - BOOK_KEYS - set(BOOK_POSITION)):
        problems.append(_unknown(key, BOOK_KEYS | set(BOOK_POSITION), "the book"))
    name = _text(data, "name", problems)
    if name and not _NAME.fullmatch(name):
        problems.append(f'name = "{name}" is not a book name: use lower-case letters, digits, "_", "-" and "." only')
    language = _text(data, "language", problems)
    if language and not _LANGUAGE.fullmatch(language):
        problems.append(f'language = "{language}" is not an ISO 639-3 code: write "zho" for Chinese, "eng" for English')
    title = _text(data, "title", problems)
    creator = _text(data, "creator", problems)
    description = _text(data, "description", problems, default=(title or "-")[:DESCRIPTION_MAX])
    if len(description) > DESCRIPTION_MAX:
        problems.append(
            f"description is {len(description)} characters long: shorten it to {DESCRIPTION_MAX}, what Kiwix shows"
        )
    if isinstance(data.get("date"), datetime.date):  # written without quotes: TOML's own date, just as good
        data = {**data, "date": data["date"].isoformat()}
    date = _text(data, "date", problems, default=today.isoformat())
    if date and not _is_date(date):
        problems.append(f'date = "{date}" is not a date: write it as YYYY-MM-DD, e.g. "{today.isoformat()}"')
    position = _position(data, BOOK_POSITION, problems, "the book's ")
    raw_items = data.get("item", [])
    if not isinstance(raw_items, list) or not all(isinstance(entry, dict) for entry in raw_items):
        problems.append("item must be a list of [[item]] tables: write each item under its own [[item]] line")
        raw_items = []
    licence = _text(data, "licence", problems)
    gaps: dict[str, list[int]] = {}
    items = tuple(_items(folder, raw_items, position, problems, gaps))
    for gap, numbers in gaps.items():
        listed = ", ".join(str(n) for n in numbers)
        problems.append(f"[[item]] {listed}: {gap}: add it to the item, or once to the top of the manifest")
    return Manifest(
        folder=folder,
        name=name,
        title=title,
        language=language,
        licence=licence,
        creator=creator,
        publisher=_text(data, "publisher", problems, default=creator or "-"),
        description=description,
        date=date,
        position=position,
        items=items,
    )


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _unknown(key: str, known: set[str], where: str) -> str:
    hint = ' (the manifest spells it "licence")' if key == "license" else ""
    return f"{where} has an unknown key {key!r}{hint}: the keys are {', '.join(sorted(known))}"


def _position(data: dict, keys: tuple[str, ...], problems: list[str], where: str) -> dict[str, int | str]:
    position: dict[str, int | str] = {}
    for key in keys:
        if key in data:
            problem = positions.value_problem(key, data[key])
            if problem:
                problems.append(f"{where}{problem}")
            else:
                position[key] = data[key]
    return position


def _items(folder: Path, raw_items: list[dict], book_position: dict, problems: list[str], gaps: dict):
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_items, start=1):
        where = f"[[item]] {number}" + (f' (file = "{raw["file"]}")' if isinstance(raw.get("file"), str) else "")
        item = _item(folder, number, raw, book_position, problems, f"{where}: ", gaps)
        if item is None:
            continue
        if item.relative in seen:
            problems.append(f"{where}: the same file is item {seen[item.relative]} too: list each file once")
            continue
        seen[item.relative] = number
        yield item


def _item(
    folder: Path, number: int, raw: dict, book_position: dict, problems: list[str], where: str, gaps: dict
) -> Item | None:
    """One item, checked; None when it has problems (listed in `problems`; position gaps gathered in `gaps`, one
    line for all items that share one)."""
    before = len(problems)
    for key in sorted(set(raw) - ITEM_KEYS):
        problems.append(_unknown(key, ITEM_KEYS, where.rstrip(": ")))
    title = _text(raw, "title", problems, where=where)
    position = {**book_position, **_position(raw, positions.KEYS, problems, where)}
    gap = positions.gap_problem(position) if "unit" in raw else None
    if "unit" not in raw:
        problems.append(f"{where}unit is missing: write the textbook unit, e.g. unit = 2")
    elif gap:
        gaps.setdefault(gap, []).append(number)
    source = _inside(folder, raw.get("file"), "file", problems, where)
    kind = _kind(source, problems, where) if source else None
    captions = _inside(folder, raw.get("captions"), "captions", problems, where) if "captions" in raw else None
    poster = _inside(folder, raw.get("poster"), "poster", problems, where) if "poster" in raw else None
    if kind and kind[0] not in ("video", "audio") and (captions or poster):
        problems.append(f"{where}captions and poster are for video and audio items: remove them from this item")
    if kind and kind[0] in ("video", "audio") and "captions" not in raw and source:
        beside = source.with_suffix(".vtt")
        captions = beside if beside.is_file() else None
    if len(problems) > before or source is None or kind is None or gap:
        return None
    relative = source.relative_to(folder.resolve()).as_posix()
    return Item(number, source, relative, kind[0], kind[1], title, position, captions, poster)


def _inside(folder: Path, value: object, key: str, problems: list[str], where: str) -> Path | None:
    """The file `value` names, resolved (symbolic links followed) and inside `folder`; None with a problem."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f'{where}{key} is missing: write the file\'s path inside the folder, e.g. {key} = "u2/l1.mp4"')
        return None
    root = folder.resolve()
    resolved = (root / value).resolve()
    if Path(value).is_absolute() or not resolved.is_relative_to(root):
        problems.append(
            f'{where}{key} = "{value}" is outside the folder: copy the file into {folder} and name it from there'
        )
        return None
    if not resolved.is_file():
        problems.append(f'{where}{key} = "{value}" does not exist in {folder}: check the name (letters\' case too)')
        return None
    return resolved


def _kind(source: Path, problems: list[str], where: str) -> tuple[str, str] | None:
    suffix = source.suffix.lower()
    if suffix in KINDS:
        return KINDS[suffix]
    if suffix in OFFICE:
        problems.append(
            f"{where}{source.name} is an office file, which phones cannot open: export it to PDF "
            "(File → Export → PDF in WPS or Office) and name the PDF here"
        )
    elif suffix == ".vtt":
        problems.append(f'{where}{source.name} is captions: name it as captions = "…" of its video item instead')
    else:
        kinds = " ".join(sorted(KINDS))
        problems.append(f"{where}{source.name} is a kind of file a book cannot hold: use one of {kinds}")
    return None
