"""The students' home page: every book as a card, grouped by language, filterable without JavaScript.

Must not import cli.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.content.languages import language_name
from appliance.services.library import catalog
from appliance.web.content_routes import content_url
from appliance.web.pages import render


def _card(book) -> dict:
    return {
        "name": book.name,
        "uuid": book.uuid,
        "title": book.title,
        "description": book.description,
        "category": book.category,
        "language_label": ", ".join(language_name(c) for c in book.languages) or "—",
        "article_count": book.zim.article_count,
        "size_bytes": book.zim.size_bytes,
    }


def home(request: Request) -> Response:
    books = request.app.state.kit.library.books()
    language = request.query_params.get("language", "")
    category = request.query_params.get("category", "")
    shown = catalog.select(books, {"lang": language, "category": category}).books
    shown.sort(key=lambda b: (b.title.casefold(), b.name))
    groups: dict[str, list] = {}
    for book in shown:
        groups.setdefault(language_name(book.language) if book.language else "—", []).append(_card(book))
    languages = [(code, language_name(code)) for code, _ in catalog.languages(books)]
    return render(
        request,
        "home.html",
        headers={"Cache-Control": "no-cache"},
        groups=sorted(groups.items()),
        languages=languages,
        categories=catalog.categories(books),
        language=language,
        category=category,
    )


def legacy_book_url(request: Request) -> Response:
    """libkiwix 11 served books at /<book>/<path>; keep those bookmarks working with a redirect."""
    book = request.path_params["book"]
    request.app.state.kit.library.book(book)
    return RedirectResponse(content_url(book, request.path_params["path"]), status_code=302)


routes = [Route("/", home)]
legacy_routes = [Route("/{book}/{path:path}", legacy_book_url)]
