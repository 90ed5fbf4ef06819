"""Sending book entries well to old phones on crowded Wi-Fi: ETag/304, Cache-Control, gzip, Range/206.

Must not import cli. Pure functions of a request's headers and an entry's bytes.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
import threading
from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import Response

from appliance.content.compression import compressible
from appliance.errors import RangeNotSatisfiableError

# Text up to this size fits one TCP segment anyway, so gzip gains nothing; kiwix-serve uses the same
# bound (compresses only bodies strictly larger), so both servers send the same bytes for the same entry.
COMPRESS_MAX_PLAIN_BYTES = 1400
# Level 6: within a few percent of level 9's size at a third of its CPU on a Pi.
GZIP_LEVEL = 6
# Hot entries (bytes and gzip form) are kept per worker, so a class opening the same pages is served
# from memory on the event loop without a thread hop or a libzim read. 16 MB holds ~700 articles.
ENTRY_CACHE_MAX_BYTES = 16 * 1024 * 1024
# Larger entries (videos, big PDFs) are never cached: they are read per request and served in ranges.
ENTRY_CACHE_ITEM_MAX_BYTES = 512 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclasses.dataclass(frozen=True)
class Entry:
    """What a book URL resolves to: bytes to send (with their gzip form once a client that accepts gzip asked for
    them, when worth it), or a redirect."""

    mimetype: str = ""
    data: bytes | memoryview = b""
    gz: bytes | None = None
    redirect: str | None = None
    compressible: bool = False  # text large enough to gain: sent gzipped to clients that accept it

    @property
    def size_bytes(self) -> int:
        return len(self.data) + len(self.gz or b"")


def prepare(mimetype: str, data: memoryview) -> Entry:
    """An Entry for these bytes. Its gzip form is made by `with_gzip`, only once a client that accepts gzip asks
    for it (~0.5 ms for a 15 KB article here: a reader that does not accept gzip never pays it)."""
    small = len(data) <= ENTRY_CACHE_ITEM_MAX_BYTES
    body = bytes(data) if small else data
    worth_gzip = small and len(data) > COMPRESS_MAX_PLAIN_BYTES and compressible(mimetype)
    return Entry(mimetype, body, compressible=worth_gzip)


def with_gzip(entry: Entry) -> Entry:
    """`entry` with its gzip form, made now if it is compressible and has none yet."""
    if not entry.compressible or entry.gz is not None:
        return entry
    return dataclasses.replace(entry, gz=gzip.compress(entry.data, compresslevel=GZIP_LEVEL, mtime=0))


def gzip_wanted(request: Request) -> bool:
    """Whether `request` is answered with an entry's gzip form when it has one: it accepts gzip, and asks for no range
    (a range is of the entry's own bytes)."""
    return "range" not in request.headers and wants_gzip(request)


def needs_gzip(request: Request, entry: Entry) -> bool:
    """Whether answering `request` with `entry` needs the gzip form it does not have yet."""
    return entry.compressible and entry.gz is None and gzip_wanted(request)


class EntryCache:
    """A byte-capped LRU of Entries keyed by (book uuid, path); a book's entries never change under its uuid.
    Thread-safe: filled by worker threads, read on the event loop."""

    def __init__(self, max_bytes: int = ENTRY_CACHE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: tuple[str, str], entry: Entry) -> None:
        """Keep `entry` unless it is too large to be worth a place."""
        if isinstance(entry.data, memoryview) or entry.size_bytes > ENTRY_CACHE_ITEM_MAX_BYTES:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += entry.size_bytes - (old.size_bytes if old else 0)
            self._items[key] = entry
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= evicted.size_bytes


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header value accepts gzip (`gzip;q=0` refuses it, RFC 9110 12.5.3)."""
    return any(
        part.split(";")[0].strip() == "gzip" and "q=0" not in part.replace(" ", "")
        for part in accept_encoding.split(",")
    )


def wants_gzip(request: Request) -> bool:
    return accepts_gzip(request.headers.get("accept-encoding", ""))


def parse_range(header: str, size: int) -> tuple[int, int]:
    """(first, last) inclusive for a single `bytes=` range. Multiple or malformed ranges are refused
    with 416 as kiwix-serve does (RFC 9110 would allow ignoring them; Kiwix clients expect 416)."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        raise RangeNotSatisfiableError(
            f"The Range header {header!r} is not one `bytes=first-last` range.",
            fix="Ask for a single range such as bytes=0-1023.",
        )
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and first and int(last) < start):
        raise RangeNotSatisfiableError(
            f"The requested range {header!r} is outside the {size} bytes of this entry.",
            fix="Ask for a range inside the entry, or for the whole entry without a Range header.",
        )
    return start, end


def etag_matches(request: Request, etag: str) -> bool:
    """Whether If-None-Match names `etag` (or is `*`)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return header.strip() == "*" or etag in [tag.strip() for tag in header.split(",")]


def entry_response(request: Request, entry: Entry, etag_base: str, cache_control: str) -> Response:
    """The response for one entry's bytes, honouring If-None-Match, Range and Accept-Encoding; `cache_control` comes
    from web.caching."""
    data = entry.data
    size = len(data)
    range_header = request.headers.get("range")
    compress = entry.gz is not None and gzip_wanted(request)
    etag = f'"{etag_base}{"/gz" if compress else ""}"'
    # The ZIM's own MIME type, exactly: no charset added (kiwix-serve sends it unchanged too).
    headers = {
        "Content-Type": entry.mimetype,
        "ETag": etag,
        "Cache-Control": cache_control,
        "Accept-Ranges": "bytes",
    }
    if entry.compressible:
        headers["Vary"] = "Accept-Encoding"
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if compress:
        headers["Content-Encoding"] = "gzip"
        return Response(entry.gz, headers=headers)
    if not range_header:
        return Response(bytes(data), headers=headers)
    try:
        start, end = parse_range(range_header, size)
    except RangeNotSatisfiableError:
        return Response(
            status_code=416, headers={"Content-Range": f"bytes */{size}", "Cache-Control": headers["Cache-Control"]}
        )
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(bytes(data[start : end + 1]), status_code=206, headers=headers)
