"""The kit's forms: pages holding forms, and numbers sent by them. CSRF and checked forms are webcore's
(webcore/forms.py, shared with the hub's dashboard) and are importable from here as before.

Must not import cli.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from appliance.errors import BadRequestError
from appliance.services.people import access as people
from appliance.web.pages import render
from appliance.web.session import PRIVATE, current_account
from appliance.webcore.forms import (  # noqa: F401
    CSRF_COOKIE,
    UPLOAD_FIELDS_BYTES,
    FormExpiredError,
    UploadTooLargeError,
    checked_form,
    checked_upload,
    csrf_token,
    remember_csrf,
)


def form_page(
    request: Request, template: str, status_code: int = 200, headers: dict | None = None, **context
) -> Response:
    """A private page (never cached) holding forms: rendered with this client's CSRF token, which it remembers."""
    response = render(
        request,
        template,
        status_code=status_code,
        headers={**PRIVATE, **(headers or {})},
        csrf=csrf_token(request),
        **context,
    )
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


def posted_upload(
    max_bytes: Callable[[Request], int], *roles: str, max_files: int = 1
) -> Callable[[FormHandler], Callable[[Request], Awaitable[Response]]]:
    """As `posted_form`, for a multipart form with files (`checked_upload`: at most `max_bytes(request)` bytes);
    the handler reads the files (`upload.file`) while they are open. Only a signed-in account of one of `roles` may
    send one: anyone else is refused before a byte of the body is read or spooled (issue 14)."""

    def decorate(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            await run_in_threadpool(_may_post, request, roles)
            async with checked_upload(request, max_bytes(request), max_files) as form:
                return await run_in_threadpool(handler, request, form)

        return endpoint

    return decorate


def _may_post(request: Request, roles: tuple[str, ...]) -> None:
    people.require(current_account(request), *roles)
