"""Teachers copy a lesson or a quiz to another class they teach (issue 16): a page to choose the class, then the
copy's own page. Forms work without JavaScript.

Must not import cli. Handlers parse, call services/learning/copies (which checks who may), and render.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import copies, lessons, quizzes
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.people_routes import staff_viewer


def copy_lesson_page(request: Request, **refusal) -> Response:
    viewer, kit = staff_viewer(request), request.app.state.kit
    klass, lesson = lessons.staff_lesson(kit.people, kit.lessons, viewer, request.path_params["lesson_id"])
    return _copy_page(request, "lesson", klass, lesson["title"], f"/teach/lessons/{lesson['id']}", **refusal)


def copy_quiz_page(request: Request, **refusal) -> Response:
    viewer, kit = staff_viewer(request), request.app.state.kit
    quiz, klass = quizzes.staff_quiz(kit, viewer, request.path_params["quiz_id"])
    return _copy_page(request, "quiz", klass, quiz["title"], f"/teach/quizzes/{quiz['id']}", **refusal)


def _copy_page(request: Request, what: str, klass, title: str, back: str, **refusal) -> Response:
    viewer = staff_viewer(request)
    targets = copies.targets(request.app.state.kit, viewer)
    return form_page(
        request, "copy.html", account=viewer, what=what, klass=klass, title=title, back=back, targets=targets, **refusal
    )


def _refused_lesson_copy(request: Request, form: FormData, error: TpkitError) -> Response:
    return copy_lesson_page(request, **refused(form, error))


@posted_form(page=_refused_lesson_copy)
def copy_lesson(request: Request, form: FormData) -> Response:
    new_id, quizzes_copied = copies.copy_lesson(
        request.app.state.kit,
        staff_viewer(request),
        request.path_params["lesson_id"],
        form_int(form.get("class", ""), fix="Pick a class from the list."),
    )
    notice = "copied_with_quizzes" if quizzes_copied else "copied"
    return RedirectResponse(f"/teach/lessons/{new_id}?notice={notice}", status_code=303)


def _refused_quiz_copy(request: Request, form: FormData, error: TpkitError) -> Response:
    return copy_quiz_page(request, **refused(form, error))


@posted_form(page=_refused_quiz_copy)
def copy_quiz(request: Request, form: FormData) -> Response:
    new_id = copies.copy_quiz(
        request.app.state.kit,
        staff_viewer(request),
        request.path_params["quiz_id"],
        form_int(form.get("class", ""), fix="Pick a class from the list."),
    )
    return RedirectResponse(f"/teach/quizzes/{new_id}", status_code=303)


routes = [
    Route("/teach/lessons/{lesson_id:int}/copy", copy_lesson_page, methods=["GET"]),
    Route("/teach/lessons/{lesson_id:int}/copy", copy_lesson, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/copy", copy_quiz_page, methods=["GET"]),
    Route("/teach/quizzes/{quiz_id:int}/copy", copy_quiz, methods=["POST"]),
]
