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

from appliance.errors import BadRequestError, TpkitError

CSRF_COOKIE = "tpkit_csrf"
UPLOAD_FIELDS_BYTES = 64 * 1024  # the CSRF token, class name and multipart boundaries around the file


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
    """The posted form, after checking its CSRF token; FormExpiredError otherwise. A form that takes no file
    refuses a file part (400) instead of spooling it to a temporary file nobody closes (found by fuzzing)."""
    return _checked(request, await request.form(max_files=0))


@contextlib.asynccontextmanager
async def checked_upload(request: Request, max_bytes: int, max_files: int = 1):
    """A posted multipart form with a file, CSRF checked, its spooled files closed at the end of the block.
    A body announced larger than `max_bytes` (plus room for the other fields) is refused before it is read."""
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > max_bytes + UPLOAD_FIELDS_BYTES:
        raise UploadTooLargeError(
            f"The upload has {announced} bytes; at most {max_bytes} are accepted.",
            fix="Check that this is the right file.",
        )
    form = await request.form(max_files=max_files)
    try:
        yield _checked(request, form)
    finally:
        await form.close()


def _checked(request: Request, form):
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf", ""))):
        raise FormExpiredError(
            "The form could not be accepted: its security token is missing or old.",
            cause="The page was open for a long time, or cookies are blocked.",
            fix="Go back, reload the page and send the form again.",
        )
    if any("\x00" in value for _, value in form.multi_items() if isinstance(value, str)):
        # No keyboard types NUL, and the hub's PostgreSQL cannot store or even look up text holding it (a 500 found
        # by tests/security/test_fuzz_endpoints.py): refused for every form of both programs.
        raise BadRequestError("The form holds a NUL character (\\x00).", fix="Type the text instead of pasting it.")
    return form
