"""Staff pages about people: teachers and classes (/admin/people), a teacher's classes and rosters (/teach),
roster uploads, PINs or picture codes per class, and the sign-in cards that print them (again, without new PINs).

Must not import cli. Every handler asks services/people for what the signed-in account may see.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.edges import qr_codes
from appliance.errors import AccessDeniedError, BadRequestError, TpkitError
from appliance.services.device import health
from appliance.services.learning import family, notices
from appliance.services.people import (
    access as people,
    auth,
    class_roster,
    class_views,
    oneroster,
    phone_passes,
    picture_codes,
)
from appliance.services.people.roster_reading import MAX_FILE_BYTES, read_zip_bytes
from appliance.web.forms import form_int, form_page, posted_form, posted_upload, refused
from appliance.web.session import current_account

# The fix for a number a form of the class page never sends (only a hand-made request does).
CLASS_PAGE_FIX = "Use the buttons on the class page."


def staff_viewer(request: Request, *roles: str):
    """The signed-in staff account; a teacher who still has the first password may only change it."""
    viewer = current_account(request)
    people.require(viewer, *(roles or people.STAFF))
    if viewer["must_change_password"] and request.url.path != "/teach":
        raise AccessDeniedError(
            "Choose your own password before anything else.",
            fix="Open /teach and change the first password.",
            code="auth.must_change_password",
        )
    return viewer


def teach(request: Request) -> Response:
    viewer = current_account(request)
    if viewer is None:
        return RedirectResponse("/admin/signin", status_code=303)
    viewer = staff_viewer(request)
    if viewer["must_change_password"]:
        return form_page(request, "password.html", account=viewer)
    return _teach_page(request, viewer, notice=request.query_params.get("notice"))


def _teach_page(request: Request, viewer, status_code: int = 200, **context) -> Response:
    """/teach; again with a refused form's `typed` values, its `error` and the `field` the message goes beside."""
    kit = request.app.state.kit
    classes = people.classes_for(kit.people, viewer)
    waiting = health.books(kit, open_library=False)["waiting"]
    return form_page(
        request,
        "teach.html",
        status_code=status_code,
        account=viewer,
        classes=classes,
        books_waiting=waiting,
        **context,
    )


def roster_page(request: Request) -> Response:
    """The class page; `?day=` shows that day's attendance instead of today's."""
    return class_page(request, staff_viewer(request), notice=request.query_params.get("notice"))


def class_page(request: Request, viewer, status_code: int = 200, **context) -> Response:
    """/teach/<class>, with its notices (notices_teach.html) and a day's attendance (`?day=`, else today); again
    with a refused form's context."""
    kit, class_id = request.app.state.kit, request.path_params["class_id"]
    found = class_views.class_page(kit, viewer, class_id, request.query_params.get("day"))
    return form_page(
        request,
        "teach_class.html",
        status_code,
        account=viewer,
        notices=notices.of_class(kit, viewer, class_id),
        phones=phone_passes.of_class(kit, viewer, class_id),
        family=family.class_counts(kit, viewer, class_id),
        **found,
        **context,
    )


@posted_form
def give_pins(request: Request, form: FormData) -> Response:
    """New PINs for every child without one, or, once the teacher has confirmed, a new PIN for one child (the old one
    stops working, so one tap must not do it); the cards of the PINs just given."""
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    class_id = request.path_params["class_id"]
    student = form_int(form.get("student", ""), fix=CLASS_PAGE_FIX) if form.get("student") else None
    replaced = False  # whether an old PIN or code stops working (only a child who had one; "all" gives the rest)
    if student is not None:
        klass, chosen = people.class_student(kit.people, viewer, class_id, student)
        if form.get("confirm") != "yes":
            return form_page(request, "pin_confirm.html", account=viewer, klass=klass, student=chosen)
        replaced = bool(chosen["has_credential"])
    pins = people.give_pins(kit.people, viewer, class_id, kit.settings.pin_digits, student, kit.signin_failures)
    klass = people.staff_class(kit.people, viewer, class_id)
    cards = [(s["display_name"], pin) for s, pin in pins]
    return _cards_page(request, viewer, klass, cards, given=True, replaced=replaced)


def cards(request: Request) -> Response:
    """Every child's sign-in card, printed again as often as the teacher likes (the PINs stay as they are)."""
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    klass, children = people.sign_in_cards(kit.people, viewer, request.path_params["class_id"])
    return _cards_page(request, viewer, klass, children)


def _cards_page(
    request: Request, viewer, klass, children: list, given: bool = False, result=None, replaced: bool = False
) -> Response:
    """The cards page: `children` [(name, PIN or code or None when not kept[, student id])]; `given` when they were
    just given, `replaced` when one of them had a PIN or code before (which no longer works: said only then)."""
    address = class_address(request, klass["id"])
    return form_page(
        request,
        "pin_sheet.html",
        account=viewer,
        klass=klass,
        pictures=_pictures(klass),
        cards=[(child[0], child[1], child[2] if len(child) > 2 else None) for child in children],
        given=given,
        replaced=replaced,
        result=result,
        address=address,
        qr=qr_codes.svg(address),  # SVG markup made by segno (it escapes the address): the template inserts it as is
        wifi_name=request.app.state.kit.settings.wifi_name,
    )


def _pictures(klass):
    """For the cards of a class that signs in with pictures: a code's picture names."""
    return picture_codes.names if klass["signin_kind"] == "pictures" else None


def class_address(request: Request, class_id: int) -> str:
    """The class's sign-in page as the teacher's browser reached the kit (its host name or IP address, and port):
    a child's phone on the same Wi-Fi reaches it the same way."""
    return f"{request.url.scheme}://{request.url.netloc}/learn/{class_id}"


@posted_form
def resume_signin(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id = request.path_params["class_id"]
    people.resume_class_signin(request.app.state.kit, viewer, class_id)
    return RedirectResponse(f"/teach/{class_id}?notice=resumed", status_code=303)


@posted_form
def set_signin_kind(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id = request.path_params["class_id"]
    people.set_signin_kind(request.app.state.kit.people, viewer, class_id, str(form.get("kind", "")))
    return RedirectResponse(f"/teach/{class_id}", status_code=303)


def _refused_new_class(request: Request, form: FormData, error: TpkitError) -> Response:
    """/teach again: the new-class form as typed, the message beside the teachers or (else) the class's name."""
    context = refused(form, error)
    context["field"] = "teachers" if error.code == "people.no_such_teacher" else "name"  # `name` on this form
    return _teach_page(request, staff_viewer(request), **context)


@posted_form(page=_refused_new_class)
def create_class(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    typed = {key: str(form.get(key, "")) for key in ("name", "grade", "teachers")}
    teachers = typed["teachers"].replace("，", ",").split(",")
    class_id = people.create_class(request.app.state.kit.people, viewer, typed["name"], typed["grade"], teachers)
    return RedirectResponse(f"/teach/{class_id}", status_code=303)


def _refused_import(request: Request, form: FormData, error: TpkitError) -> Response:
    """/teach again: the class-list form with the class chosen and the message (beside the class or the file)."""
    context = refused(form, error)
    about_the_class = context["field"] == "class_name" or error.code == "people.class_name_taken"
    context["field"] = "class_name" if about_the_class else "file"
    return _teach_page(request, staff_viewer(request), **context)


@posted_upload(lambda request: MAX_FILE_BYTES, *people.STAFF, page=_refused_import)
def import_class(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    data, filename = _upload(form)
    kit = request.app.state.kit
    typed = {key: str(form.get(key, "")) for key in ("class_name", "teacher")}
    result = class_roster.import_file(
        kit.people, viewer, data, filename, typed["class_name"], typed["teacher"], kit.settings.pin_digits
    )
    assert result.class_id is not None  # an import that returns has written its class
    klass = people.staff_class(kit.people, viewer, result.class_id)
    return _cards_page(request, viewer, klass, [(name, pin) for name, _, pin in result.pins], True, result)


def people_page(request: Request) -> Response:
    return _people_page(
        request, notice=request.query_params.get("notice"), username=request.query_params.get("username")
    )


def _people_page(request: Request, status_code: int = 200, **context) -> Response:
    viewer = staff_viewer(request, "admin")
    return form_page(
        request,
        "people.html",
        status_code=status_code,
        account=viewer,
        **class_views.people_page(request.app.state.kit, viewer),
        **context,
    )


def people_page_refused(request: Request, form: FormData, error: TpkitError) -> Response:
    """/admin/people again: the new-teacher form as typed (never the password), the message beside the field; a
    refused one-time password beside that teacher's row."""
    context = refused(form, error)
    context["typed"].pop("password", None)
    account_id = request.path_params.get("account_id")
    return _people_page(request, refused_form=f"password-{account_id}" if account_id else "teacher", **context)


@posted_form(page=people_page_refused)
def create_teacher(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request, "admin")
    typed = str(form.get("username", "")).strip()
    people.create_teacher(
        request.app.state.kit.people, viewer, str(form.get("name", "")), typed, str(form.get("password", ""))
    )
    stored = auth.normal_username(typed)
    if typed != stored:  # the user name was kept in lower case (or full-width letters made plain): say so
        return RedirectResponse(f"/admin/people?{urlencode({'notice': 'lowercased', 'username': stored})}", 303)
    return RedirectResponse("/admin/people?notice=teacher", status_code=303)


@posted_form(page=people_page_refused)
def reset_password(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request, "admin")
    people.reset_staff_password(
        request.app.state.kit.people, viewer, request.path_params["account_id"], str(form.get("password", ""))
    )
    return RedirectResponse("/admin/people?notice=password", status_code=303)


@posted_upload(lambda request: MAX_FILE_BYTES, "admin")
def import_oneroster(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request, "admin")
    data, filename = _upload(form)
    files = read_zip_bytes(data, filename, oneroster.FILES)
    result = oneroster.import_set(request.app.state.kit.people, viewer, files)
    return form_page(request, "import_done.html", account=viewer, result=result)


def _upload(form: FormData) -> tuple[bytes, str]:
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise BadRequestError(
            "No file was chosen.",
            fix="Choose the roster file, then send the form again.",
            code="upload.none_chosen",
            field="file",
        )
    data = upload.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise BadRequestError(
            f"{upload.filename} is larger than {MAX_FILE_BYTES} bytes.",
            fix="Check that this is the roster file.",
            code="upload.too_large",
            field="file",
        )
    return data, upload.filename


routes = [
    Route("/teach", teach),
    Route("/teach/classes", create_class, methods=["POST"]),
    Route("/teach/import", import_class, methods=["POST"]),
    Route("/teach/{class_id:int}", roster_page),
    Route("/teach/{class_id:int}/pins", give_pins, methods=["POST"]),
    Route("/teach/{class_id:int}/cards", cards),
    Route("/teach/{class_id:int}/signin-kind", set_signin_kind, methods=["POST"]),
    Route("/teach/{class_id:int}/signin-resume", resume_signin, methods=["POST"]),
    Route("/admin/people", people_page),
    Route("/admin/people/teachers", create_teacher, methods=["POST"]),
    Route("/admin/people/import", import_oneroster, methods=["POST"]),
    Route("/admin/people/{account_id:int}/password", reset_password, methods=["POST"]),
]
