"""The OPDS catalogs of kiwix-serve: v2 (root, entries, partial entries, one entry, illustrations, categories,
languages, OpenSearch description) and the older v1 (/catalog/root.xml, /catalog/search) that older Kiwix clients
and OPDS readers use. Must not import cli.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from appliance.content.languages import language_name
from appliance.errors import BookNotFoundError, EntryNotFoundError
from appliance.services.library import catalog
from appliance.web import caching
from appliance.web.answer_cache import Answer, kept_or_made, make_answer
from appliance.web.pages import ENV

# The Content-Types kiwix-serve 3.7 sends; the charset spares readers a guess at non-ASCII titles.
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition;charset=utf-8"
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation;charset=utf-8"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog;charset=utf-8"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# What a feed handler returns: its template, Content-Type and the template's context (`now` is added).
FeedPage = tuple[str, str, dict[str, Any]]


def _xml(template: str, content_type: str, **context) -> FeedPage:
    return template, content_type, context


def _render(request: Request, handler: Callable[[Request], FeedPage], generation: int, now: str) -> Answer:
    """A feed rendered (in a worker thread), validated by the library's state and the URL (its <updated> clock is
    not part of its ETag)."""
    template, content_type, context = handler(request)
    body = ENV.get_template(template).render(now=now, kiwix_tags=catalog.kiwix_tags, **context)
    key = f"{catalog.fingerprint(_books(request))} {request.url.path}?{request.url.query}"
    return make_answer(generation, now, content_type, body.encode(), caching.etag_value(request, key.encode()))


def _feed(handler: Callable[[Request], FeedPage]) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering from the app's AnswerCache on the event loop; a miss (the first request of a second, or
    after the library changed) renders in a worker thread."""

    async def endpoint(request: Request) -> Response:
        now = _now()
        return await kept_or_made(request, lambda req, generation: _render(req, handler, generation, now), now)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _books(request: Request):
    return request.app.state.kit.library.books()


def root(request: Request) -> FeedPage:
    items = [
        {
            "title": "All entries",
            "href": "/catalog/v2/entries",
            "kind": "acquisition",
            "content": "All entries from this catalog.",
        },
        {
            "title": "All entries (partial)",
            "href": "/catalog/v2/partial_entries",
            "kind": "acquisition",
            "content": "All entries from this catalog in partial format.",
        },
        {
            "title": "List of categories",
            "href": "/catalog/v2/categories",
            "kind": "navigation",
            "content": "List of all categories in this catalog.",
        },
        {
            "title": "List of languages",
            "href": "/catalog/v2/languages",
            "kind": "navigation",
            "content": "List of all languages in this catalog.",
        },
    ]
    for item in items:
        item["id"] = catalog.feed_id(item["href"])
    return _xml(
        "opds_navigation.xml",
        NAVIGATION,
        feed_id=catalog.feed_id("root"),
        self_href="/catalog/v2/root.xml",
        title="OPDS Catalog Root",
        items=items,
        search_link=True,
    )


# What kiwix-serve 3.7 leaves unescaped when it writes a query back into a feed (its urlEncode; a space is %20).
QUERY_SAFE = "-_.~!*'()/"


def echoed_query(request: Request) -> str:
    """The request's query as kiwix-serve 3.7 writes it into a feed's title and self link: each name and value
    decoded, then percent-encoded again, in the order sent (`tag=_pictures:no` is `tag=_pictures%3Ano`)."""
    return "&".join(
        f"{quote(name, safe=QUERY_SAFE)}={quote(value, safe=QUERY_SAFE)}"
        for name, value in request.query_params.multi_items()
    )


def _entries(request: Request, partial: bool) -> FeedPage:
    query = echoed_query(request)
    path = request.url.path
    selection = catalog.select(_books(request), _paged(request))
    return _xml(
        "opds_entries.xml",
        ACQUISITION,
        feed_id=catalog.feed_id(f"{path}?{query}"),
        self_href=f"{path}?{query}" if query else path,
        query=query,
        selection=selection,
        partial=partial,
    )


# libkiwix's search_catalog: without `count`, a catalog query returns the first 10 books (totalResults says how many
# match); count=-1 asks for all. The kit's own pages call catalog.select directly and are not paged.
DEFAULT_FEED_COUNT = "10"


def _paged(request: Request) -> dict[str, str]:
    return {"count": DEFAULT_FEED_COUNT, **request.query_params}


def entries(request: Request) -> FeedPage:
    return _entries(request, partial=False)


def partial_entries(request: Request) -> FeedPage:
    return _entries(request, partial=True)


def entry(request: Request) -> FeedPage:
    book = request.app.state.kit.library.by_uuid(request.path_params["uuid"])
    return _xml("opds_one_entry.xml", ENTRY, book=book)


def _book_by_uuid_or_name(request: Request, key: str):
    library = request.app.state.kit.library
    try:
        return library.by_uuid(key)
    except BookNotFoundError:
        if not request.url.path.endswith("/"):
            raise  # as kiwix 3.7: /catalog/v2/illustration/<name>?size=48 is a 404
        return library.book(key)  # libkiwix 11 linked /catalog/v2/illustration/<name>/?size=48


def illustration(request: Request) -> Response:
    book = _book_by_uuid_or_name(request, request.path_params["key"])
    given = request.query_params.get("size", "")  # required, as kiwix-serve requires it
    size = int(given) if given.isascii() and given.isdigit() and len(given) <= 4 else 0  # 1e30, 10^30: none
    data = book.zim.illustration(size)
    if data is None:
        raise EntryNotFoundError(
            f"The book {book.name!r} has no {size}×{size} illustration.",
            fix="Ask for ?size=48, the size every Kiwix book should have.",
        )
    return caching.revalidated(
        request, Response(data, headers={"Content-Type": "image/png"}), key=f"{book.uuid}/{size}"
    )


def categories(request: Request) -> FeedPage:
    items = [
        {
            "title": name,
            "href": f"/catalog/v2/entries?category={name}",
            "kind": "acquisition",
            "id": catalog.feed_id(f"category:{name}"),
            "content": f"All entries with category of '{name}'.",
        }
        for name in catalog.categories(_books(request))
    ]
    return _xml(
        "opds_navigation.xml",
        NAVIGATION,
        feed_id=catalog.feed_id("categories"),
        self_href="/catalog/v2/categories",
        title="List of categories",
        items=items,
    )


def languages(request: Request) -> FeedPage:
    items = [
        {
            "title": language_name(code),
            "language": code,
            "count": count,
            "kind": "acquisition",
            "href": f"/catalog/v2/entries?lang={code}",
            "id": catalog.feed_id(f"lang:{code}"),
        }
        for code, count in catalog.languages(_books(request))
    ]
    return _xml(
        "opds_navigation.xml",
        NAVIGATION,
        feed_id=catalog.feed_id("languages"),
        self_href="/catalog/v2/languages",
        title="List of languages",
        items=items,
    )


def search_description(request: Request) -> FeedPage:
    return _xml("searchdescription.xml", "application/opensearchdescription+xml")


def _v1_feed(request: Request, filtered: bool) -> FeedPage:
    """/catalog/search pages and filters as the v2 entries do; /catalog/root.xml lists every book, whatever is asked."""
    query = echoed_query(request)
    return _xml(
        "opds_v1.xml",
        ACQUISITION,
        feed_id=catalog.feed_id(f"v1:{request.url.path}?{query}"),
        filtered=filtered,
        query=query,
        selection=catalog.select(_books(request), _paged(request) if filtered else {}),
    )


def v1_root(request: Request) -> FeedPage:
    """OPDS v1 (libkiwix before 12): every book in one acquisition feed."""
    return _v1_feed(request, filtered=False)


def v1_search(request: Request) -> FeedPage:
    """OPDS v1 search: the v2 filters (q, lang, category, tag, notag, name, maxsize, count, start)."""
    return _v1_feed(request, filtered=bool(request.query_params))  # no query: kiwix 3.7 answers as root.xml


def v1_search_description(request: Request) -> FeedPage:
    return _xml("searchdescription_v1.xml", "application/opensearchdescription+xml")


routes = [
    Route("/catalog/root.xml", _feed(v1_root)),
    Route("/catalog/search", _feed(v1_search)),
    Route("/catalog/searchdescription.xml", _feed(v1_search_description)),
    Route("/catalog/v2/root.xml", _feed(root)),
    Route("/catalog/v2/entries", _feed(entries)),
    Route("/catalog/v2/partial_entries", _feed(partial_entries)),
    Route("/catalog/v2/entry/{uuid}", _feed(entry)),
    Route("/catalog/v2/illustration/{key}", illustration),
    Route("/catalog/v2/illustration/{key}/", illustration),
    Route("/catalog/v2/categories", _feed(categories)),
    Route("/catalog/v2/languages", _feed(languages)),
    Route("/catalog/v2/searchdescription.xml", _feed(search_description)),
]
