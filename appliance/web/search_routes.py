"""/suggest (JSON, as kiwix-serve) and /search (HTML for people, OpenSearch RSS with format=xml).

Must not import cli. Book selection follows kiwix-serve: content=, else books.id=, else books.name=, else all.
"""

from __future__ import annotations

from urllib.parse import urlencode

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appliance.errors import BadRequestError, BookNotFoundError, TpkitError
from appliance.services.library import search as search_service
from appliance.web.content_routes import content_url
from appliance.web.pages import ENV, render

CLIENT_GONE = 499  # nginx's code for "client closed the request"; nobody reads it, the log does
NO_STORE = {"Cache-Control": "no-cache, no-store, must-revalidate"}


def _selected_names(request: Request) -> list[str]:
    params = request.query_params
    if params.get("content"):
        return [params["content"]]
    library = request.app.state.kit.library
    ids = params.getlist("books.id")
    if ids:
        return [library.by_uuid(uuid).name for uuid in ids]
    return params.getlist("books.name")


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


def suggest(request: Request) -> Response:
    """kiwix-serve's JSON items (value, label, kind, path) plus `book`; all books when none is named."""
    try:
        books = search_service.select_books(request.app.state.kit.library, _selected_names(request))
    except BadRequestError as exc:  # kiwix-serve answers an unknown book with 404 here, 400 on /search
        raise BookNotFoundError(exc.message, fix=exc.fix) from exc
    term = request.query_params.get("term", "")
    count = _int(request, "count", search_service.DEFAULT_SUGGESTIONS) or search_service.DEFAULT_SUGGESTIONS
    found = search_service.suggest(books, term, count, max(_int(request, "start", 0), 0))
    items = [
        {
            "value": _escape(s.title),
            "label": _escape(_label_html(s.label)),
            "kind": "path",
            "path": s.path,
            "book": s.book.name,
            "book_title": s.book.title,
        }
        for s in found
    ]
    if len(books) == 1 and books[0].zim.has_fulltext_index:
        items.append({"value": _escape(term + " "), "label": _escape(f"containing '{term}'..."), "kind": "pattern"})
    return JSONResponse(items, headers={**NO_STORE, "Content-Type": "application/json; charset=utf-8"})


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
        return Response(
            body, status_code=exc.status, headers={**NO_STORE, "Content-Type": "application/xml; charset=utf-8"}
        )


def _search(request: Request) -> Response:
    library = request.app.state.kit.library
    names = _selected_names(request)
    books = search_service.select_books(library, names)
    start = max(_int(request, "start", 0), 0)
    as_xml = request.query_params.get("format") == "xml"
    # Kiwix clients (format=xml) get kiwix-serve's default page; people on phones get the kit's shorter one.
    default = search_service.DEFAULT_PAGE_LENGTH if as_xml else request.app.state.kit.settings.search_page_length
    length = search_service.clamp_page_length(_int(request, "pageLength", 0), default)
    page = search_service.search(books, request.query_params.get("pattern", ""), start, length)
    if as_xml:
        body = ENV.get_template("search.xml").render(
            page=page, content_url=content_url, self_url=_page_url(request, names, page.pattern, start, length, "xml")
        )
        return Response(body, headers={**NO_STORE, "Content-Type": "application/rss+xml; charset=utf-8"})
    previous_url = _page_url(request, names, page.pattern, max(start - length, 0), length) if start > 0 else None
    next_url = _page_url(request, names, page.pattern, start + length, length) if start + length < page.total else None
    return render(
        request,
        "search.html",
        headers=NO_STORE,
        page=page,
        pattern=page.pattern,
        selected_books=names,
        content_url=content_url,
        previous_url=previous_url,
        next_url=next_url,
    )


routes = [Route("/suggest", suggest), Route("/search", search)]
