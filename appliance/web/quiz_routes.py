"""Quizzes on the web: teachers write them for a class (the form, with a picture per question, or a whole quiz
pasted as text), read the results, mark them again and choose whom they are for (/teach/...); students take them
on a phone with JavaScript off (/me/quizzes/...); the questions' pictures for both (/files/quiz-picture/...).

Must not import cli. Handlers parse, call services/quizzes (which checks who may see what), and render.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import (
    lesson_edits,
    quiz_drafts,
    quiz_moodle,
    quiz_paste,
    quiz_pictures,
    quiz_remarking,
    quizzes,
)
from appliance.services.learning.quiz_marking import KINDS
from appliance.services.people import access as people
from appliance.services.people.access import STAFF
from appliance.web.forms import UploadTooLargeError, form_int, form_page, posted_form, posted_upload, refused
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


def quiz_results(request: Request, **refused_context) -> Response:
    found = quizzes.results(request.app.state.kit, _staff(request), request.path_params["quiz_id"])
    return form_page(request, "quiz_results.html", **found, **refused_context)


def _refused_marking(request: Request, form: FormData, error: TpkitError) -> Response:
    """The results page again, the answer as typed beside its question's "accept" form."""
    return quiz_results(request, **refused(form, error))


@posted_form(page=_refused_marking)
def change_marking(request: Request, form: FormData) -> Response:
    """Accept another answer to a question (action=accept, `accept<position>` as a child's form sends it), or no
    longer (action=unaccept, `key`): every attempt is marked again."""
    viewer, kit, quiz_id = _staff(request), request.app.state.kit, request.path_params["quiz_id"]
    position = form_int(form.get("position"))
    if form.get("action") == "unaccept":
        quiz_remarking.unaccept(kit, viewer, quiz_id, position, str(form.get("key", "")))
    else:
        quiz_remarking.accept(kit, viewer, quiz_id, position, [str(v) for v in form.getlist(f"accept{position}")])
    return RedirectResponse(f"/teach/quizzes/{quiz_id}#mark{position}", status_code=303)


def staff_attempt(request: Request, **refused_context) -> Response:
    """One child's handed-in attempt for the class's teachers, with buttons giving or taking an answer's credit."""
    kit, params = request.app.state.kit, request.path_params
    found = quiz_remarking.attempt_for_staff(kit, _staff(request), params["quiz_id"], params["attempt_id"])
    return form_page(request, "quiz_attempt.html", **found, **refused_context)


def _refused_credit(request: Request, form: FormData, error: TpkitError) -> Response:
    return staff_attempt(request, **refused(form, error))


@posted_form(page=_refused_credit)
def credit_answer(request: Request, form: FormData) -> Response:
    kit, quiz_id, attempt_id = request.app.state.kit, request.path_params["quiz_id"], request.path_params["attempt_id"]
    position = form_int(form.get("position"))
    quiz_remarking.credit(kit, _staff(request), quiz_id, attempt_id, position, str(form.get("credit", "")))
    return RedirectResponse(f"/teach/quizzes/{quiz_id}/attempts/{attempt_id}#q{position}", status_code=303)


@posted_form
def choose_students(request: Request, form: FormData) -> Response:
    """Whom the quiz is for: the students ticked, or the whole class when none is."""
    quiz_id = request.path_params["quiz_id"]
    chosen = [form_int(v) for v in form.getlist("students")]
    lesson_edits.assign_quiz(request.app.state.kit, _staff(request), quiz_id, chosen)
    return RedirectResponse(f"/teach/quizzes/{quiz_id}#students", status_code=303)


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


def _refused_import(request: Request, form: FormData, error: TpkitError) -> Response:
    """The paste page again, the Moodle file's problem beside its form (the title as typed; the file is chosen again)."""
    if isinstance(error, UploadTooLargeError):
        error = quiz_moodle.too_large(quiz_moodle.MAX_FILE_BYTES + 1)
    return paste_page(request, **refused(form, error))


@posted_upload(lambda request: quiz_moodle.MAX_FILE_BYTES, *STAFF, page=_refused_import)
def import_moodle(request: Request, form: FormData) -> Response:
    """A quiz from a Moodle XML file, then its edit page."""
    viewer = _staff(request)
    upload = form.get("file")
    data, name = b"", ""
    if upload is not None and not isinstance(upload, str):
        data, name = upload.file.read(quiz_moodle.MAX_FILE_BYTES + 1), upload.filename or ""
    quiz_id = quizzes.import_moodle(
        request.app.state.kit, viewer, request.path_params["class_id"], str(form.get("title", "")), data, name
    )
    return RedirectResponse(f"/teach/quizzes/{quiz_id}/edit", status_code=303)


def moodle_export(request: Request) -> Response:
    """The quiz as a Moodle XML file, to carry to Moodle or to another kit."""
    name, data = quizzes.moodle_file(request.app.state.kit, _staff(request), request.path_params["quiz_id"])
    return Response(
        data,
        media_type="application/xml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
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


def attempt_page(request: Request, sent: FormData | None = None, blanks: list[int] | None = None) -> Response:
    """The questions while the attempt is open (with the answers `sent` and the `blanks` warned about, when a
    hand-in left some unanswered); its results once handed in."""
    viewer = current_account(request)
    kit, quiz_id, attempt_id = request.app.state.kit, request.path_params["quiz_id"], request.path_params["attempt_id"]
    quiz, attempt = quizzes.own_attempt(kit, viewer, quiz_id, attempt_id)
    if attempt["handed_in_at"] is None:
        return questions_page(request, viewer, quiz, attempt, sent=sent, blanks=blanks or [])
    return form_page(request, "quiz_done.html", quiz=quiz, view=quizzes.attempt_view(kit, viewer, quiz_id, attempt_id))


def questions_page(request: Request, viewer, quiz, attempt, **context) -> Response:
    """The quiz's questions to answer: in an open attempt, or (attempt None) kept by a phone (web/phone_routes)."""
    kit = request.app.state.kit
    return form_page(
        request,
        "quiz_take.html",
        quiz=quiz,
        attempt=attempt,
        questions=quizzes.questions_to_answer(kit, viewer, quiz["id"]),
        pictures=quiz_pictures.question_pictures(kit, viewer, quiz["id"]),
        **{"sent": None, "blanks": [], **context},
    )


@posted_form
def hand_in(request: Request, form: FormData) -> Response:
    """Hand the answers in; with questions unanswered, first the same page again with every answer as sent and the
    choice to answer them or hand in anyway (`blanks=ok`), which needs no JavaScript."""
    kit, quiz_id, attempt_id = request.app.state.kit, request.path_params["quiz_id"], request.path_params["attempt_id"]
    viewer = current_account(request)
    if form.get("blanks") != "ok":
        blanks = quizzes.blanks(kit, viewer, quiz_id, attempt_id, form)
        if blanks:
            return attempt_page(request, sent=form, blanks=blanks)
    quizzes.hand_in(kit, viewer, quiz_id, attempt_id, form)
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
    Route("/teach/{class_id:int}/quizzes/import", import_moodle, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/moodle.xml", moodle_export),
    Route("/teach/quizzes/{quiz_id:int}", quiz_results),
    Route("/teach/quizzes/{quiz_id:int}/marking", change_marking, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/students", choose_students, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", staff_attempt, methods=["GET"]),
    Route("/teach/quizzes/{quiz_id:int}/attempts/{attempt_id:int}/credit", credit_answer, methods=["POST"]),
    Route("/files/quiz-picture/{picture_id:int}", picture),
    Route("/me/quizzes/{quiz_id:int}", quiz_page),
    Route("/me/quizzes/{quiz_id:int}/start", start, methods=["POST"]),
    Route("/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", attempt_page, methods=["GET"]),
    Route("/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", hand_in, methods=["POST"]),
]
