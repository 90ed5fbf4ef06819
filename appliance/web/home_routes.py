"""The students' home page: every book as a card, grouped by language, filterable without JavaScript.

Must not import cli.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Route

from appliance.content.languages import same_as
from appliance.services.library import catalog
from appliance.web import caching
from appliance.web.pages import render
from appliance.webcore.i18n import choose_language


def _card(book) -> dict:
    return {
        "name": book.name,
        "uuid": book.uuid,
        "title": book.title,
        "description": book.description,
        "category": book.category,
        "has_illustration": book.has_illustration,
        "languages": list(dict.fromkeys(same_as(code) for code in book.languages)),  # named by the page
        "article_count": book.zim.article_count,
        "size_bytes": book.zim.size_bytes,
    }


def home(request: Request) -> Response:
    books = request.app.state.kit.library.books()
    language = request.query_params.get("language", "")
    category = request.query_params.get("category", "")
    reader = choose_language(request, request.app.state.kit.settings.default_language)
    shown = catalog.on_shelf(books, language, category)
    return render(
        request,
        "home.html",
        headers={"Cache-Control": "no-cache"},
        groups=[(code, [_card(book) for book in group]) for code, group in catalog.shelves(shown, reader)],
        languages=catalog.shelf_languages(books),
        categories=catalog.categories(books),
        language=same_as(language) if language else "",
        category=category,
    )


# kiwix-serve's endpoint names: an unknown URL under them is a 404, never a redirect into a book.
KIWIX_ENDPOINTS = frozenset({"catalog", "catch", "content", "random", "raw", "search", "skin", "suggest", "viewer"})


def _slash_toggled(request: Request) -> str | None:
    """The path with its trailing slash added or dropped, when a route of the kit's own answers it (what Starlette's
    redirect_slashes did before this catch-all route existed)."""
    path = request.url.path
    other = path[:-1] if path.endswith("/") else path + "/"
    for route in request.app.router.routes:
        if getattr(route, "endpoint", None) is not_an_endpoint:
            continue
        match, _ = route.matches({**request.scope, "path": other})
        if match == Match.FULL:
            return other
    return None


def not_an_endpoint(request: Request) -> Response:
    """kiwix-serve redirects any URL that names none of its endpoints to /content/<same path> (so libkiwix 11's
    /<book>/<path> bookmarks keep working), query kept and percent-escapes as sent (/100%25_guarantee)."""
    path = request.scope["path"]  # decoded (request.url.path would show a backslash as %5C)
    first = path.strip("/").split("/")[0]
    # //host and /\host look like another site to some clients: never echoed into a Location (issue 14).
    if first in KIWIX_ENDPOINTS or request.method not in ("GET", "HEAD") or path.startswith("//") or "\\" in path:
        raise HTTPException(404)
    own = {str(getattr(r, "path", "")).strip("/").split("/")[0] for r in request.app.router.routes}
    if first in own:
        toggled = _slash_toggled(request)
        if toggled is not None:
            return RedirectResponse(toggled + (f"?{request.url.query}" if request.url.query else ""), 307)
        raise HTTPException(404)
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return caching.redirect("/content" + raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else ""))


routes = [Route("/", home)]
# Every method, so an unknown URL is a 404 whatever the method (a GET-only route would make it a 405).
legacy_routes = [Route("/{rest:path}", not_an_endpoint, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])]
