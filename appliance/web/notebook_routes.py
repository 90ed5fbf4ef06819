"""A student's bookmarks and notes: an article's page on My space (/me/article), and the plain form posts that
bookmark an article and save a note (they work without JavaScript and come back to the page they were sent from).

Must not import cli. Handlers parse, call services/notebook (which keeps each student to their own rows), redirect.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.services.learning import notebook
from appliance.web.forms import csrf_token, form_int, posted_form, remember_csrf
from appliance.web.pages import render
from appliance.web.session import PRIVATE, current_account


def article_url(book: str, path: str, notice: str = "") -> str:
    query = {"book": book, "path": path, **({"notice": notice} if notice else {})}
    return f"/me/article?{urlencode(query)}"


def article_page(request: Request) -> Response:
    viewer = current_account(request)
    if viewer is None:
        return RedirectResponse("/learn", status_code=303)
    found = notebook.article_page(
        request.app.state.kit, viewer, request.query_params.get("book", ""), request.query_params.get("path", "")
    )
    response = render(
        request,
        "me_article.html",
        headers=PRIVATE,
        csrf=csrf_token(request),
        notice=request.query_params.get("notice"),
        max_chars=notebook.NOTE_MAX_CHARS,
        **found,
    )
    return remember_csrf(request, response)


@posted_form
def bookmark(request: Request, form: FormData) -> Response:
    keep = str(form.get("action", "add")) != "remove"
    found = notebook.bookmark(
        request.app.state.kit, current_account(request), str(form.get("book", "")), str(form.get("path", "")), keep
    )
    notice = "bookmarked" if keep else "unbookmarked"
    back = _back(form)
    return RedirectResponse(
        f"{back}?notice={notice}" if back else article_url(found.book, found.path, notice), status_code=303
    )


@posted_form
def note(request: Request, form: FormData) -> Response:
    viewer = current_account(request)
    kit, text = request.app.state.kit, str(form.get("body", ""))
    if form.get("lesson"):
        lesson_id = form_int(form.get("lesson"))
        notebook.note_lesson(kit, viewer, lesson_id, text)
        return RedirectResponse(f"/me/lessons/{lesson_id}?notice=note_saved#note", status_code=303)
    found = notebook.note_article(kit, viewer, str(form.get("book", "")), str(form.get("path", "")), text)
    return RedirectResponse(article_url(found.book, found.path, "note_saved"), status_code=303)


def _back(form: FormData) -> str:
    """Where to go after a bookmark: the lesson page or the lesson's article the form came from, else '' (never
    another site)."""
    back = str(form.get("back", ""))
    return back if re.fullmatch(r"/me/lessons/[0-9]+(/items/[0-9]+)?", back) else ""


routes = [
    Route("/me/article", article_page),
    Route("/me/bookmarks", bookmark, methods=["POST"]),
    Route("/me/notes", note, methods=["POST"]),
]
