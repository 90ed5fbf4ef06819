"""Teachers grading hand-ins: one hand-in per page with its thumbnails, the grade form (level, score, comment, the
common comments as buttons), "save and next"; the teacher's bank of common comments; photos' thumbnails.

Must not import cli. Each handler parses, calls services/learning/grading (which checks who may), renders.
"""

from __future__ import annotations

import re

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import comment_bank, grading, rubrics
from appliance.web import caching, i18n
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.people_routes import staff_viewer
from appliance.web.session import current_account
from appliance.webcore.i18n import choose_language

# A person's photo and its thumbnail never change under their URL (file ids are not reused), so the browser keeps
# them: grading the next hand-in loads only that child's thumbnails. A day, then a 304 (docs/security.md).
PHOTO_MAX_AGE_S = 86_400
PHOTO_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
NOTICES = ("saved", "kept")
BACK_PATTERN = re.compile(r"/teach/handins/\d+")  # where the comment bank page may send the teacher back to


def _defaults(request: Request) -> list[str]:
    lang = choose_language(request, request.app.state.kit.settings.default_language)
    t = i18n.translator(lang)
    return [t(key) for key in comment_bank.DEFAULT_KEYS]


def handin_page(request: Request, notice: str | None = None, **refusal) -> Response:
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    found = grading.handin_page(kit, viewer, request.path_params["handin_id"])
    notice = notice or request.query_params.get("notice")
    return form_page(
        request,
        "handin_grade.html",
        account=viewer,
        comments=comment_bank.comments(kit, viewer, _defaults(request)),
        notice=notice if notice in NOTICES else None,
        **found,
        **refusal,
    )


def _refused_grade(request: Request, form: FormData, error: TpkitError) -> Response:
    """The hand-in's page again: level, score, maximum and comment as typed, the message beside its field."""
    return handin_page(request, **refused(form, error))


def _typed(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str) and key != "csrf"}


@posted_form(page=_refused_grade)
def grade(request: Request, form: FormData) -> Response:
    """Save the grade (then the same hand-in, or with `next=1` the next one to grade); or, for a common comment's
    button (`comment_add`) or "keep this comment" (`comment_keep`), the form again as typed, nothing saved."""
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    handin_id = request.path_params["handin_id"]
    typed = _typed(form)
    if "comment_add" in form:
        typed["comment"] = comment_bank.appended(typed.get("comment", ""), str(form["comment_add"]))
        return handin_page(request, typed=typed, field="")
    if "comment_keep" in form:
        comment_bank.add(kit, viewer, str(form.get("comment", "")))
        return handin_page(request, notice="kept", typed=typed, field="")
    grading.grade(
        kit,
        viewer,
        handin_id,
        str(form.get("action", "grade")),
        str(form.get("score", "")),
        str(form.get("out_of", "")),
        str(form.get("level", "")),
        str(form.get("comment", "")),
        [str(form.get(f"rubric_{n}", "")) for n in range(rubrics.CRITERIA_MAX)],
    )
    if form.get("next") != "1":
        return RedirectResponse(f"/teach/handins/{handin_id}?notice=saved", status_code=303)
    lesson_id, following = grading.next_to_grade(kit, viewer, handin_id)
    if following is None:
        return RedirectResponse(f"/teach/lessons/{lesson_id}?notice=all_graded#handins", status_code=303)
    return RedirectResponse(f"/teach/handins/{following}", status_code=303)


def _back(value: str) -> str:
    return value if BACK_PATTERN.fullmatch(value) else ""


def bank_page(request: Request, **refusal) -> Response:
    viewer = staff_viewer(request)
    found = comment_bank.comments(request.app.state.kit, viewer, _defaults(request))
    back = _back(request.query_params.get("back", ""))
    return form_page(request, "comment_bank.html", account=viewer, comments=found, back=back, **refusal)


def _refused_bank(request: Request, form: FormData, error: TpkitError) -> Response:
    return bank_page(request, **refused(form, error))


@posted_form(page=_refused_bank)
def change_bank(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    if form.get("action") == "remove":
        comment_bank.remove(kit, viewer, form_int(form.get("comment", "")))
    else:
        comment_bank.add(kit, viewer, str(form.get("text", "")))
    back = _back(str(form.get("back", "")))
    return RedirectResponse(f"/teach/comments?back={back}" if back else "/teach/comments", status_code=303)


def thumbnail(request: Request) -> Response:
    kit = request.app.state.kit
    media_type, path, key = grading.thumbnail_file(kit, current_account(request), request.path_params["file_id"])
    return caching.file_revalidated(
        request, path, media_type, key, caching.private_file(PHOTO_MAX_AGE_S), PHOTO_HEADERS
    )


routes = [
    Route("/teach/handins/{handin_id:int}", handin_page),
    Route("/teach/handins/{handin_id:int}/grade", grade, methods=["POST"]),
    Route("/teach/comments", bank_page),
    Route("/teach/comments", change_bank, methods=["POST"]),
    Route("/files/handin/{file_id:int}/thumb", thumbnail),
]
