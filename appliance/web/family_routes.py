"""Parents take part (issue 18): the family page inside the child's sign-in (/me/family: homework, marks, comments,
notices, 已阅, a message to the teacher) and the teacher's page of one child's family (messages, signs).

Must not import cli. Plain forms that work without JavaScript; each POST carries a hidden `client_id` the page made
when it was rendered (a phone's outbox sends its own), so the same POST twice stores once and answers the same.
Handlers parse, call services/learning/family (which checks who may), redirect. On a phone holding the child's pass
the outbox (static/phone.js) delivers the same POSTs with `Authorization: Bearer`, as it does hand-ins: the child is
the pass's, and the answer is JSON (issue 18, "delivered with the next classroom visit").
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import deliveries, family
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.learn_routes import not_a_child
from appliance.web.people_routes import staff_viewer
from appliance.web.phone_routes import deliverer, refused_delivery
from appliance.web.session import PRIVATE, bearer_token, current_account
from appliance.webcore.forms import checked_upload

FAMILY_FIX = "Use the buttons on the family page."
FAMILY_FORM_MAX_BYTES = 16 * 1024  # a sign, or a message of MESSAGE_MAX_CHARS, with the outbox's fields

Deliver = Callable[[Request, FormData, Any, "float | None"], family.Delivery]  # (request, form, child, pass issued)


def _place(delivery: family.Delivery) -> str:
    """Where a delivery (or the same delivery again) sends the page: back to what it was about."""
    if delivery.kind == "message":
        return f"/me/family?notice=message_sent#message-{delivery.thing_id}"
    return f"/me/family?notice=signed#{delivery.kind}-{delivery.thing_id}"


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


def _sign(request: Request, form: FormData, child, pass_made_at: float | None) -> family.Delivery:
    thing_id = form_int(form.get("id", ""), fix=FAMILY_FIX)
    what, client_id, made_at = (str(form.get(key, "")) for key in ("what", "client_id", "made_at"))
    return family.sign(request.app.state.kit, child, what, thing_id, client_id, made_at, pass_made_at=pass_made_at)


def _message(request: Request, form: FormData, child, pass_made_at: float | None) -> family.Delivery:
    class_id = form_int(form.get("class", ""), fix=FAMILY_FIX)
    body, client_id, made_at = (str(form.get(key, "")) for key in ("body", "client_id", "made_at"))
    return family.send_message(
        request.app.state.kit, child, class_id, body, client_id, made_at, pass_made_at=pass_made_at
    )


def _delivered(deliver: Deliver, page=None) -> Callable[[Request], Awaitable[Response]]:
    """A family POST two ways: the page's plain form in the child's session (CSRF checked; 303 back to the page, a
    refused message shown again by `page`), or the phone's outbox with the child's pass in `Authorization` (no CSRF:
    no other site's page can send that header; the queued item names its child, which must be the pass's; JSON
    answered as for a hand-in, a refusal with its sentence)."""

    def plain(request: Request, form: FormData) -> Response:
        return RedirectResponse(_place(deliver(request, form, *deliverer(request, ""))), status_code=303)

    plain_post = posted_form(plain) if page is None else posted_form(page=page)(plain)

    async def endpoint(request: Request) -> Response:
        token = bearer_token(request)
        if not token:
            return await plain_post(request)
        try:
            child, pass_made_at = await run_in_threadpool(deliverer, request, token)
            async with checked_upload(request, FAMILY_FORM_MAX_BYTES, 0, csrf=False) as form:
                deliveries.check_child(child, str(form.get("student", "")))
                delivery = await run_in_threadpool(deliver, request, form, child, pass_made_at)
        except TpkitError as error:
            return refused_delivery(request, error)
        return JSONResponse({"delivered": True, "at": _place(delivery)}, headers=PRIVATE)

    return endpoint


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
    Route("/me/family/sign", _delivered(_sign), methods=["POST"]),
    Route("/me/family/message", _delivered(_message, page=_refused_message), methods=["POST"]),
    Route("/teach/{class_id:int}/students/{student_id:int}/family", child_family),
    Route("/teach/{class_id:int}/family/messages/{message_id:int}/read", read_message, methods=["POST"]),
]
