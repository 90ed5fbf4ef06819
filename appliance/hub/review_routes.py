"""The reviewers' pages (教研员, docs/hub.md "Shared lessons"): the lessons teachers shared, listed by unit and
state, a lesson's preview with its files, and the accept or return (with a comment) of the version shown.

Only an account with the reviewer role opens them (dashboard_routes.turned_away); sessions, CSRF and the first
password change as on the technicians' pages. No JavaScript. Must not import cli.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from itertools import groupby
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import BadRequestError, HubError
from appliance.hub import shares
from appliance.hub.dashboard_routes import PRIVATE, page_for, posted_by, render_private, signed_in, turned_away
from appliance.hub.pages import language
from appliance.hub.storage.shares import TOLD
from appliance.protocol import textbook_names
from appliance.typed_numbers import whole_number
from appliance.webcore.forms import checked_form

REVIEWER = "reviewer"
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")  # a kit's word only: no parameters, no CR/LF
SHELF = ("edition", "grade", "volume", "subject")  # a heading of the list; the unit is the next level


def _not_found(share_id: str) -> HubError:
    return HubError(
        f"No shared lesson {share_id!r} is on this hub.",
        code="lessons.not_found",
        status=404,
        cause="Its teacher shared a newer version (the older was replaced), or the address was typed by hand.",
        fix="Go back to the shared lessons list.",
    )


def _share_id(request: Request) -> str:
    share_id = request.path_params["share_id"]
    try:
        if str(uuid.UUID(share_id)) == share_id:
            return share_id
    except ValueError:
        pass
    raise _not_found(share_id)


def _state(request: Request) -> str:
    """The list's filter: one state, or "" for every state (by default: those waiting for a review)."""
    state = request.query_params.get("state", "submitted")
    return state if state in TOLD else ""


def _by_unit(rows: list[dict[str, Any]], lang: str) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
    """The rows under their textbook (edition, grade, volume, subject), then their unit, in textbook order; a place
    not given is "" (the template writes 未分单元)."""

    def order(row: dict[str, Any]) -> tuple:
        return tuple((row[key] is None, str(row[key] or "").zfill(3)) for key in (*SHELF, "unit", "lesson"))

    shelves = []
    for shelf, in_shelf in groupby(sorted(rows, key=order), key=lambda row: tuple(row[k] for k in SHELF)):
        units = [
            (textbook_names.name("unit", unit, lang) if unit is not None else "", list(in_unit))
            for unit, in_unit in groupby(in_shelf, key=lambda row: row["unit"])
        ]
        shelves.append((textbook_names.place(dict(zip(SHELF, shelf)), lang, SHELF), units))
    return shelves


def lessons_page(request: Request) -> Response:
    state = _state(request)
    rows = shares.listed(request.app.state.db, state)
    lang = language(request)
    return page_for(
        request, "lessons.html", role=REVIEWER, shelves=_by_unit(rows, lang), state=state, states=TOLD, count=len(rows)
    )


def _place(share: dict[str, Any], lang: str) -> str:
    return textbook_names.place(share, lang, (*SHELF, "unit", "lesson"))


def lesson_page(request: Request) -> Response:
    share = shares.one(request.app.state.db, _share_id(request))
    if share is None:
        raise _not_found(request.path_params["share_id"])
    return page_for(request, "lesson.html", role=REVIEWER, share=share, place=_place(share, language(request)))


def lesson_file(request: Request) -> Response:
    away = turned_away(signed_in(request), REVIEWER)
    if away is not None:
        return away
    share_id, number = _share_id(request), whole_number(request.path_params["file"])
    share = shares.one(request.app.state.db, share_id)
    found = None if share is None or number is None else shares.file_data(share, number, request.app.state.db)
    if found is None:
        raise _not_found(share_id)
    name = urllib.parse.quote(found["name"])
    return Response(
        bytes(found["data"]),
        media_type=found["media_type"] if MEDIA_TYPE.fullmatch(found["media_type"]) else "application/octet-stream",
        headers={
            **PRIVATE,
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def review(request: Request) -> Response:
    """Accept or return the version the reviewer saw; a refused form (no comment, reviewed meanwhile) comes back with
    what was typed and the reason beside it."""
    form = await checked_form(request)
    account = await run_in_threadpool(signed_in, request)
    away = posted_by(account, REVIEWER)
    if away is not None:
        return away
    share_id, state = _share_id(request), request.app.state
    version = whole_number(str(form.get("version", ""))) or 0
    accept, comment = form.get("decision") == "accept", str(form.get("comment", ""))[:2000]
    try:
        await run_in_threadpool(
            shares.review, state.db, share_id, version, accept, comment, account["username"], state.clock()
        )
    except (BadRequestError, HubError) as exc:
        share = await run_in_threadpool(shares.one, state.db, share_id)
        if share is None:
            raise _not_found(share_id) from exc
        place = _place(share, language(request))
        return render_private(
            request, "lesson.html", account, status_code=exc.status, share=share, place=place, error=exc, typed=comment
        )
    return RedirectResponse("/lessons", status_code=303)


routes = [
    Route("/lessons", lessons_page),
    Route("/lessons/{share_id}", lesson_page),
    Route("/lessons/{share_id}/files/{file}", lesson_file),
    Route("/lessons/{share_id}/review", review, methods=["POST"]),
]
