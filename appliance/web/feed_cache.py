"""Rendered OPDS feeds kept per library generation, URL and second, so a catalog request is answered on the event
loop without a thread hop, a template render, a digest or a gzip (issue 15: /catalog/v2/entries was 0.52–0.58× kiwix-serve
3.7 rendering all of it per request).

Must not import cli. A feed's `<updated>` says the second it was made, so a kept feed serves its second only; the
library's generation (content.library) makes a feed kept before a book was added, removed or replaced a miss.
"""

from __future__ import annotations

import dataclasses
import gzip
import threading
from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import Response

from appliance.web.byte_serving import (
    COMPRESS_MAX_PLAIN_BYTES,
    GZIP_LEVEL,
    etag_matches,
    is_compressible,
    wants_gzip,
)
from appliance.web.caching import DYNAMIC

# Feeds are small (a book is ~1 KB of XML, 10 per page by default); a hostile client varying the query must not
# grow the cache: at most this many feeds, this many bytes, and none larger than the item bound.
FEED_CACHE_MAX_FEEDS = 64
FEED_CACHE_MAX_BYTES = 2 * 1024 * 1024
FEED_CACHE_ITEM_MAX_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True)
class Feed:
    """One rendered answer: its bytes (and gzip form when worth it), for which library generation and second."""

    generation: int
    now: str
    content_type: str
    body: bytes
    gz: bytes | None
    etag: str  # unquoted, without `/gz` (web.caching.etag_value)

    @property
    def size_bytes(self) -> int:
        return len(self.body) + len(self.gz or b"")

    def fresh(self, generation: int, now: str) -> bool:
        return self.generation == generation and self.now == now


def make_feed(generation: int, now: str, content_type: str, body: bytes, etag: str) -> Feed:
    """A Feed, gzipped once now when web.compression would gzip it per request."""
    worth_gzip = len(body) > COMPRESS_MAX_PLAIN_BYTES and is_compressible(content_type)
    gz = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if worth_gzip else None
    return Feed(generation, now, content_type, body, gz, etag)


def feed_response(request: Request, feed: Feed) -> Response:
    """The answer web.caching.revalidated and web.compression give for this body: the same ETag (`/gz` when
    gzipped), Cache-Control, Vary and Content-Encoding, or the same bodiless 304."""
    compress = feed.gz is not None and wants_gzip(request)
    etag = f'"{feed.etag}{"/gz" if compress else ""}"'
    kept = {"ETag": etag, "Cache-Control": DYNAMIC}
    if feed.gz is not None:
        kept["Vary"] = "Accept-Encoding"
    if etag_matches(request, etag):
        return Response(status_code=304, headers=kept)
    if compress:
        return Response(feed.gz, headers={"Content-Type": feed.content_type, **kept, "Content-Encoding": "gzip"})
    return Response(feed.body, headers={"Content-Type": feed.content_type, **kept})


class FeedCache:
    """A small LRU of Feeds keyed by (path, query). Thread-safe: filled by worker threads, read on the event loop."""

    def __init__(self, max_feeds: int = FEED_CACHE_MAX_FEEDS, max_bytes: int = FEED_CACHE_MAX_BYTES) -> None:
        self.max_feeds = max_feeds
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, bytes], Feed] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, bytes], generation: int, now: str) -> Feed | None:
        """The feed kept for `key` if it was made for this generation and second."""
        with self._lock:
            feed = self._items.get(key)
            if feed is None or not feed.fresh(generation, now):
                return None
            self._items.move_to_end(key)
            return feed

    def put(self, key: tuple[str, bytes], feed: Feed) -> None:
        if feed.size_bytes > FEED_CACHE_ITEM_MAX_BYTES:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += feed.size_bytes - (old.size_bytes if old else 0)
            self._items[key] = feed
            while self._size > self.max_bytes or len(self._items) > self.max_feeds:
                _, evicted = self._items.popitem(last=False)
                self._size -= evicted.size_bytes
