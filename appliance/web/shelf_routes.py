"""The 内容 page (`/books`): the books this kit holds, for teachers and the administrator: take one off the shelf and
put it back, remove one that came in unsigned, see damaged files and the books waiting for approval (issue 17).
services/library/shelf.py says who may do what. Must not import cli.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError, UploadRefusedError
from appliance.web import i18n
from appliance.web.forms import form_page, posted_form, upload_threads
from appliance.web.people_routes import staff_viewer
from appliance.webcore.forms import check_header_token
from appliance.webcore.i18n import choose_language

REFRESH_S = 3  # while a stick is being imported
CHUNK_BYTES = 4 * 2**20  # what the page's script sends at once (book_uploads.CHUNK_MAX_BYTES is the most taken)
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)|bytes \*/(\d+)")


def shelf_page(request: Request, status_code: int = 200, **refused) -> Response:
    from appliance.services.library import approval, shelf  # here: a web worker starts without them (issue 15)
    from appliance.services.sync import stick_status

    viewer = staff_viewer(request)
    kit = request.app.state.kit
    library = kit.load_library()
    stick = stick_status.latest(kit.paths)
    importing = stick is not None and stick["state"] == stick_status.IMPORTING
    return form_page(
        request,
        "books.html",
        status_code=status_code,
        headers={"Refresh": str(REFRESH_S)} if importing else None,  # the progress bar moves without JavaScript
        account=viewer,
        stick=stick,
        chunk_bytes=CHUNK_BYTES,
        books=shelf.listing(kit.db, library),
        damaged=library.damaged(),
        checking=library.pending(),
        waiting=approval.waiting_books(kit.db, kit.paths),
        notice=request.query_params.get("notice"),
        notice_title=request.query_params.get("title", ""),
        freed=int(freed) if (freed := request.query_params.get("freed", "")).isdigit() else 0,
        **refused,
    )


def _refused(request: Request, form: FormData, error: TpkitError) -> Response:
    """The list again, the message beside the book it is about (at the top when that book is gone)."""
    return shelf_page(request, error.status, error=error, error_for=request.path_params["name"])


def _done(notice: str, title: str) -> Response:
    return RedirectResponse(f"/books?notice={notice}&title={quote(title)}", status_code=303)


@posted_form(page=_refused)
def take_off(request: Request, form: FormData) -> Response:
    from appliance.services.library import shelf

    kit = request.app.state.kit
    book = shelf.take_off(kit.paths, kit.load_library(), staff_viewer(request), request.path_params["name"])
    return _done("off", book.title)


@posted_form(page=_refused)
def put_back(request: Request, form: FormData) -> Response:
    from appliance.services.library import shelf

    kit = request.app.state.kit
    book = shelf.put_back(kit.paths, kit.load_library(), staff_viewer(request), request.path_params["name"])
    return _done("on", book.title)


def confirm_remove(request: Request) -> Response:
    from appliance.services.library import shelf

    viewer = staff_viewer(request)
    kit = request.app.state.kit
    name = request.path_params["name"]
    found = [b for b in shelf.listing(kit.db, kit.load_library()) if b.name == name]
    if not found:
        return RedirectResponse("/books?notice=gone", status_code=303)
    return form_page(request, "book_remove.html", account=viewer, book=found[0])


@posted_form(page=_refused)
def remove(request: Request, form: FormData) -> Response:
    from appliance.services.library import shelf

    kit = request.app.state.kit
    book = shelf.remove(kit.settings, kit.db, kit.load_library(), staff_viewer(request), request.path_params["name"])
    return RedirectResponse(f"/books?notice=removed&title={quote(book.title)}&freed={book.size_bytes}", 303)


def _said(request: Request, status: int, key: str, **values) -> JSONResponse:
    """A JSON answer for the page's script, with the sentence to show in the reader's language."""
    lang = choose_language(request, request.app.state.kit.settings.default_language)
    return JSONResponse({**values, "text": i18n.MESSAGES.text(lang, key, **values)}, status_code=status)


def _refused_upload(request: Request, error: TpkitError) -> JSONResponse:
    extra = {"received": error.received} if hasattr(error, "received") else {}
    return _said(request, error.status, f"error.{error.code}", code=error.code, **extra)


def _bad_chunk(why: str) -> UploadRefusedError:
    return UploadRefusedError(
        f"A chunk of a book was refused: {why}",
        code="book_upload.bad_request",
        fix="Reload the 内容 page and choose the file again (the page sends it in chunks by itself).",
    )


async def upload_status(request: Request) -> Response:
    """How much of a file (`?total=` bytes) the kit holds: where the page's script resumes."""
    from appliance.services.library import book_uploads

    total = request.query_params.get("total", "")
    try:
        viewer = await run_in_threadpool(staff_viewer, request)
        held = book_uploads.received(
            request.app.state.kit.paths, viewer, request.path_params["upload_id"], int(total) if total.isdigit() else 0
        )
    except UploadRefusedError as error:
        return _refused_upload(request, error)
    return JSONResponse({"received": held})


async def upload_chunk(request: Request) -> Response:
    """One chunk of a `.zim` from a laptop (`Content-Range: bytes a-b/total`, the name in `X-File-Name`): who may send
    and the token are checked before a byte is read, and at most one chunk is read."""
    from urllib.parse import unquote

    from appliance.services.library import book_uploads

    viewer = await run_in_threadpool(staff_viewer, request)
    check_header_token(request)
    found = _RANGE.fullmatch(request.headers.get("content-range", ""))
    if found is None:
        return _refused_upload(request, _bad_chunk("It has no Content-Range header saying where the chunk goes."))
    start, total = (int(found[1]), int(found[3])) if found[1] else (int(found[4]), int(found[4]))
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > book_uploads.CHUNK_MAX_BYTES:
            return _refused_upload(request, _bad_chunk(f"It is over {book_uploads.CHUNK_MAX_BYTES} bytes."))
    kit = request.app.state.kit
    name = unquote(request.headers.get("x-file-name", ""))
    try:
        done = await anyio.to_thread.run_sync(
            lambda: book_uploads.receive_chunk(
                kit.settings,
                kit.db,
                kit.paths,
                viewer,
                request.path_params["upload_id"],
                name,
                start,
                total,
                bytes(body),
            ),
            limiter=upload_threads(request),
        )
    except TpkitError as error:
        if error.code == "sync.busy":
            return _said(request, 503, "upload_book.busy", code=error.code)
        return _refused_upload(request, error)
    if done.held is None:
        return JSONResponse({"received": done.received, "total": done.total, "done": False})
    outcome = done.held.outcome
    return _said(
        request,
        200,
        f"upload_book.{outcome}",
        received=done.received,
        total=done.total,
        done=True,
        outcome=outcome,
        name=name,
    )


routes = [
    Route("/books", shelf_page, methods=["GET"]),
    Route("/books/{name}/off", take_off, methods=["POST"]),
    Route("/books/{name}/on", put_back, methods=["POST"]),
    Route("/books/{name}/remove", confirm_remove, methods=["GET"]),
    Route("/books/{name}/remove", remove, methods=["POST"]),
    Route("/books/uploads/{upload_id}", upload_status, methods=["GET"]),
    Route("/books/uploads/{upload_id}", upload_chunk, methods=["PUT"]),
]
