"""The kit's forms: pages holding forms, and numbers sent by them. CSRF and checked forms are webcore's
(webcore/forms.py, shared with the hub's dashboard) and are importable from here as before.

Must not import cli.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import overload

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from appliance.errors import BadRequestError, TpkitError
from appliance.services.people import access as people
from appliance.web.errors import wants_json
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
RefusedPage = Callable[[Request, FormData, TpkitError], Response]
"""Renders a refused form again: the page that holds it, given `refused(form, error)` as its context."""

REFUSED_STATUSES = (400, 403, 409, 413, 422)  # what a person typed or chose was refused: the form comes back


def refused(form: FormData, error: TpkitError) -> dict:
    """The context of a form page shown again after `error`: its status, the error, the field it names ('' for the
    form as a whole), and what was typed (`typed`: text fields, the last value of each; `typed_lists`: every value,
    for repeated fields and checkboxes). A browser cannot be given files back: `files_again` says they must be
    chosen again. Templates show the message with the `beside` macro of refused.html."""
    items = form.multi_items()
    typed = {key: value for key, value in items if isinstance(value, str) and key != "csrf"}
    lists: dict[str, list[str]] = {}
    for key, value in items:
        if isinstance(value, str):
            lists.setdefault(key, []).append(value)
    return {
        "status_code": error.status,
        "error": error,
        "field": error.field,
        "typed": typed,
        "typed_lists": lists,
        "files_again": any(not isinstance(value, str) and value.filename for _, value in items) or error.status == 413,
    }


def _refusable(request: Request, error: TpkitError) -> bool:
    """A person's form refused for what they sent; not an expired form, nor a client that asked for JSON."""
    return error.status in REFUSED_STATUSES and error.code != "auth.forbidden" and not wants_json(request)


def _answer(handler: FormHandler, page: RefusedPage | None, request: Request, form: FormData) -> Response:
    try:
        return handler(request, form)
    except TpkitError as error:
        if page is None or not _refusable(request, error):
            raise
        return page(request, form, error)


Endpoint = Callable[[Request], Awaitable[Response]]


@overload
def posted_form(handler: FormHandler) -> Endpoint: ...
@overload
def posted_form(*, page: RefusedPage) -> Callable[[FormHandler], Endpoint]: ...
def posted_form(
    handler: FormHandler | None = None, *, page: RefusedPage | None = None
) -> Endpoint | Callable[[FormHandler], Endpoint]:
    """A route for a posted form: the form is read and its CSRF token checked (FormExpiredError otherwise), then
    `handler(request, form)` runs in the thread pool, so it is plain blocking code: parse, call a service, render.
    With `page`, a TpkitError the handler raises about what was sent (a 4xx) comes back as the same form:
    `page(request, form, error)` renders it with `refused(form, error)` (what was typed, the message beside the
    field named by `error.field`), and so does a body over FORM_MAX_BYTES, without what was typed (it was not read);
    other errors go to web/errors as before. `@posted_form` or `@posted_form(page=...)`."""

    def decorate(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                form = await checked_form(request)
            except UploadTooLargeError as error:  # over FORM_MAX_BYTES: the form again, nothing of it was read
                if page is None or not _refusable(request, error):
                    raise
                return await run_in_threadpool(page, request, FormData(), error)
            return await run_in_threadpool(_answer, handler, page, request, form)

        return endpoint

    return decorate(handler) if handler is not None else decorate


def posted_upload(
    max_bytes: Callable[[Request], int], *roles: str, max_files: int = 1, page: RefusedPage | None = None
) -> Callable[[FormHandler], Callable[[Request], Awaitable[Response]]]:
    """As `posted_form`, for a multipart form with files (`checked_upload`: at most `max_bytes(request)` bytes);
    the handler reads the files (`upload.file`) while they are open. Only a signed-in account of one of `roles` may
    send one: anyone else is refused before a byte of the body is read or spooled (issue 14). With `page`, as
    `posted_form`; a body too large is refused before it is read, so its form comes back without what was typed."""

    def decorate(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            await run_in_threadpool(_may_post, request, roles)
            try:
                async with checked_upload(request, max_bytes(request), max_files) as form:
                    return await anyio.to_thread.run_sync(
                        _answer, handler, page, request, form, limiter=upload_threads(request)
                    )
            except UploadTooLargeError as error:
                if page is None or not _refusable(request, error):
                    raise
                return await run_in_threadpool(page, request, FormData(), error)

        return endpoint

    return decorate


# A form with files spends most of its time waiting for the disk (the file written and fsynced, the database's commit):
# forty children handing in at the bell would otherwise queue for the web_threads (3) that pages and book search
# share, one fsync after another. Its own threads, one limiter per app, made on its first upload (a limiter belongs to
# the event loop it is made in, the app's).
UPLOAD_THREADS = 8


def upload_threads(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter = getattr(state, "upload_threads", None)
    if limiter is None:
        limiter = state.upload_threads = anyio.CapacityLimiter(UPLOAD_THREADS)
    return limiter


def _may_post(request: Request, roles: tuple[str, ...]) -> None:
    people.require(current_account(request), *roles)
