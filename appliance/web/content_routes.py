"""Kiwix-compatible book URLs: /content/<book>/<path>, /raw/<book>/content|meta/<name>, /random.

Must not import cli. libzim reads block, so they run in threads: plain `def` routes, or run_in_threadpool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from appliance.errors import BookNotFoundError, EntryNotFoundError
from appliance.services.learning import records
from appliance.services.people import auth
from appliance.services.people.access import STAFF
from appliance.web import book_origin, caching
from appliance.web.byte_serving import (
    Entry,
    EntryCache,
    entry_response,
    gzip_wanted,
    needs_gzip,
    with_gzip,
)
from appliance.web.hot_entries import load_entry, reading_alone
from appliance.web.session import SESSION_COOKIE, current_account

if TYPE_CHECKING:
    from appliance.services.kit import Kit


def _library(request: Request):
    return request.app.state.kit.library


def _off_shelf_book(request: Request, name: str, missing: BookNotFoundError):
    """A book taken off the shelf, for a signed-in teacher or administrator only (they see what they withdrew; a
    pupil, a stranger and a Kiwix app do not): `missing` is raised for anyone else, as if the book were gone."""
    viewer = current_account(request)
    if viewer is None or viewer["role"] not in STAFF:
        raise missing
    return _library(request).book(name, off_shelf_too=True)


async def _book(request: Request, name: str):
    """(the book, whether it is off the shelf): a served book at once; an off-shelf one after the viewer's check."""
    try:
        return _library(request).book(name), False
    except BookNotFoundError as missing:
        if not any(b.name == name for b in _library(request).off_shelf()):
            raise
        return await run_in_threadpool(_off_shelf_book, request, name, missing), True


# The characters kiwix-serve 3.7 leaves unescaped in entry paths (its urlEncode: letters, digits and `-_.!~*'()`,
# and `/` between path segments): A/Genius_+_Soul_=_Jazz is /content/<book>/A/Genius_%2B_Soul_%3D_Jazz in a Location
# and in search results' links (3.3 left `+=:&,;$@` as they were).
PATH_SAFE = "/-_.~!*'()"
NAME_SAFE = "-_.~()!*'"


def content_url(book: str, path: str) -> str:
    return f"/content/{quote(book, safe=NAME_SAFE)}/{quote(path, safe=PATH_SAFE)}"


def _compress(entry: Entry, key: tuple[str, str], cache: EntryCache) -> Entry:
    """A cached entry's gzip form, made (in a worker thread) the first time a client that accepts gzip asks."""
    entry = with_gzip(entry)
    cache.put(key, entry)
    return entry


async def content(request: Request) -> Response:
    """An entry's bytes, or a 302 to the end of the chain when the entry is a ZIM redirect.

    Also serves /raw/<book>/content/<path>: like kiwix-serve, a redirect entry there points to
    the /content/ URL of its final target. Async on purpose: a cached entry is answered on the
    event loop; a miss reads libzim in a worker thread, or on the event loop when this worker
    answers nothing else (hot_entries.READ_ALONE)."""
    book_name, path = request.path_params["book"], request.path_params["path"]
    book, off_shelf = await _book(request, book_name)
    cache: EntryCache = request.app.state.entry_cache
    key = (book.uuid, path)
    entry = cache.get(key)
    if entry is None and await reading_alone(request.app.state.requests):
        entry = load_entry(book, path, cache, gzip_wanted(request))
    elif entry is None:
        entry = await run_in_threadpool(load_entry, book, path, cache, gzip_wanted(request))
    elif needs_gzip(request, entry):
        entry = await run_in_threadpool(_compress, entry, key, cache)
    if entry.redirect is not None:
        return caching.redirect(content_url(book_name, entry.redirect))
    max_age_s = request.app.state.kit.settings.cache_max_age_s
    response = entry_response(request, entry, book.uuid, caching.zim_content(max_age_s))
    if off_shelf:  # a teacher's look at a withdrawn book: never kept where the next reader of this browser finds it
        response.headers["Cache-Control"] = "private, no-store"
    token = request.cookies.get(SESSION_COOKIE)
    if token and entry.mimetype.startswith("text/html") and request.url.path.startswith("/content/"):
        response.background = BackgroundTask(
            run_in_threadpool, _record_opened, request.app.state.kit, token, book_name, path
        )
    return response


def _record_opened(kit: Kit, token: str, book_name: str, path: str) -> None:
    """A signed-in student opened an article: one learning record (none when they opened it within
    records.OPEN_WINDOW_S), made after the page was sent and written with others in a batch (records.record_open_later:
    one transaction each was most of what a class wrote to the SD card). Anonymous readers (no session cookie) never
    get here, so the hot path stays as it was for them."""
    account = auth.session_account(kit.accounts, token)
    if account is not None and account["role"] == "student":
        records.record_open_later(kit, account, "article", f"{book_name}/{path}", f"{book_name}: {path}")


async def main_page(request: Request) -> Response:
    book_name = request.path_params["book"]
    main = (await _book(request, book_name))[0].zim.main_path
    if main is None:
        raise EntryNotFoundError(
            f"The book {book_name!r} has no main page.", fix="Use the search box to find an article in this book."
        )
    return caching.redirect(content_url(book_name, main))


def raw_meta(request: Request) -> Response:
    book_name, name = request.path_params["book"], request.path_params["name"]
    found = _library(request).book(book_name).zim.metadata_item(name)
    if found is None:
        raise EntryNotFoundError(
            f"The book {book_name!r} has no metadata {name!r}.",
            fix="See /catalog/v2/entries for the metadata each book has.",
        )
    # Plain text or PNG whatever MIME type the item claims: a book could make it text/html (issue 14). A book's
    # metadata never changes under its uuid, so its ETag survives restarts, as kiwix's ZIM content ETags do.
    book = _library(request).book(book_name)
    response = Response(bytes(found.data), headers={"Content-Type": book_origin.meta_type(name, found.mimetype)})
    cache_control = caching.zim_content(request.app.state.kit.settings.cache_max_age_s)
    return caching.revalidated(
        request, response, key=f"{book.uuid}/meta/{name}", cache_control=cache_control, per_instance=False
    )


def random(request: Request) -> Response:
    book_name = request.query_params.get("content") or request.query_params.get("books.name")
    if not book_name:
        raise BookNotFoundError(
            "No such book: ",
            cause="/random was asked without ?content=<book name>.",
            fix="Add ?content=<book name> to the address.",
        )
    book = _library(request).book(book_name)
    return caching.redirect(content_url(book_name, book.zim.random_path()))


routes = [
    Route("/content/{book}", main_page),  # one hop to the main page, as kiwix 3.7
    Route("/content/{book}/", main_page),
    Route("/content/{book}/{path:path}", content),
    Route("/raw/{book}/content/{path:path}", content),
    Route("/raw/{book}/meta/{name}", raw_meta),
    Route("/random", random),
]
