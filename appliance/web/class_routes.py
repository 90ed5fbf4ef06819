"""A teacher's housekeeping of a class: who came (attendance per day, corrections, a CSV), renaming, moving or
removing a child, renaming or removing the class, and (administrators) its teachers.

Must not import cli. Every handler asks services/people for what the signed-in account may do; refused forms come
back as the same form with what was typed (web/forms.posted_form(page=...)).
"""

from __future__ import annotations

import csv
import io

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import AccessDeniedError, BadRequestError, TpkitError
from appliance.services.people import access as people, attendance, housekeeping
from appliance.typed_numbers import whole_number
from appliance.web import i18n
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.people_routes import CLASS_PAGE_FIX, staff_viewer
from appliance.web.session import PRIVATE
from appliance.webcore.i18n import choose_language, speak


def _ids(request: Request) -> tuple[int, int]:
    return request.path_params["class_id"], request.path_params["student_id"]


@posted_form
def mark_attendance(request: Request, form: FormData) -> Response:
    """The teacher's correction of one child's day: there (present=1) or not (present=0)."""
    viewer = staff_viewer(request)
    class_id = request.path_params["class_id"]
    student = form_int(form.get("student", ""), fix=CLASS_PAGE_FIX)
    day = attendance.mark(
        request.app.state.kit, viewer, class_id, student, str(form.get("day", "")), form.get("present") == "1"
    )
    return RedirectResponse(f"/teach/{class_id}?day={day}#attendance", status_code=303)


def attendance_csv(request: Request) -> Response:
    """The month of attendance that ends with `?day=` (today when absent), one column per school day."""
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    lang = choose_language(request, kit.settings.default_language)
    klass, rows = attendance.csv_rows(
        kit, viewer, request.path_params["class_id"], request.query_params.get("day"), i18n.MESSAGES.translator(lang)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(
            [f"'{v}" if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in row]
        )  # OWASP CSV injection
    # UTF-8 with a BOM so Excel and WPS on Chinese Windows read the names right
    response = Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="class-{klass["id"]}-attendance.csv"'},
    )
    return speak(request, response, lang)


def student_page(request: Request) -> Response:
    return _student_page(request)


def _student_page(request: Request, status_code: int = 200, **context) -> Response:
    """One child's housekeeping page: name and 学号, move to another class, remove from the class."""
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    class_id, student_id = _ids(request)
    klass, student = people.class_student(kit.people, viewer, class_id, student_id)
    targets = housekeeping.move_targets(kit.people, viewer, class_id)
    return form_page(
        request,
        "student_edit.html",
        status_code=status_code,
        account=viewer,
        klass=klass,
        student=student,
        targets=targets,
        notice=request.query_params.get("notice"),
        **context,
    )


def _student_refused(request: Request, form: FormData, error: TpkitError) -> Response:
    if isinstance(error, AccessDeniedError):  # about who sent it, not what was typed: the error page says so
        raise error
    return _student_page(request, **refused(form, error), refused_form=request.url.path.rsplit("/", 1)[-1])


@posted_form(page=_student_refused)
def rename_student(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id, student_id = _ids(request)
    housekeeping.rename_student(
        request.app.state.kit.people,
        viewer,
        class_id,
        student_id,
        str(form.get("name", "")),
        str(form.get("student_number", "")),
    )
    return RedirectResponse(f"/teach/{class_id}?notice=renamed", status_code=303)


@posted_form(page=_student_refused)
def move_student(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id, student_id = _ids(request)
    to = whole_number(form.get("to", ""))  # at most 18 digits: it is looked up in SQLite
    if to is None:
        raise BadRequestError(f"{form.get('to')!r} is not a class.", fix=CLASS_PAGE_FIX, field="to")
    target = housekeeping.move_student(request.app.state.kit.people, viewer, class_id, student_id, to)
    return RedirectResponse(f"/teach/{class_id}?notice=moved&to={target['id']}", status_code=303)


def remove_student_page(request: Request) -> Response:
    """The confirmation: who leaves the class, and what of theirs stays on the kit."""
    viewer = staff_viewer(request)
    found = housekeeping.student_removal(request.app.state.kit.people, viewer, *_ids(request))
    return form_page(request, "remove_confirm.html", account=viewer, what="student", **found)


@posted_form
def remove_student(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id, student_id = _ids(request)
    housekeeping.remove_student(request.app.state.kit.people, viewer, class_id, student_id)
    return RedirectResponse(f"/teach/{class_id}?notice=student_removed", status_code=303)


def class_page(request: Request) -> Response:
    return _class_page(request)


def _class_page(request: Request, status_code: int = 200, **context) -> Response:
    """The class's housekeeping page: its name and grade, its teachers (administrators), removing it."""
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    klass = people.staff_class(kit.people, viewer, request.path_params["class_id"])
    teachers = housekeeping.class_teachers(kit.people, viewer, klass["id"])
    return form_page(
        request, "class_edit.html", status_code=status_code, account=viewer, klass=klass, **teachers, **context
    )


def _class_refused(request: Request, form: FormData, error: TpkitError) -> Response:
    if isinstance(error, AccessDeniedError):  # about who sent it, not what was typed: the error page says so
        raise error
    return _class_page(request, **refused(form, error), refused_form=request.url.path.rsplit("/", 1)[-1])


@posted_form(page=_class_refused)
def rename_class(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    class_id = request.path_params["class_id"]
    housekeeping.rename_class(
        request.app.state.kit.people, viewer, class_id, str(form.get("class_name", "")), str(form.get("grade", ""))
    )
    return RedirectResponse(f"/teach/{class_id}?notice=class_renamed", status_code=303)


@posted_form(page=_class_refused)
def set_teachers(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request, "admin")
    class_id = request.path_params["class_id"]
    chosen = [form_int(value, fix=CLASS_PAGE_FIX) for value in form.getlist("teacher")]
    housekeeping.set_teachers(request.app.state.kit.people, viewer, class_id, chosen)
    return RedirectResponse(f"/teach/{class_id}?notice=teachers", status_code=303)


def remove_class_page(request: Request) -> Response:
    viewer = staff_viewer(request)
    found = housekeeping.class_removal(request.app.state.kit.people, viewer, request.path_params["class_id"])
    return form_page(request, "remove_confirm.html", account=viewer, what="class", **found)


@posted_form
def remove_class(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    housekeeping.remove_class(request.app.state.kit.people, viewer, request.path_params["class_id"])
    return RedirectResponse("/teach?notice=class_removed", status_code=303)


STUDENT = "/teach/{class_id:int}/students/{student_id:int}"
routes = [
    Route("/teach/{class_id:int}/attendance", mark_attendance, methods=["POST"]),
    Route("/teach/{class_id:int}/attendance.csv", attendance_csv),
    Route(STUDENT, student_page),
    Route(f"{STUDENT}/rename", rename_student, methods=["POST"]),
    Route(f"{STUDENT}/move", move_student, methods=["POST"]),
    Route(f"{STUDENT}/remove", remove_student_page),
    Route(f"{STUDENT}/remove", remove_student, methods=["POST"]),
    Route("/teach/{class_id:int}/edit", class_page),
    Route("/teach/{class_id:int}/rename", rename_class, methods=["POST"]),
    Route("/teach/{class_id:int}/teachers", set_teachers, methods=["POST"]),
    Route("/teach/{class_id:int}/remove", remove_class_page),
    Route("/teach/{class_id:int}/remove", remove_class, methods=["POST"]),
]
