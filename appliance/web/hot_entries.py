"""The short way for a book entry a worker already holds (issue 15: the hot article a class opens at once).

Must not import cli. A `/content/<book>/<path>` request that the entry cache answers as it is (GET, no Range, no
session cookie, the gzip form there when the client wants it) is answered here, before Starlette's routing and the
middlewares below it: the same bytes and the same headers as the route, its ETag/304 included. It sits inside the
middlewares that add a book answer's own headers (Kiwix clients' `Access-Control-Allow-Origin`, the books' sandbox:
web/app.py), so they add them to this answer too. Anything else — a miss, a redirect, a range, a signed-in reader
whose opening is recorded — goes the long way, unchanged.
`tests/web/test_hot_entries.py` compares the two ways' answers header by header.
"""

from __future__ import annotations

from starlette.requests import Request

from appliance.errors import BookNotFoundError
from appliance.web import caching
from appliance.web.byte_serving import EntryCache, entry_response, needs_gzip
from appliance.web.session import SESSION_COOKIE

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
        if entry is None or entry.redirect is not None:
            return None
        request = Request(scope)
        if needs_gzip(request, entry):
            return None
        return entry_response(request, entry, book.uuid, caching.zim_content(state.kit.settings.cache_max_age_s))
