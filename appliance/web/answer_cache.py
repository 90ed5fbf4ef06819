"""Rendered library answers (OPDS feeds, title suggestions) kept per library generation and URL, so a repeated
request is answered on the event loop without a thread hop, a render, a digest or a gzip (issue 15: the catalog was
0.52–0.58× kiwix-serve 3.7 rendering every feed per request, suggestions 0.73× at one client).

Must not import cli. The library's generation (content.library) makes an answer kept before a book was added,
removed or replaced a miss. A feed's `<updated>` says the second it was made, so a kept feed serves its second only
(`now`); a suggestion depends on the books only (`now` is "").
"""

from __future__ import annotations

import dataclasses
import gzip
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from appliance.content.compression import compressible
from appliance.web.byte_serving import (
    COMPRESS_MAX_PLAIN_BYTES,
    GZIP_LEVEL,
    etag_matches,
    wants_gzip,
)
from appliance.web.caching import DYNAMIC

# A hostile client varying the query must not grow a cache: at most this many answers, this many bytes, and none
# larger than the item bound (a feed of 10 books is ~10 KB, a suggestion list ~2 KB).
ANSWER_CACHE_MAX_ITEMS = 256
ANSWER_CACHE_MAX_BYTES = 2 * 1024 * 1024
ANSWER_CACHE_ITEM_MAX_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True)
class Answer:
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


def make_answer(generation: int, now: str, content_type: str, body: bytes, etag: str) -> Answer:
    """An Answer, gzipped once now when web.compression would gzip it per request."""
    worth_gzip = len(body) > COMPRESS_MAX_PLAIN_BYTES and compressible(content_type)
    gz = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if worth_gzip else None
    return Answer(generation, now, content_type, body, gz, etag)


def answer_response(request: Request, answer: Answer) -> Response:
    """The answer web.caching.revalidated and web.compression give for this body: the same ETag (`/gz` when
    gzipped), Cache-Control, Vary and Content-Encoding, or the same bodiless 304."""
    compress = answer.gz is not None and wants_gzip(request)
    etag = f'"{answer.etag}{"/gz" if compress else ""}"'
    kept = {"ETag": etag, "Cache-Control": DYNAMIC}
    if answer.gz is not None:
        kept["Vary"] = "Accept-Encoding"
    if etag_matches(request, etag):
        return Response(status_code=304, headers=kept)
    if compress:
        return Response(answer.gz, headers={"Content-Type": answer.content_type, **kept, "Content-Encoding": "gzip"})
    return Response(answer.body, headers={"Content-Type": answer.content_type, **kept})


class _Making:
    """One answer being made; the requests that want it meanwhile wait for `done`."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.answer: Answer | None = None


class AnswerCache:
    """A small LRU of Answers keyed by (path, query string). Thread-safe: filled by worker threads, read on the
    event loop."""

    def __init__(self, max_items: int = ANSWER_CACHE_MAX_ITEMS, max_bytes: int = ANSWER_CACHE_MAX_BYTES) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, bytes], Answer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._making: dict[tuple, _Making] = {}  # event loop only

    async def made_once(self, token: tuple, make: Callable[[], Awaitable[Answer]]) -> Answer:
        """`make()`'s answer; requests asking for the same `token` while it runs wait for that answer instead of
        making their own (64 readers at a feed's new second made 64 feeds in the bench: its p99). When the maker
        fails or its reader leaves, each waiter makes its own (the error may not be theirs)."""
        making = self._making.get(token)
        if making is not None:
            await making.done.wait()
            return making.answer if making.answer is not None else await make()
        making = self._making[token] = _Making()
        try:
            making.answer = await make()
            return making.answer
        finally:
            del self._making[token]
            making.done.set()

    def get(self, key: tuple[str, bytes], generation: int, now: str = "") -> Answer | None:
        """The answer kept for `key` if it was made for this library generation (and second)."""
        with self._lock:
            answer = self._items.get(key)
            if answer is None or not answer.fresh(generation, now):
                return None
            self._items.move_to_end(key)
            return answer

    def put(self, key: tuple[str, bytes], answer: Answer) -> None:
        if answer.size_bytes > ANSWER_CACHE_ITEM_MAX_BYTES:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += answer.size_bytes - (old.size_bytes if old else 0)
            self._items[key] = answer
            while self._size > self.max_bytes or len(self._items) > self.max_items:
                _, evicted = self._items.popitem(last=False)
                self._size -= evicted.size_bytes


async def kept_or_made(request: Request, make: Callable[[Request, int], Answer], now: str = "") -> Response:
    """The app's kept answer to this URL when it is current, else `make(request, generation)` run in a worker
    thread (libzim and templates take a while) and kept. A TpkitError from `make` is raised, never kept."""
    generation = request.app.state.kit.library.generation  # before the books are read: see Library.generation
    cache: AnswerCache = request.app.state.answer_cache
    key = (request.scope["path"], request.scope["query_string"])
    answer = cache.get(key, generation, now)
    if answer is None:
        answer = await cache.made_once((key, generation, now), lambda: run_in_threadpool(make, request, generation))
        cache.put(key, answer)
    return answer_response(request, answer)
