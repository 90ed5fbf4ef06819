"""Lessons shared through the county (issue 17 §4): the teacher's 分享到县里 page (what goes out, the licence), and
复制到我的班级 from a unit's page (a shared lesson a county book carries, copied into one of the teacher's classes).

Must not import cli. Handlers parse, call services/learning/sharing or shared_copies (which check who may), render.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import shared_copies, sharing
from appliance.web import i18n
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.people_routes import staff_viewer
from appliance.web.session import current_account
from appliance.web.unit_routes import units_page
from appliance.webcore.i18n import N_


def share_page(request: Request, **refusal) -> Response:
    viewer = staff_viewer(request)
    found = sharing.preview(request.app.state.kit, viewer, request.path_params["lesson_id"])
    return form_page(request, "share.html", account=viewer, **found, **refusal)


def _refused_share(request: Request, form: FormData, error: TpkitError) -> Response:
    return share_page(request, **refused(form, error))


@posted_form(page=_refused_share)
def share(request: Request, form: FormData) -> Response:
    """Queue the lesson for the county with the chosen licence, then back to the lesson, saying so."""
    lesson_id = request.path_params["lesson_id"]
    sharing.share(request.app.state.kit, staff_viewer(request), lesson_id, str(form.get("licence", "")))
    return RedirectResponse(f"/teach/lessons/{lesson_id}?notice=shared#share", status_code=303)


def _words(lang: str) -> shared_copies.Words:
    t = i18n.translator(lang)
    return shared_copies.Words(
        source=lambda author, school, licence: t(N_("shared.source"), author=author, school=school, licence=licence),
        book_missing=t(N_("shared.book_missing")),
    )


def _refused_copy(request: Request, form: FormData, error: TpkitError) -> Response:
    return units_page(request, **refused(form, error))


@posted_form(page=_refused_copy)
def copy_shared(request: Request, form: FormData) -> Response:
    """Copy a unit's shared lesson into the chosen class: a draft lesson there, opened at once."""
    kit = request.app.state.kit
    new_id = shared_copies.copy_shared(
        kit,
        current_account(request),
        str(form.get("book", "")),
        str(form.get("share_id", "")),
        form_int(form.get("class", ""), fix="Pick a class from the list."),
        _words(kit.settings.default_language),
    )
    return RedirectResponse(f"/teach/lessons/{new_id}?notice=copied", status_code=303)


routes = [
    Route("/teach/lessons/{lesson_id:int}/share", share_page, methods=["GET"]),
    Route("/teach/lessons/{lesson_id:int}/share", share, methods=["POST"]),
    Route("/teach/shared/copy", copy_shared, methods=["POST"]),
]
