"""Quizzes on the web: teachers write them for a class, read the results, mark them again and choose whom they
are for (/teach/...); students take them on a phone with JavaScript off (/me/quizzes/...).

Must not import cli. Handlers parse, call services/quizzes (which checks who may see what), and render.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import lesson_edits, quiz_drafts, quiz_remarking, quizzes
from appliance.services.learning.quiz_marking import KINDS
from appliance.services.people import access as people
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.people_routes import staff_viewer as _staff
from appliance.web.session import current_account


def new_quiz(request: Request) -> Response:
    viewer = _staff(request)
    klass = people.staff_class(request.app.state.kit.people, viewer, request.path_params["class_id"])
    return form_page(request, "quiz_form.html", klass=klass, draft=quiz_drafts.Draft(), kinds=KINDS)


@posted_form
def save_quiz(request: Request, form: FormData) -> Response:
    """Every button posts the whole form: "add"/"remove-N" come back with the form changed, "save" saves it."""
    viewer = _staff(request)
    kit = request.app.state.kit
    klass = people.staff_class(kit.people, viewer, request.path_params["class_id"])
    draft, action = quiz_drafts.read(form), str(form.get("action", "save"))
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
        questions = quizzes.questions_to_answer(kit, viewer, quiz_id)
        return form_page(
            request, "quiz_take.html", quiz=quiz, attempt=attempt, questions=questions, sent=sent, blanks=blanks or []
        )
    return form_page(request, "quiz_done.html", quiz=quiz, view=quizzes.attempt_view(kit, viewer, quiz_id, attempt_id))


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


routes = [
    Route("/teach/{class_id:int}/quizzes/new", new_quiz),
    Route("/teach/{class_id:int}/quizzes", save_quiz, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}", quiz_results),
    Route("/teach/quizzes/{quiz_id:int}/marking", change_marking, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/students", choose_students, methods=["POST"]),
    Route("/teach/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", staff_attempt, methods=["GET"]),
    Route("/teach/quizzes/{quiz_id:int}/attempts/{attempt_id:int}/credit", credit_answer, methods=["POST"]),
    Route("/me/quizzes/{quiz_id:int}", quiz_page),
    Route("/me/quizzes/{quiz_id:int}/start", start, methods=["POST"]),
    Route("/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", attempt_page, methods=["GET"]),
    Route("/me/quizzes/{quiz_id:int}/attempts/{attempt_id:int}", hand_in, methods=["POST"]),
]
