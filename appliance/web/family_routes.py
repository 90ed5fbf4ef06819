"""Parents take part (issue 18): the family page inside the child's sign-in (/me/family: homework, marks, comments,
notices, 已阅, a message to the teacher) and the teacher's page of one child's family (messages, signs).

Must not import cli. Plain forms that work without JavaScript; each POST carries a hidden `client_id` the page made
when it was rendered (a phone's outbox sends its own), so the same POST twice stores once and answers the same.
Handlers parse, call services/learning/family (which checks who may), redirect.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import family
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.learn_routes import not_a_child
from appliance.web.people_routes import staff_viewer
from appliance.web.session import current_account

FAMILY_FIX = "Use the buttons on the family page."


def _child(request: Request):
    """The child whose family page this is. SEAM (issue 18 contract): the lead switches the POSTs to
    session.delivering_student (the session or a phone pass) at merge."""
    return current_account(request)


def _answer(delivery: family.Delivery) -> Response:
    """Where a delivery (or the same delivery again) sends the page: back to what it was about."""
    if delivery.kind == "message":
        return RedirectResponse(f"/me/family?notice=message_sent#message-{delivery.thing_id}", status_code=303)
    return RedirectResponse(f"/me/family?notice=signed#{delivery.kind}-{delivery.thing_id}", status_code=303)


def family_page(request: Request) -> Response:
    return not_a_child(current_account(request)) or _family_page(request, notice=request.query_params.get("notice"))


def _family_page(request: Request, status_code: int = 200, **context) -> Response:
    """The page, each form with a fresh delivery id (a refused message keeps the one it was sent with)."""
    found = family.parent_page(request.app.state.kit, current_account(request))
    return form_page(
        request, "me_family.html", status_code, new_id=lambda: secrets.token_urlsafe(16), **found, **context
    )


def _refused_message(request: Request, form: FormData, error: TpkitError) -> Response:
    """The family page again, the message as typed and the reason beside it."""
    return _family_page(request, **refused(form, error))


@posted_form
def sign(request: Request, form: FormData) -> Response:
    what = str(form.get("what", ""))
    thing_id = form_int(form.get("id", ""), fix=FAMILY_FIX)
    delivery = family.sign(
        request.app.state.kit,
        _child(request),
        what,
        thing_id,
        str(form.get("client_id", "")),
        str(form.get("made_at", "")),
    )
    return _answer(delivery)


@posted_form(page=_refused_message)
def send_message(request: Request, form: FormData) -> Response:
    delivery = family.send_message(
        request.app.state.kit,
        _child(request),
        form_int(form.get("class", ""), fix=FAMILY_FIX),
        str(form.get("body", "")),
        str(form.get("client_id", "")),
        str(form.get("made_at", "")),
    )
    return _answer(delivery)


def child_family(request: Request) -> Response:
    """The teacher's page of one child's family: messages (made, arrived, read) and signs."""
    viewer = staff_viewer(request)
    found = family.child_page(
        request.app.state.kit, viewer, request.path_params["class_id"], request.path_params["student_id"]
    )
    return form_page(request, "family_teach.html", account=viewer, notice=request.query_params.get("notice"), **found)


@posted_form
def read_message(request: Request, form: FormData) -> Response:
    class_id, message_id = request.path_params["class_id"], request.path_params["message_id"]
    student_id = family.mark_read(request.app.state.kit, staff_viewer(request), class_id, message_id)
    return RedirectResponse(
        f"/teach/{class_id}/students/{student_id}/family?notice=message_read#message-{message_id}", status_code=303
    )


routes = [
    Route("/me/family", family_page),
    Route("/me/family/sign", sign, methods=["POST"]),
    Route("/me/family/message", send_message, methods=["POST"]),
    Route("/teach/{class_id:int}/students/{student_id:int}/family", child_family),
    Route("/teach/{class_id:int}/family/messages/{message_id:int}/read", read_message, methods=["POST"]),
]
