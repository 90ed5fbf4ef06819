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
# flight, the read goes to a thread: libzim lets go of the GIL while it decompresses, and cached answers go on.
READ_ALONE = 1

PREFIX = "/content/"
_SESSION = SESSION_COOKIE.encode()


class ServeHotEntries:
    """ASGI middleware: answer cached book entries without the rest of the stack (see the module's docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            response = self._answer(scope)
            if response is not None:
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
        request = Request(scope)
        if entry is None and state.requests.in_flight <= READ_ALONE:
            try:
                entry = load_entry(book, path, cache, gzip_wanted(request))
            except TpkitError:
                return None  # no such entry, or a damaged one: the long way says so, with its fix
        if entry is None or entry.redirect is not None or needs_gzip(request, entry):
            return None
        return entry_response(request, entry, book.uuid, caching.zim_content(state.kit.settings.cache_max_age_s))


def load_entry(book, path: str, cache: EntryCache, gzip_too: bool) -> Entry:
    """Read an entry from its ZIM (in a worker thread, or alone on the event loop), with its gzip form if
    `gzip_too`, and remember it if it is small."""
    found = book.zim.lookup(path)
    entry = Entry(redirect=found.target_path) if isinstance(found, Redirect) else prepare(found.mimetype, found.data)
    if gzip_too:
        entry = with_gzip(entry)
    cache.put((book.uuid, path), entry)
    return entry
