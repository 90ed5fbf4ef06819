"""The short way for a book entry (issue 15: the hot article a class opens at once, and the first reads of a book).

Must not import cli. A `/content/<book>/<path>` GET with no Range and no session cookie is answered here, before
Starlette's routing and the middlewares below it, when the entry cache holds the entry as the client wants it (its
gzip form there when the client accepts gzip), or when this worker answers nothing else and the entry is read now,
on the event loop (READ_ALONE): the same bytes and the same headers as the route, its ETag/304 included. It sits
inside the middlewares that add a book answer's own headers (Kiwix clients' `Access-Control-Allow-Origin`, the
books' sandbox: web/app.py), so they add them to this answer too. Anything else — a miss while other requests are in
flight, a redirect, a missing or damaged entry, a range, a signed-in reader whose opening is recorded — goes the
long way, unchanged. `tests/web/test_hot_entries.py` compares the two ways' answers header by header.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from appliance.content.zimfile import Redirect
from appliance.errors import BookNotFoundError, TpkitError
from appliance.web import caching
from appliance.web.byte_serving import Entry, EntryCache, entry_response, gzip_wanted, needs_gzip, prepare, with_gzip
from appliance.web.session import SESSION_COOKIE

# A worker answering this request and no other reads a book entry it does not hold on the event loop: the hop to a
# worker thread and back cost ~0.15-0.25 ms of CPU per first read (bench/inprocess.py; a libzim first read is
# ~2.5 ms), and with nothing else in flight there is nobody for the event loop to serve meanwhile. A request that
# arrives during the read waits for it (~2.5 ms here, tens on a Pi), as it would for the GIL. With two or more in
# flight, the read goes to a thread: libzim lets go of the GIL while it reads (a Python thread kept 91 % of its speed
# beside a loop of first reads), so cached answers go on; it reads one entry at a time in a process all the same.
READ_ALONE = 1
# Turns of the event loop a request lets pass before it reads alone: a request whose bytes arrive in the turn this one
# starts is started itself one turn later.
LOOK_AROUND = 2

PREFIX = "/content/"
_SESSION = SESSION_COOKIE.encode()


class ServeHotEntries:
    """ASGI middleware: answer cached book entries without the rest of the stack (see the module's docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            response = self._answer(scope)
            if isinstance(response, _NotHeld) and await reading_alone(scope["app"].state.requests):
                response = response.read_now()
            if response is not None and not isinstance(response, _NotHeld):
                scope["app"].state.requests.hot_entries += 1
                return await response(scope, receive, send)
        await self.app(scope, receive, send)

    def _answer(self, scope):
        book_name, slash, path = scope["path"][len(PREFIX) :].partition("/")
        if not slash or not path or not book_name:
            return None  # /content/<book> and /content/<book>/: the main page's redirect
        for name, value in scope["headers"]:
            if name == b"range" or (name == b"cookie" and _SESSION in value):
                return None
        state = scope["app"].state
        try:
            book = state.kit.library.book(book_name)
        except BookNotFoundError:
            return None  # the long way says so, with its fix
        cache: EntryCache = state.entry_cache
        entry = cache.get((book.uuid, path))
        if entry is None:
            return _NotHeld(Request(scope), book, path, cache)
        return _respond(Request(scope), book, entry)


class _NotHeld:
    """An entry the worker does not hold: read now (alone on the event loop), or left to the long way."""

    def __init__(self, request: Request, book, path: str, cache: EntryCache) -> None:
        self.request, self.book, self.path, self.cache = request, book, path, cache

    def read_now(self):
        try:
            entry = load_entry(self.book, self.path, self.cache, gzip_wanted(self.request))
        except TpkitError:
            return None  # no such entry, or a damaged one: the long way says so, with its fix
        return _respond(self.request, self.book, entry)


def _respond(request: Request, book, entry: Entry):
    """The answer with `entry`, or None when the long way must make it (a redirect, a gzip form still to make)."""
    if entry.redirect is not None or needs_gzip(request, entry):
        return None
    max_age_s = request.app.state.kit.settings.cache_max_age_s
    return entry_response(request, entry, book.uuid, caching.zim_content(max_age_s))


async def reading_alone(requests) -> bool:
    """Whether this worker answers this request and no other, so that a book entry is read on the event loop
    (READ_ALONE). Requests whose bytes came in the same moment are started first (LOOK_AROUND turns of the event
    loop): without that, a worker that read on the loop kept reading on it, one request at a time, and under 64
    clients some waited a second (p99 at first reads, 64 clients: 1,000 ms against 190-290 ms)."""
    if requests.in_flight > READ_ALONE:
        return False
    for _ in range(LOOK_AROUND):
        await asyncio.sleep(0)
    return requests.in_flight <= READ_ALONE


def load_entry(book, path: str, cache: EntryCache, gzip_too: bool) -> Entry:
    """Read an entry from its ZIM (in a worker thread, or alone on the event loop), with its gzip form if
    `gzip_too`, and remember it if it is small."""
    found = book.zim.lookup(path)
    entry = Entry(redirect=found.target_path) if isinstance(found, Redirect) else prepare(found.mimetype, found.data)
    if gzip_too:
        entry = with_gzip(entry)
    cache.put((book.uuid, path), entry)
    return entry
