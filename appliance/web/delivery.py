"""Sending book entries well to old phones on crowded Wi-Fi: ETag/304, Cache-Control, gzip, Range/206.

Must not import cli. Pure functions of a request's headers and an entry's bytes.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import Response

from appliance.errors import RangeNotSatisfiableError

# Text up to this size fits one TCP segment anyway, so gzip gains nothing; kiwix-serve uses the same
# bound (compresses only bodies strictly larger), so both servers send the same bytes for the same entry.
COMPRESS_MAX_PLAIN_BYTES = 1400
# Level 6: within a few percent of level 9's size at a third of its CPU on a Pi.
GZIP_LEVEL = 6
# Compressed bodies of hot entries are kept so a class opening the same page costs one compression.
GZIP_CACHE_MAX_BYTES = 4 * 1024 * 1024
_COMPRESSIBLE = re.compile(r"^(text/|application/(javascript|json|xml|[a-z.+-]*\+xml)|image/svg\+xml)")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class GzipCache:
    """A byte-capped LRU of compressed bodies, keyed by (book uuid, path). Thread-safe."""

    def __init__(self, max_bytes: int = GZIP_CACHE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_compress(self, key: tuple[str, str], data: memoryview | bytes) -> bytes:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
                return body
        body = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        if len(body) <= self.max_bytes // 8:
            with self._lock:
                if key not in self._items:
                    self._items[key] = body
                    self._size += len(body)
                while self._size > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._size -= len(old)
        return body


def wants_gzip(request: Request) -> bool:
    accept = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() == "gzip" and "q=0" not in part.replace(" ", "")
               for part in accept.split(","))


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


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return header.strip() == "*" or etag in [tag.strip() for tag in header.split(",")]


def entry_response(
    request: Request, data: memoryview, mimetype: str, etag_base: str, max_age_s: int,
    gzip_cache: GzipCache, cache_key: tuple[str, str],
) -> Response:
    """The response for one entry's bytes, honouring If-None-Match, Range and Accept-Encoding."""
    size = len(data)
    range_header = request.headers.get("range")
    compress = (range_header is None and size > COMPRESS_MAX_PLAIN_BYTES
                and _COMPRESSIBLE.match(mimetype) is not None and wants_gzip(request))
    etag = f'"{etag_base}{"/gz" if compress else ""}"'
    # The ZIM's own MIME type, exactly: no charset added (kiwix-serve sends it unchanged too).
    headers = {"Content-Type": mimetype, "ETag": etag, "Cache-Control": f"max-age={max_age_s}, public", "Accept-Ranges": "bytes"}
    if _COMPRESSIBLE.match(mimetype):
        headers["Vary"] = "Accept-Encoding"
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if compress:
        headers["Content-Encoding"] = "gzip"
        body = gzip_cache.get_or_compress(cache_key, data)
        return Response(body, headers=headers)
    if not range_header:
        return Response(bytes(data), headers=headers)
    try:
        start, end = parse_range(range_header, size)
    except RangeNotSatisfiableError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}",
                                                  "Cache-Control": headers["Cache-Control"]})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(bytes(data[start:end + 1]), status_code=206, headers=headers)
