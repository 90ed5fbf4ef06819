"""The students' side: sign in by class, name and PIN on a keypad (or three pictures on a grid, when the class's
teacher chose picture codes) that works without JavaScript (/learn),
and "My space" (/me): what is due, what is new, what came back, quizzes; a lesson's page; handing in homework.

Must not import cli. The keypad is a form whose digit buttons are submit buttons: with JavaScript off each
tap posts the PIN typed so far and the page comes back with one more digit; only "OK" tries the PIN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import SignInError, TooManyAttemptsError, TpkitError
from appliance.services.learning import lesson_views, lessons
from appliance.services.people import access as people, auth, name_order, picture_codes
from appliance.web import book_origin
from appliance.web.forms import form_page, posted_form, posted_upload, refused
from appliance.web.session import client_address, current_account, home_of, open_session

if TYPE_CHECKING:
    from appliance.services.kit import Kit

PIN_MAX_DIGITS = 6
KEEP_HEADER = "x-tpkit-keep"  # sent by the phone's service worker when it keeps a page (static/phone_store.js)


def choose_class(request: Request) -> Response:
    return form_page(request, "learn_classes.html", classes=people.sign_in_classes(request.app.state.kit.people))


def choose_name(request: Request) -> Response:
    klass, students = people.sign_in_names(request.app.state.kit.people, request.path_params["class_id"])
    return form_page(
        request, "learn_names.html", klass=klass, students=students, letters=name_order.letter_bar(students)
    )


def keypad(request: Request) -> Response:
    klass, student = people.pin_student(
        request.app.state.kit.people, request.path_params["class_id"], request.path_params["student_id"]
    )
    return _sign_in_page(request, klass, student, "")


def _sign_in_page(request: Request, klass, student, typed: str, status_code: int = 200, **context) -> Response:
    """The keypad, or the picture grid when the class signs in with pictures."""
    if klass["signin_kind"] == "pictures":
        return form_page(
            request,
            "learn_pictures.html",
            status_code,
            klass=klass,
            student=student,
            typed=typed,
            picked=len(picture_codes.picked(typed)),
            pictures=picture_codes.PICTURES,
            code_length=picture_codes.CODE_LENGTH,
            **context,
        )
    return form_page(request, "learn_pin.html", status_code, klass=klass, student=student, typed=typed, **context)


@posted_form
def press(request: Request, form: FormData) -> Response:
    """One keypad press: a digit or ⌫ comes back with the PIN so far; OK (or Enter) tries it. On the picture grid
    each picture comes back with one more picked, and the last of the code's pictures tries it."""
    kit = request.app.state.kit
    klass, student = people.pin_student(kit.people, request.path_params["class_id"], request.path_params["student_id"])
    key = str(form.get("key", "go"))
    if klass["signin_kind"] == "pictures":
        picked = picture_codes.picked(str(form.get("pin", "")))
        if key == "back":
            picked = picked[:-1]
        elif key.startswith("pic-") and (picture := picture_codes.number(key[4:])) is not None:
            picked = [*picked, picture]
        if len(picked) < picture_codes.CODE_LENGTH:
            return _sign_in_page(request, klass, student, picture_codes.joined(picked))
        return _try(request, kit, klass, student, picture_codes.joined(picked))
    typed = "".join(ch for ch in str(form.get("pin", "")) if ch.isdigit())[:PIN_MAX_DIGITS]
    if key.isdigit() and len(key) == 1:
        return _sign_in_page(request, klass, student, (typed + key)[:PIN_MAX_DIGITS])
    if key == "back":
        return _sign_in_page(request, klass, student, typed[:-1])
    return _try(request, kit, klass, student, typed)


def _try(request: Request, kit: Kit, klass, student, secret: str) -> Response:
    """Check the PIN or picture code (throttled per account, device and class) and open the session."""
    try:
        token = people.student_sign_in(kit, klass, student, secret, client_address(request))
    except TooManyAttemptsError as exc:
        retry = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else {}
        return _sign_in_page(request, klass, student, "", exc.status, headers=retry, error=exc)
    except SignInError as exc:
        return _sign_in_page(request, klass, student, "", 401, error=exc)
    return open_session(RedirectResponse("/me", status_code=303), token, auth.STUDENT_SESSION_LIFETIME_S)


def not_a_child(viewer) -> Response | None:
    """Where a page of the child's own (My space, the family page) sends anyone else: nobody signed in to /learn,
    staff to their home; None for a child."""
    if viewer is None:
        return RedirectResponse("/learn", status_code=303)
    if viewer["role"] != "student":
        return RedirectResponse(home_of(viewer), status_code=303)
    return None


def my_space(request: Request) -> Response:
    viewer = current_account(request)
    return not_a_child(viewer) or form_page(request, "me.html", **lesson_views.my_space(request.app.state.kit, viewer))


def _kept(request: Request) -> bool:
    """The phone's service worker fetching a page to keep for later (static/phone_store.js): the child has not
    opened it, so nothing is recorded."""
    return request.headers.get(KEEP_HEADER) == "1"


def my_lesson(request: Request) -> Response:
    kit, viewer, lesson_id = request.app.state.kit, current_account(request), request.path_params["lesson_id"]
    found = lesson_views.my_lesson(kit, viewer, lesson_id, record=not _kept(request))
    return form_page(request, "me_lesson.html", notice=request.query_params.get("notice"), **found)


def open_item(request: Request) -> Response:
    """Record that the student opened the item, then show it: a file is sent to; a book or an article is shown under
    the kit bar (back to the lesson, bookmark), framed in the book sandbox (me_read.html, docs/learning-space.md)."""
    kit, viewer = request.app.state.kit, current_account(request)
    lesson_id, item_id = request.path_params["lesson_id"], request.path_params["item_id"]
    found = lesson_views.read_item(kit, viewer, lesson_id, item_id, record=not _kept(request))
    item = found["item"]
    if item["kind"] == "upload":
        return RedirectResponse(f"/files/lesson/{item['id']}", status_code=303)
    if item["kind"] == "quiz":
        return RedirectResponse(f"/me/quizzes/{item['quiz_id']}", status_code=303)
    return form_page(
        request,
        "me_read.html",
        src=f"/content/{quote(item['book'])}/{quote(item['path'])}",
        frame_sandbox=book_origin.FRAME_SANDBOX,
        notice=request.query_params.get("notice"),
        **found,
    )


def handin_bytes(request: Request) -> int:
    """The most a hand-in's body may carry: its photos at the kit's size limit (here and phone_routes)."""
    return lessons.PHOTOS_MAX * request.app.state.kit.settings.handin_photo_max_mb * 1024 * 1024


def _refused_hand_in(request: Request, form: FormData, error: TpkitError) -> Response:
    """The lesson page again, the answer as typed and the message beside the answer or the photos."""
    found = lesson_views.my_lesson(request.app.state.kit, current_account(request), request.path_params["lesson_id"])
    context = refused(form, error)
    if not context["field"] and (error.code.startswith("upload.") or error.status == 413):
        context["field"] = "photos"
    return form_page(request, "me_lesson.html", **found, **context)


@posted_upload(handin_bytes, "student", max_files=lessons.PHOTOS_MAX, page=_refused_hand_in)
def hand_in(request: Request, form: FormData) -> Response:
    photos = [(f.file, f.filename) for f in form.getlist("photos") if not isinstance(f, str) and f.filename]
    lesson_id = request.path_params["lesson_id"]
    lessons.hand_in(request.app.state.kit, current_account(request), lesson_id, str(form.get("body", "")), photos)
    return RedirectResponse(f"/me/lessons/{lesson_id}?notice=handed_in", status_code=303)


routes = [
    Route("/learn", choose_class),
    Route("/learn/{class_id:int}", choose_name),
    Route("/learn/{class_id:int}/{student_id:int}", keypad, methods=["GET"]),
    Route("/learn/{class_id:int}/{student_id:int}", press, methods=["POST"]),
    Route("/me", my_space),
    Route("/me/lessons/{lesson_id:int}", my_lesson),
    Route("/me/lessons/{lesson_id:int}/items/{item_id:int}", open_item),
    Route("/me/lessons/{lesson_id:int}/handin", hand_in, methods=["POST"]),
]
