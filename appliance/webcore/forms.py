"""CSRF protection for state-changing forms: a random token in a SameSite cookie and in the form; the form read
after its token is checked. Used by the kit's pages (web/forms.py) and the hub's dashboard.

Never imports services, web, hub or cli. Double-submit: a page on another site can neither read the cookie nor set it.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from appliance.errors import TpkitError

CSRF_COOKIE = "tpkit_csrf"
UPLOAD_FIELDS_BYTES = 64 * 1024  # the CSRF token, class name and multipart boundaries around the file
# A form without files is held in memory whole by Starlette's parser, and is read before anything else is checked.
# The largest real one, a quiz of 50 questions, is under 100 KB; 4 MiB leaves room for long Chinese text
# percent-encoded (9 bytes a character) while a stranger's endless body costs a worker at most that (issue 14).
FORM_MAX_BYTES = 4 * 2**20


class FormExpiredError(TpkitError, PermissionError):
    """The form's CSRF token is missing or does not match the cookie."""

    code = "auth.forbidden"
    status = 403


class UploadTooLargeError(TpkitError, ValueError):
    """An upload is larger than the form accepts."""

    code = "request.too_large"
    status = 413


def csrf_token(request: Request) -> str:
    """The token to put in a form: the cookie's, or a new one that `remember_csrf` will set."""
    return request.cookies.get(CSRF_COOKIE) or request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(24))


def remember_csrf(request: Request, response: Response) -> Response:
    """Set the cookie of a token `csrf_token` made for this response's forms."""
    new = request.state.__dict__.get("new_csrf")
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict")
    return response


async def checked_form(request: Request):
    """The posted form, after checking its CSRF token; FormExpiredError otherwise. At most FORM_MAX_BYTES are read
    (UploadTooLargeError, 413), and a file in it is refused (400), not spooled: forms with files use `checked_upload`."""
    return _checked(request, await _counted(request, FORM_MAX_BYTES, FORM_MAX_BYTES).form(max_files=0))


@contextlib.asynccontextmanager
async def checked_upload(request: Request, max_bytes: int, max_files: int = 1):
    """A posted multipart form with a file, CSRF checked, its spooled files closed at the end of the block.
    The caller checks first that the sender may post here at all (a session): nothing of the body is read before.
    The body is counted as it arrives (a chunked body announces no length, and an announced one may lie) and
    UploadTooLargeError stops it at `max_bytes` plus room for the other fields, so at most that much is spooled."""
    limit = max_bytes + UPLOAD_FIELDS_BYTES
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise _too_large(max_bytes)
    form = await _counted(request, limit, max_bytes).form(max_files=max_files)
    try:
        yield _checked(request, form)
    finally:
        await form.close()


def _counted(request: Request, limit: int, max_bytes: int) -> Request:
    """The same request, its body counted chunk by chunk as the multipart parser pulls it: UploadTooLargeError once
    more than `limit` bytes arrived, before the parser spools them."""
    receive, seen = request.receive, 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _too_large(max_bytes)
        return message

    return Request(request.scope, counted)


def _too_large(max_bytes: int) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"What was sent is larger than {max_bytes // 2**20} MB, the most this form accepts.",
        fix="Send a smaller file, or fewer files at once.",
    )


def _checked(request: Request, form):
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf", ""))):
        raise FormExpiredError(
            "The form could not be accepted: its security token is missing or old.",
            cause="The page was open for a long time, or cookies are blocked.",
            fix="Go back, reload the page and send the form again.",
        )
    return form
