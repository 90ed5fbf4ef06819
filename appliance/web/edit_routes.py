"""Teachers edit and delete the lessons and quizzes they made (administrators any): forms that work without
JavaScript, and a confirmation page before anything is deleted.

Must not import cli. Handlers parse, call services/lesson_editing (which checks ownership), and render.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import lesson_edits, lesson_views, quiz_drafts, quiz_pictures
from appliance.services.learning.quiz_marking import KINDS
from appliance.services.people.access import STAFF
from appliance.web.forms import form_int, form_page, posted_form, posted_upload, refused
from appliance.web.people_routes import staff_viewer


def edit_lesson_page(request: Request, **refusal) -> Response:
    viewer = staff_viewer(request)
    found = lesson_views.edit_lesson(request.app.state.kit, viewer, request.path_params["lesson_id"])
    return form_page(request, "lesson_edit.html", account=viewer, **found, **refusal)


def _refused_lesson_edit(request: Request, form: FormData, error: TpkitError) -> Response:
    return edit_lesson_page(request, **refused(form, error))


@posted_form(page=_refused_lesson_edit)
def save_lesson(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    lesson_id = request.path_params["lesson_id"]
    lesson_edits.edit_lesson(
        request.app.state.kit,
        viewer,
        lesson_id,
        str(form.get("title", "")),
        str(form.get("instructions", "")),
        form.get("homework") == "1",
        str(form.get("due", "")),
        [form_int(v) for v in form.getlist("students")],
    )
    return RedirectResponse(f"/teach/lessons/{lesson_id}", status_code=303)


@posted_form
def remove_item(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    lesson_id = request.path_params["lesson_id"]
    lesson_edits.remove_item(request.app.state.kit, viewer, lesson_id, request.path_params["item_id"])
    return RedirectResponse(f"/teach/lessons/{lesson_id}/edit", status_code=303)


def confirm_delete_lesson(request: Request) -> Response:
    viewer = staff_viewer(request)
    klass, lesson = lesson_edits.owned_lesson(request.app.state.kit, viewer, request.path_params["lesson_id"])
    return form_page(
        request,
        "confirm_delete.html",
        account=viewer,
        klass=klass,
        what="lesson",
        title=lesson["title"],
        action=f"/teach/lessons/{lesson['id']}/delete",
        back=f"/teach/lessons/{lesson['id']}",
    )


@posted_form
def delete_lesson(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id = lesson_edits.delete_lesson(request.app.state.kit, viewer, request.path_params["lesson_id"])
    return RedirectResponse(f"/teach/{class_id}?notice=deleted", status_code=303)


def edit_quiz_page(request: Request, **refusal) -> Response:
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    quiz, klass = lesson_edits.owned_quiz(kit, viewer, request.path_params["quiz_id"])
    return _quiz_form(request, quiz, klass, lesson_edits.draft_of(kit, quiz), **refusal)


def _quiz_form(request: Request, quiz, klass, draft, status_code: int = 200, **refusal) -> Response:
    return form_page(
        request,
        "quiz_form.html",
        status_code=status_code,
        klass=klass,
        draft=draft,
        kinds=KINDS,
        quiz=quiz,
        started=lesson_edits.quiz_started(request.app.state.kit, quiz["id"]),
        **refusal,
    )


def _refused_quiz_edit(request: Request, form: FormData, error: TpkitError) -> Response:
    """A form the upload limit refused unread: the quiz as stored, the message at the top."""
    return edit_quiz_page(request, **refused(form, error))


@posted_upload(
    lambda request: quiz_pictures.post_limit_bytes(request.app.state.kit),
    *STAFF,
    max_files=quiz_drafts.MAX_QUESTIONS,
    page=_refused_quiz_edit,
)
def save_quiz(request: Request, form: FormData) -> Response:
    """As on the new-quiz form: "add"/"remove-N" come back with the form changed, "save" saves it."""
    viewer = staff_viewer(request)
    kit, quiz_id = request.app.state.kit, request.path_params["quiz_id"]
    quiz, klass = lesson_edits.owned_quiz(kit, viewer, quiz_id)
    draft, action = quiz_drafts.read(form), str(form.get("action", "save"))
    quiz_pictures.take(kit, viewer, klass["id"], draft, form)
    if draft.has_problems:
        return _quiz_form(request, quiz, klass, draft, 400)
    if action != "save":
        quiz_drafts.apply_button(draft, action)
        return _quiz_form(request, quiz, klass, draft)
    if not lesson_edits.edit_quiz(kit, viewer, quiz_id, draft):
        return _quiz_form(request, quiz, klass, draft, 400)
    return RedirectResponse(f"/teach/quizzes/{quiz_id}", status_code=303)


def confirm_delete_quiz(request: Request) -> Response:
    viewer = staff_viewer(request)
    quiz, klass = lesson_edits.owned_quiz(request.app.state.kit, viewer, request.path_params["quiz_id"])
    return form_page(
        request,
        "confirm_delete.html",
        account=viewer,
        klass=klass,
        what="quiz",
        title=quiz["title"],
        action=f"/teach/quizzes/{quiz['id']}/delete",
        back=f"/teach/quizzes/{quiz['id']}",
    )


@posted_form
def delete_quiz(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id = lesson_edits.delete_quiz(request.app.state.kit, viewer, request.path_params["quiz_id"])
    return RedirectResponse(f"/teach/{class_id}?notice=deleted", status_code=303)


routes = [
    Route("/teach/lessons/{lesson_id:int}/edit", edit_lesson_page, methods=["GET"]),
    Route("/teach/lessons/{lesson_id:int}/edit", save_lesson, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/items/{item_id:int}/remove", remove_item, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/delete", confirm_delete_lesson, methods=["GET"]),
    Route("/teach/lessons/{lesson_id:int}/delete", delete_lesson, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/edit", edit_quiz_page, methods=["GET"]),
    Route("/teach/quizzes/{quiz_id:int}/edit", save_quiz, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/delete", confirm_delete_quiz, methods=["GET"]),
    Route("/teach/quizzes/{quiz_id:int}/delete", delete_quiz, methods=["POST"]),
]
