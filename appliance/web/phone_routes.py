"""The phone keeps the lesson (issue 18 part B): the web app manifest, the service worker at the root, the phone
pass a child takes home ("带回家"), the list of what that phone keeps (/me/offline.json), the phone's own sign-out,
and a teacher ending a lost phone's pass.

Must not import cli. Without JavaScript, or where service workers are missing (plain HTTP), every page works as
before: these routes only add to them.
"""

from __future__ import annotations

import functools
import json
import uuid
from importlib import resources

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import deliveries, lessons, offline_bundle, quizzes
from appliance.services.people import access as people, phone_passes
from appliance.web import learn_routes, quiz_routes
from appliance.web.errors import wants_json
from appliance.web.forms import form_int, form_page, posted_form, upload_threads
from appliance.web.i18n import MESSAGES
from appliance.web.people_routes import staff_viewer
from appliance.web.session import PRIVATE, bearer_token, current_account, delivering_student
from appliance.webcore.forms import checked_upload
from appliance.webcore.i18n import N_, choose_language

QUIZ_FORM_MAX_BYTES = 1024 * 1024  # a quiz's answers: at most 2,000 characters a question, dozens of questions
DELIVERY_FIELDS = ("student", "client_id", "made_at", "lesson", "body")
# The worker must be fetched fresh each visit (browsers check it at most daily anyway, and a stale one would keep
# serving old pages); Service-Worker-Allowed lets a script under /static/ claim the whole site too.
WORKER_HEADERS = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
ICON_SIZES = (192, 512)
SHELL = ("kit.css", "phone_store.js", "phone.js", "phone/icon-192.png")  # what every kept page loads


@functools.cache
def _static_bytes(name: str) -> bytes:
    return (resources.files("appliance.web") / "static" / name).read_bytes()


def manifest(request: Request) -> Response:
    """The web app manifest, named in the page's language: a child adds My space to the home screen."""
    lang = choose_language(request, request.app.state.kit.settings.default_language)
    icons = [
        {"src": f"/static/phone/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
        for size in ICON_SIZES
    ]
    icons.append(
        {"src": "/static/phone/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"}
    )
    body = {
        "name": MESSAGES.text(lang, N_("phone.app_name")),
        "short_name": MESSAGES.text(lang, N_("phone.app_short_name")),
        "lang": lang,
        "start_url": "/me",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#2b6cb0",
        "icons": icons,
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie"},
    )


def service_worker(request: Request) -> Response:
    return Response(_static_bytes("sw.js"), media_type="text/javascript", headers=WORKER_HEADERS)


@posted_form
def take_home(request: Request, form: FormData) -> Response:
    """带回家: a new pass for this phone, handed to the page once (the page keeps it in IndexedDB, never shown)."""
    kit, viewer = request.app.state.kit, current_account(request)
    token = phone_passes.issue(kit, viewer)
    assert viewer is not None  # issue let a signed-in student through
    return form_page(request, "me_take_home.html", student=viewer, token=token)


def phone_children(request: Request) -> Response:
    """Whose kept pages a family phone shows: the page the phone keeps, filled by its script from IndexedDB."""
    viewer = current_account(request)
    if viewer is None or viewer["role"] != "student":
        return RedirectResponse("/learn", status_code=303)
    return form_page(request, "me_phone.html")


def offline_list(request: Request) -> Response:
    """What this child's phone keeps, for the pass or the signed-in child."""
    shell = {f"/static/{name}": len(_static_bytes(name)) for name in SHELL}
    bundle = offline_bundle.child_bundle(request.app.state.kit, delivering_student(request), shell)
    return JSONResponse(bundle, headers=PRIVATE)


async def phone_sign_out(request: Request) -> Response:
    """The phone's sign-out ends its own pass (Bearer; no cookie or CSRF: a page on another site cannot set it)."""
    phone_passes.end_own(request.app.state.kit, bearer_token(request))
    return JSONResponse({"ended": True}, headers=PRIVATE)


def deliverer(request: Request, token: str):
    """(the student a delivery is from, when their pass was made; None without one): the pass when the request
    carries one, else the signed-in child (whose form then carries its CSRF token)."""
    kit = request.app.state.kit
    if token:
        student, held = phone_passes.holder(kit, token)
        return student, held["made_at"]
    return people.require(current_account(request), "student"), None


def refused_delivery(request: Request, error: TpkitError) -> Response:
    """A delivery refused: the code and the sentence in the phone's language, shown beside the queued item."""
    lang = choose_language(request, request.app.state.kit.settings.default_language)
    values = getattr(error, "values", None) or {}
    text = MESSAGES.text(lang, f"error.{error.code}", **values)
    return JSONResponse({**error.as_dict(), "text": text}, status_code=error.status, headers=PRIVATE)


async def deliver_hand_in(request: Request) -> Response:
    """A hand-in the phone kept (text and photos): stored once per (child, client_id), checked as on the kit."""
    kit, token = request.app.state.kit, bearer_token(request)
    try:
        student, pass_made_at = await run_in_threadpool(deliverer, request, token)
        limit = learn_routes.handin_bytes(request)
        async with checked_upload(request, limit, lessons.PHOTOS_MAX, csrf=not token) as form:
            photos = [(f.file, f.filename) for f in form.getlist("photos") if not isinstance(f, str) and f.filename]
            fields = {key: str(form.get(key, "")) for key in DELIVERY_FIELDS}
            handin_id, repeated = await anyio.to_thread.run_sync(
                deliveries.hand_in, kit, student, pass_made_at, fields, photos, limiter=upload_threads(request)
            )
    except TpkitError as error:
        return refused_delivery(request, error)
    answer = {"delivered": True, "handin": handin_id, "repeated": repeated, "at": f"/me/lessons/{fields['lesson']}"}
    return JSONResponse(answer, headers=PRIVATE)


def offline_quiz(request: Request) -> Response:
    """A quiz's questions for the phone to keep: answered away from the kit, sent as one delivery."""
    viewer = current_account(request)
    quiz = quizzes.student_quiz(request.app.state.kit, viewer, request.path_params["quiz_id"])
    # the page without a script sends this client id once; the phone's script makes its own for each answer
    return quiz_routes.questions_page(request, viewer, quiz, None, client_id=str(uuid.uuid4()))


async def deliver_quiz(request: Request) -> Response:
    """A quiz's answers the phone kept: one attempt per (child, client_id), graded as on the kit."""
    kit, token = request.app.state.kit, bearer_token(request)
    try:
        student, pass_made_at = await run_in_threadpool(deliverer, request, token)
        async with checked_upload(request, QUIZ_FORM_MAX_BYTES, 0, csrf=not token) as form:
            fields = {key: str(form.get(key, "")) for key in ("student", "client_id", "made_at", "quiz")}
            attempt_id, repeated = await run_in_threadpool(deliveries.quiz, kit, student, pass_made_at, fields, form)
    except TpkitError as error:
        if not token and not wants_json(request):
            raise
        return refused_delivery(request, error)
    at = f"/me/quizzes/{fields['quiz']}/attempts/{attempt_id}"
    if not token and not wants_json(request):  # the page's own form, without a script: to the results
        return RedirectResponse(at, status_code=303)
    return JSONResponse({"delivered": True, "attempt": attempt_id, "repeated": repeated, "at": at}, headers=PRIVATE)


@posted_form
def end_phone(request: Request, form: FormData) -> Response:
    """A teacher ends a lost phone's pass from the class page."""
    class_id = request.path_params["class_id"]
    pass_id = form_int(form.get("pass"), fix="Use the buttons on the class page.")
    phone_passes.end(request.app.state.kit, staff_viewer(request), class_id, pass_id)
    return RedirectResponse(f"/teach/{class_id}?notice=phone_ended#phones", status_code=303)


routes = [
    Route("/manifest.webmanifest", manifest),
    Route("/sw.js", service_worker),
    Route("/me/take-home", take_home, methods=["POST"]),
    Route("/me/offline.json", offline_list),
    Route("/me/phone", phone_children),
    Route("/me/phone/sign-out", phone_sign_out, methods=["POST"]),
    Route("/me/deliveries/handin", deliver_hand_in, methods=["POST"]),
    Route("/me/deliveries/quiz", deliver_quiz, methods=["POST"]),
    Route("/me/quizzes/{quiz_id:int}/offline", offline_quiz),
    Route("/teach/{class_id:int}/phones", end_phone, methods=["POST"]),
]
