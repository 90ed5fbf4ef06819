"""Class notices (通知): the teacher's form and list on the class page (notices_teach.html, included by
teach_class.html), taking a notice back, and the child's "知道了" on My space.

Must not import cli. Handlers parse, call services/learning/notices (which checks who may), redirect.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import notices
from appliance.web.forms import form_int, posted_form, refused
from appliance.web.people_routes import CLASS_PAGE_FIX, class_page, staff_viewer
from appliance.web.session import current_account


def _refused_notice(request: Request, form: FormData, error: TpkitError) -> Response:
    """The class page again, the notice as typed and the message beside it."""
    return class_page(request, staff_viewer(request), **refused(form, error))


@posted_form(page=_refused_notice)
def post_notice(request: Request, form: FormData) -> Response:
    class_id = request.path_params["class_id"]
    student = form.get("student", "")
    student_id = form_int(student, fix=CLASS_PAGE_FIX) if student else None
    notices.post(request.app.state.kit, staff_viewer(request), class_id, str(form.get("body", "")), student_id)
    return RedirectResponse(f"/teach/{class_id}?notice=notice_posted#notices", status_code=303)


@posted_form
def remove_notice(request: Request, form: FormData) -> Response:
    class_id = notices.remove(request.app.state.kit, staff_viewer(request), request.path_params["notice_id"])
    return RedirectResponse(f"/teach/{class_id}?notice=notice_removed#notices", status_code=303)


@posted_form
def read_notice(request: Request, form: FormData) -> Response:
    notices.mark_read(request.app.state.kit, current_account(request), request.path_params["notice_id"])
    return RedirectResponse("/me#notices", status_code=303)


routes = [
    Route("/teach/{class_id:int}/notices", post_notice, methods=["POST"]),
    Route("/teach/notices/{notice_id:int}/delete", remove_notice, methods=["POST"]),
    Route("/me/notices/{notice_id:int}/read", read_notice, methods=["POST"]),
]
