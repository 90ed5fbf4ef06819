"""Quizzes on the web: teachers write them for a class (the form, with a picture per question, or a whole quiz
pasted as text) and read the results (/teach/...), students take them on a phone with JavaScript off
(/me/quizzes/...); the questions' pictures for both (/files/quiz-picture/...).

Must not import cli. Handlers parse, call services/quizzes (which checks who may see what), and render.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import quiz_drafts, quiz_paste, quiz_pictures, quizzes
from appliance.services.learning.quiz_marking import KINDS
from appliance.services.people import access as people
from appliance.services.people.access import STAFF
from appliance.web.forms import UploadTooLargeError, form_page, posted_form, posted_upload, refused
from appliance.web.people_routes import staff_viewer as _staff
from appliance.web.session import current_account


def new_quiz(request: Request, **refusal) -> Response:
    viewer = _staff(request)
    klass = people.staff_class(request.app.state.kit.people, viewer, request.path_params["class_id"])
    return form_page(request, "quiz_form.html", klass=klass, draft=quiz_drafts.Draft(), kinds=KINDS, **refusal)


def _refused_quiz(request: Request, form: FormData, error: TpkitError) -> Response:
    """A form the upload limit refused unread (pictures over quiz_pictures.post_limit_bytes): a new form, the
    message at its top."""
    return new_quiz(request, **refused(form, error))


@posted_upload(
    lambda request: quiz_pictures.post_limit_bytes(request.app.state.kit),
    *STAFF,
    max_files=quiz_drafts.MAX_QUESTIONS,
    page=_refused_quiz,
)
def save_quiz(request: Request, form: FormData) -> Response:
    """Every button posts the whole form (pictures too): "add"/"remove-N" come back with the form changed, "save"
    saves it. A refused picture is its question's problem; the rest stays as typed."""
    viewer = _staff(request)
    kit = request.app.state.kit
    klass = people.staff_class(kit.people, viewer, request.path_params["class_id"])
    draft, action = quiz_drafts.read(form), str(form.get("action", "save"))
    quiz_pictures.take(kit, viewer, klass["id"], draft, form)
    if draft.has_problems:
        return form_page(request, "quiz_form.html", status_code=400, klass=klass, draft=draft, kinds=KINDS)
    if action != "save":
        quiz_drafts.apply_button(draft, action)
        return form_page(request, "quiz_form.html", klass=klass, draft=draft, kinds=KINDS)
    quiz_id = quizzes.create(kit, viewer, klass["id"], draft)
    if quiz_id is None:
        return form_page(request, "quiz_form.html", status_code=400, klass=klass, draft=draft, kinds=KINDS)
    return RedirectResponse(f"/teach/quizzes/{quiz_id}", status_code=303)


def paste_page(request: Request, **refusal) -> Response:
    """A whole quiz pasted as text (plain or GIFT): services/learning/quiz_paste reads it."""
    viewer = _staff(request)
    klass = people.staff_class(request.app.state.kit.people, viewer, request.path_params["class_id"])
    return form_page(request, "quiz_paste.html", klass=klass, **refusal)


def _refused_paste(request: Request, form: FormData, error: TpkitError) -> Response:
    if isinstance(error, UploadTooLargeError):  # a body over the form limit was not read: far too long for a quiz
        error = quiz_paste.too_long(str(error))
    return paste_page(request, **refused(form, error))


@posted_form(page=_refused_paste)
def paste(request: Request, form: FormData) -> Response:
    """The quiz made from the text, then its edit page (attempts, due date, pictures): three page loads in all."""
    viewer = _staff(request)
    quiz_id = quizzes.paste(
        request.app.state.kit,
        viewer,
        request.path_params["class_id"],
        str(form.get("title", "")),
        str(form.get("text", "")),
        "gift" if form.get("format") == "gift" else "plain",
    )
    return RedirectResponse(f"/teach/quizzes/{quiz_id}/edit", status_code=303)


def quiz_results(request: Request) -> Response:
    viewer = _staff(request)
    kit, quiz_id = request.app.state.kit, request.path_params["quiz_id"]
    quiz, klass = quizzes.staff_quiz(kit, viewer, quiz_id)
    return form_page(
        request,
        "quiz_results.html",
        quiz=quiz,
        klass=klass,
        questions=quizzes.question_results(kit, viewer, quiz_id),
        scores=quizzes.class_scores(kit, viewer, quiz_id),
        may_edit=viewer["role"] == "admin" or viewer["id"] == quiz["author_id"],
    )


def quiz_page(request: Request) -> Response:
    viewer = current_account(request)
    if viewer is None:
        return RedirectResponse("/learn", status_code=303)
    kit, quiz_id = request.app.state.kit, request.path_params["quiz_id"]
    return form_page(request, "quiz_start.html", **quizzes.start_page(kit, viewer, quiz_id))


@posted_form
def start(request: Request, form: FormData) -> Response:
    quiz_id = request.path_params["quiz_id"]
    attempt_id = quizzes.start(request.app.state.kit, current_account(request), quiz_id)
    return RedirectResponse(f"/me/quizzes/{quiz_id}/attempts/{attempt_id}", status_code=303)


def attempt_page(request: Request) -> Response:
    """The questions while the attempt is open; its results once handed in."""
    viewer = current_account(request)
    kit, quiz_id, attempt_id = request.app.state.kit, request.path_params["quiz_id"], request.path_params["attempt_id"]
    quiz, attempt = quizzes.own_attempt(kit, viewer, quiz_id, attempt_id)
    if attempt["handed_in_at"] is None:
        questions = quizzes.questions_to_answer(kit, viewer, quiz_id)
        pictures = quiz_pictures.question_pictures(kit, viewer, quiz_id)
        return form_page(request, "quiz_take.html", quiz=quiz, attempt=attempt, questions=questions, pictures=pictures)
    return form_page(request, "quiz_done.html", quiz=quiz, view=quizzes.attempt_view(kit, viewer, quiz_id, attempt_id))


@posted_form
def hand_in(request: Request, form: FormData) -> Response:
    kit, quiz_id, attempt_id = request.app.state.kit, request.path_params["quiz_id"], request.path_params["attempt_id"]
    quizzes.hand_in(kit, current_account(request), quiz_id, attempt_id, form)
    return RedirectResponse(f"/me/quizzes/{quiz_id}/attempts/{attempt_id}", status_code=303)


# A picture's id is never reused for other bytes, so a phone keeps it for a week (never a shared cache: it is about
# a class); sandboxed and not sniffed like every file people send.
PICTURE_HEADERS = {
    "Cache-Control": "private, max-age=604800, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
}


def picture(request: Request) -> Response:
    """A question's picture: a new id for every new picture, so a browser may keep it (never a shared cache)."""
    row, path = quiz_pictures.picture_file(
        request.app.state.kit, current_account(request), request.path_params["picture_id"]
    )
    return FileResponse(path, media_type=row["media_type"], headers=PICTURE_HEADERS)


routes = [
    Route("/teach/{class_id:int}/quizzes/new", new_quiz),
    Route("/teach/{class_id:int}/quizzes", save_quiz, methods=["POST"]),
    Route("/teach/{class_id:int}/quizzes/paste", paste_page, methods=["GET"]),
    Route("/teach/{class_id:int}/quizzes/paste", paste, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}", quiz_results),
    Route("/files/quiz-picture/{picture_id:int}", picture),
    Route("/me/quizzes/{quiz_id:int}", quiz_page),
    Route("/me/quizzes/{quiz_id:int}/start", start, methods=["POST"]),
    Route("/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", attempt_page, methods=["GET"]),
    Route("/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", hand_in, methods=["POST"]),
]
