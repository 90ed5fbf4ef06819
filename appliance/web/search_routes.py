"""/suggest (JSON, as kiwix-serve) and /search (HTML for people, OpenSearch RSS with format=xml).

Must not import cli. Book selection follows kiwix-serve: content=, else books.id=, else books.name=, else the books
the books.filter.* parameters select (catalog filters), else all.
"""

from __future__ import annotations

from urllib.parse import urlencode

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appliance.errors import BadRequestError, BookNotFoundError, TpkitError
from appliance.services.library import catalog, search as search_service
from appliance.web import caching
from appliance.web.answer_cache import Answer, kept_or_made, make_answer
from appliance.web.content_routes import content_url
from appliance.web.pages import ENV, render

CLIENT_GONE = 499  # nginx's code for "client closed the request"; nobody reads it, the log does
FILTER_PREFIX = "books.filter."


def _selected_names(request: Request) -> list[str]:
    """The names of the books a request selects; [] for all. BadRequestError (400, as kiwix-serve) for an unknown
    books.id, or filters that match no book."""
    params = request.query_params
    if params.get("content"):
        return [params["content"]]
    library = request.app.state.kit.library
    ids = params.getlist("books.id")
    if ids:
        try:
            return [library.by_uuid(uuid).name for uuid in ids]
        except BookNotFoundError as exc:
            raise BadRequestError(exc.message, fix=exc.fix, code="library.book_not_found") from exc
    if params.getlist("books.name"):
        return params.getlist("books.name")
    filters = {key.removeprefix(FILTER_PREFIX): value for key, value in params.items() if key.startswith(FILTER_PREFIX)}
    if not filters:
        return []
    selected = catalog.select(library.books(), {**filters, "start": "0", "count": "-1"}).books
    if not selected:
        raise BadRequestError(
            "No book matches selection criteria.",
            cause=f"No book has {', '.join(f'{k}={v}' for k, v in filters.items())}.",
            fix="See /catalog/v2/entries for the books and their names, languages and categories.",
            code="library.book_not_found",
        )
    return sorted(book.name for book in selected)


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


_KIWIX_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def _escape(text: str) -> str:
    """HTML-escape as kiwix-serve's suggestion template does (its clients unescape exactly these)."""
    return text.translate(_KIWIX_ESCAPES)


def _label_html(parts: list[tuple[str, bool]]) -> str:
    return "".join(f"<b>{text}</b>" if hit else text for text, hit in parts)


async def suggest(request: Request) -> Response:
    """kiwix-serve's JSON items (value, label, kind, path) plus `book`; all books when none is named. Kept per
    library generation and URL (web.answer_cache): a class typing the same words costs one libzim lookup."""
    return await kept_or_made(request, _suggestions)


def _suggestions(request: Request, generation: int) -> Answer:
    try:
        books = search_service.select_books(request.app.state.kit.library, _selected_names(request))
    except BadRequestError as exc:  # kiwix-serve answers an unknown book with 404 here, 400 on /search
        raise BookNotFoundError(exc.message, fix=exc.fix) from exc
    term = request.query_params.get("term", "")
    count = _int(request, "count", search_service.DEFAULT_SUGGESTIONS) or search_service.DEFAULT_SUGGESTIONS
    start = _int(request, "start", 0)
    # kiwix-serve reads start and count as unsigned: -2 is past every title (none), -1 is no limit.
    count = search_service.MAX_SUGGESTIONS if count < 0 else count
    found = search_service.suggest(books, term, count, start) if start >= 0 else []
    items = [
        {
            "value": _escape(s.title),
            "label": _escape(_label_html(s.label)),
            "kind": "path",
            "path": _escape(s.path),
            "book": s.book.name,
            "book_title": s.book.title,
        }
        for s in found
    ]
    if len(books) == 1 and books[0].zim.has_fulltext_index:
        items.append({"value": _escape(term + " "), "label": _escape(f"containing '{term}'..."), "kind": "pattern"})
    body = bytes(JSONResponse(items).body)  # JSONResponse's own rendering, as before
    return make_answer(generation, "", "application/json; charset=utf-8", body, caching.etag_value(request, body))


def _page_url(request: Request, names: list[str], pattern: str, start: int, length: int, fmt: str = "") -> str:
    query: list[tuple[str, str | int]] = [("pattern", pattern), *[("books.name", n) for n in names]]
    query += [("start", start), ("pageLength", length)] + ([("format", fmt)] if fmt else [])
    return "/search?" + urlencode(query)


async def search(request: Request) -> Response:
    """Full-text search, queued for a search slot; a reader who gave up meanwhile costs nothing.

    Each search reads a page of articles for its snippets (about 4 ms each on this machine, more on a
    Pi). Without the check, searches abandoned by impatient readers piled up and delayed the next page
    anyone asked for by seconds (a 5 s stall in bench/ after 64 clients had gone)."""
    slots: anyio.Semaphore = request.app.state.search_slots
    async with slots:
        if await request.is_disconnected():
            return Response(status_code=CLIENT_GONE)
        return await run_in_threadpool(_search_or_xml_error, request)


def _search_or_xml_error(request: Request) -> Response:
    """`format=xml` gives kiwix-serve's OpenSearch RSS, and its errors as XML too."""
    if request.query_params.get("format") != "xml":
        return _search(request)
    try:
        return _search(request)
    except TpkitError as exc:
        # kiwix-serve answers a format=xml request's errors in XML, so feed readers get no HTML page.
        body = ENV.get_template("search_error.xml").render(error=exc)
        headers = {"Cache-Control": caching.DYNAMIC, "Content-Type": "application/xml; charset=utf-8"}
        return Response(body, status_code=exc.status, headers=headers)


def _search(request: Request) -> Response:
    library = request.app.state.kit.library
    kept = request.app.state.search_pages.current(library.generation)  # before the books are read
    names = _selected_names(request)
    books = search_service.select_books(library, names)
    start = max(_int(request, "start", 0), 0)
    as_xml = request.query_params.get("format") == "xml"
    # Kiwix clients (format=xml) get kiwix-serve's default page; people on phones get the kit's shorter one.
    default = search_service.DEFAULT_PAGE_LENGTH if as_xml else request.app.state.kit.settings.search_page_length
    length = search_service.clamp_page_length(_int(request, "pageLength", 0), default)
    pattern = request.query_params.get("pattern", "")
    page = search_service.search(books, pattern, start, length, kept=kept)
    if as_xml:
        body = ENV.get_template("search.xml").render(
            page=page,
            content_url=content_url,
            self_url=_page_url(request, names, page.pattern, start, length, "xml"),
            language=request.query_params.get(FILTER_PREFIX + "lang", ""),
        )
        return caching.revalidated(
            request, Response(body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
        )
    previous_url = _page_url(request, names, page.pattern, max(start - length, 0), length) if start > 0 else None
    next_url = _page_url(request, names, page.pattern, start + length, length) if start + length < page.total else None
    html = render(
        request,
        "search.html",
        page=page,
        pattern=page.pattern,
        selected_books=names,
        content_url=content_url,
        previous_url=previous_url,
        next_url=next_url,
    )
    return caching.revalidated(request, html)


routes = [Route("/suggest", suggest), Route("/search", search)]
