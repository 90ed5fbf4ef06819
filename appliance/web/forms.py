"""CSRF protection for state-changing forms: a random token in a SameSite cookie and in the form.

Must not import cli. Double-submit: a page on another site can neither read the cookie nor set it.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from appliance.errors import BadRequestError, TpkitError
from appliance.web.pages import render
from appliance.web.session import PRIVATE

CSRF_COOKIE = "tpkit_csrf"


class FormExpiredError(TpkitError, PermissionError):
    """The form's CSRF token is missing or does not match the cookie."""

    code = "auth.forbidden"
    status = 403


def csrf_token(request: Request) -> str:
    """The token to put in a form: the cookie's, or a new one that `remember_csrf` will set."""
    return request.cookies.get(CSRF_COOKIE) or request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(24))


def remember_csrf(request: Request, response: Response) -> Response:
    new = request.state.__dict__.get("new_csrf")
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict")
    return response


async def checked_form(request: Request):
    """The posted form, after checking its CSRF token; FormExpiredError otherwise."""
    return _checked(request, await request.form())


@contextlib.asynccontextmanager
async def checked_upload(request: Request, max_bytes: int, max_files: int = 1):
    """A posted multipart form with a file, CSRF checked, its spooled files closed at the end of the block.
    A body announced larger than `max_bytes` (plus room for the other fields) is refused before it is read."""
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > max_bytes + UPLOAD_FIELDS_BYTES:
        raise UploadTooLargeError(f"The upload has {announced} bytes; at most {max_bytes} are accepted.",
                                  fix="Check that this is the right file.")
    form = await request.form(max_files=max_files)
    try:
        yield _checked(request, form)
    finally:
        await form.close()


UPLOAD_FIELDS_BYTES = 64 * 1024  # the CSRF token, class name and multipart boundaries around the file


class UploadTooLargeError(TpkitError, ValueError):
    """An upload is larger than the form accepts."""

    code = "request.too_large"
    status = 413


def _checked(request: Request, form):
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf", ""))):
        raise FormExpiredError("The form could not be accepted: its security token is missing or old.",
                               cause="The page was open for a long time, or cookies are blocked.",
                               fix="Go back, reload the page and send the form again.")
    return form


def form_page(request: Request, template: str, status_code: int = 200, headers: dict | None = None,
              **context) -> Response:
    """A private page (never cached) holding forms: rendered with this client's CSRF token, which it remembers."""
    response = render(request, template, status_code=status_code, headers={**PRIVATE, **(headers or {})},
                      csrf=csrf_token(request), **context)
    return remember_csrf(request, response)


def form_int(value, fix: str = "Use the buttons on the page.") -> int:
    """A whole number sent by one of the kit's own forms, or BadRequestError (a hand-made request)."""
    try:
        return int(str(value))
    except ValueError:
        raise BadRequestError(f"{value!r} is not a number.", fix=fix) from None


FormHandler = Callable[[Request, FormData], Response]


def posted_form(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """A route for a posted form: the form is read and its CSRF token checked (FormExpiredError otherwise), then
    `handler(request, form)` runs in the thread pool, so it is plain blocking code: parse, call a service, render."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        form = await checked_form(request)
        return await run_in_threadpool(handler, request, form)

    return endpoint


def posted_upload(max_bytes: Callable[[Request], int], max_files: int = 1
                  ) -> Callable[[FormHandler], Callable[[Request], Awaitable[Response]]]:
    """As `posted_form`, for a multipart form with files (`checked_upload`: at most `max_bytes(request)` bytes);
    the handler reads the files (`upload.file`) while they are open."""

    def decorate(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            async with checked_upload(request, max_bytes(request), max_files) as form:
                return await run_in_threadpool(handler, request, form)

        return endpoint

    return decorate
