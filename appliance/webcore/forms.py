"""CSRF protection for state-changing forms: the form's token is an HMAC, under the program's secret key
(webcore/form_key.py), of the sign-in cookie, or before sign-in of a random nonce in a pre-session cookie; the form is
read after its token is checked. Used by the kit's pages (web/forms.py) and the hub's dashboard.

Never imports services, web, hub or cli. Cookies ignore ports, so a page on another port of the same host can write
any cookie: a token is therefore never compared with a cookie, only recomputed from one with a key no page has.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from appliance.errors import BadRequestError, TpkitError

CSRF_COOKIE = "tpkit_csrf"  # the pre-session nonce: what binds the forms posted before sign-in
UPLOAD_FIELDS_BYTES = 64 * 1024  # the CSRF token, class name and multipart boundaries around the file
# A form without files is held in memory whole by Starlette's parser, and is read before anything else is checked.
# The largest real one, a quiz of 50 questions, is under 100 KB; 4 MiB leaves room for long Chinese text
# percent-encoded (9 bytes a character) while a stranger's endless body costs a worker at most that (issue 14).
FORM_MAX_BYTES = 4 * 2**20
# Starlette's parser keeps a file in memory up to 1 MB, then writes it to a temporary file on disk, each 64 KB chunk
# handed to a worker thread: twenty photos at once then queue for the kit's few threads behind the hand-ins being
# saved (bench/teachers_day.py: half of a hand-in's time). A phone's photo (12 MP, ~3-4 MB) is kept in memory while
# this process holds less than UPLOAD_MEMORY_BYTES of such bodies (24 MB: two web workers add at most 48 MB on a 1 GB
# Pi, under tpkit-web's MemoryHigh beside one photo decode each); beyond that, or for a body that does not say its
# length, as before.
UPLOAD_IN_MEMORY_FILE_BYTES = 4 * 2**20
UPLOAD_MEMORY_BYTES = 24 * 2**20


class FormExpiredError(TpkitError, PermissionError):
    """The form's CSRF token is missing, or is not the one its sign-in (or pre-session) cookie makes."""

    code = "auth.forbidden"
    status = 403


class UploadTooLargeError(TpkitError, ValueError):
    """An upload is larger than the form accepts."""

    code = "request.too_large"
    status = 413


@dataclasses.dataclass(frozen=True)
class FormBinding:
    """What a program's CSRF tokens are bound to: its secret key and the name of its sign-in cookie. The program
    puts one in `app.state.form_binding` when it builds its app."""

    key: bytes
    session_cookie: str


def csrf_token(request: Request) -> str:
    """The token to put in a form: bound to this request's sign-in cookie, or to its pre-session nonce (a new one
    that `remember_csrf` will set when there is none)."""
    token = _expected(request)
    if token:
        return token
    nonce = request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(24))
    return _mac(_binding(request).key, "pre-session", nonce)


def remember_csrf(request: Request, response: Response) -> Response:
    """Set the pre-session cookie of a nonce `csrf_token` made for this response's forms."""
    new = request.state.__dict__.get("new_csrf")
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict")
    return response


async def checked_form(request: Request):
    """The posted form, after checking its CSRF token; FormExpiredError otherwise. At most FORM_MAX_BYTES are read
    (UploadTooLargeError, 413), and a file in it is refused (400), not spooled: forms with files use `checked_upload`."""
    # One field may fill the whole body: Starlette's own cap of 1 MB a field would refuse a long pasted quiz (100,000
    # Chinese characters percent-encoded) with its English sentence, under FORM_MAX_BYTES, which bounds it already.
    form = await _counted(request, FORM_MAX_BYTES, FORM_MAX_BYTES).form(max_files=0, max_part_size=FORM_MAX_BYTES)
    return _checked(request, form)


@contextlib.asynccontextmanager
async def checked_upload(request: Request, max_bytes: int, max_files: int = 1, csrf: bool = True):
    """A posted multipart form with a file, CSRF checked (`csrf` False: a phone's delivery that carries its pass in
    `Authorization`, which no other site's page can send), its spooled files closed at the end of the block.
    The caller checks first that the sender may post here at all (a session): nothing of the body is read before.
    The body is counted as it arrives (a chunked body announces no length, and an announced one may lie) and
    UploadTooLargeError stops it at `max_bytes` plus room for the other fields, so at most that much is spooled."""
    limit = max_bytes + UPLOAD_FIELDS_BYTES
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise _too_large(max_bytes)
    held = int(announced) if announced.isdigit() and _in_memory.take(int(announced)) else 0
    try:
        form = await _parsed(_counted(request, limit, max_bytes), max_files, held > 0)
        try:
            yield _checked(request, form) if csrf else _no_nul(form)
        finally:
            await form.close()
    finally:
        _in_memory.give(held)


class _MemoryHeld:
    """Bytes of upload bodies this process keeps in memory; only the event loop changes it, so it needs no lock."""

    def __init__(self, most: int) -> None:
        self.most, self.now = most, 0

    def take(self, size: int) -> bool:
        if self.now + size > self.most:
            return False
        self.now += size
        return True

    def give(self, size: int) -> None:
        self.now -= size


_in_memory = _MemoryHeld(UPLOAD_MEMORY_BYTES)


class _FilesInMemory(MultiPartParser):
    """Starlette's multipart parser, keeping each file in memory up to UPLOAD_IN_MEMORY_FILE_BYTES."""

    spool_max_size = UPLOAD_IN_MEMORY_FILE_BYTES


async def _parsed(request: Request, max_files: int, in_memory: bool) -> FormData:
    """The multipart form of `request` (as `Request.form` reads it: a 400 for a malformed body), its files kept in
    memory when `in_memory`; any other body through `Request.form`."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not in_memory or kind != "multipart/form-data":
        return await request.form(max_files=max_files)
    try:
        return await _FilesInMemory(request.headers, request.stream(), max_files=max_files).parse()
    except MultiPartException as exc:
        raise HTTPException(status_code=400, detail=exc.message) from exc


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
    expected = _expected(request)
    if not expected or not hmac.compare_digest(expected, str(form.get("csrf", ""))):
        raise FormExpiredError(
            "The form could not be accepted: its security token is missing or old.",
            cause="The page was open for a long time, you signed in or out since, or cookies are blocked.",
            fix="Go back, reload the page and send the form again.",
        )
    return _no_nul(form)


def _no_nul(form):
    if any("\x00" in value for _, value in form.multi_items() if isinstance(value, str)):
        # No keyboard types NUL, and the hub's PostgreSQL cannot store or even look up text holding it (a 500 found
        # by tests/security/test_fuzz_endpoints.py): refused for every form of both programs.
        raise BadRequestError("The form holds a NUL character (\\x00).", fix="Type the text instead of pasting it.")
    return form


def check_header_token(request: Request) -> None:
    """A request a page's script sends (a chunk of a file, not a form) carries the form's token in `X-CSRF-Token`: a
    header another site's page cannot set without the kit's consent (CORS). FormExpiredError otherwise."""
    expected = _expected(request)
    if not expected or not hmac.compare_digest(expected, request.headers.get("x-csrf-token", "")):
        raise FormExpiredError(
            "The request could not be accepted: its security token is missing or old.",
            cause="The page was open for a long time, or you signed in or out since.",
            fix="Reload the page and send the file again.",
        )


def _expected(request: Request) -> str:
    """The token a form posted with this request's cookies must carry; empty when it has neither cookie. A signed-in
    request's token comes from its sign-in cookie alone, so a planted pre-session cookie changes nothing."""
    binding = _binding(request)
    session = request.cookies.get(binding.session_cookie)
    if session:
        return _mac(binding.key, "session", session)
    nonce = request.cookies.get(CSRF_COOKIE)
    return _mac(binding.key, "pre-session", nonce) if nonce else ""


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}\n{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _binding(request: Request) -> FormBinding:
    binding = getattr(request.app.state, "form_binding", None)
    if not isinstance(binding, FormBinding):
        raise TypeError("app.state.form_binding is not set: the program must bind its forms when it builds its app")
    return binding
