"""The 内容 page (`/books`): the books this kit holds, for teachers and the administrator: take one off the shelf and
put it back, remove one that came in unsigned, see damaged files and the books waiting for approval (issue 17).
services/library/shelf.py says who may do what. Must not import cli.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.web.forms import form_page, posted_form
from appliance.web.people_routes import staff_viewer

REFRESH_S = 3  # while a stick is being imported


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


routes = [
    Route("/books", shelf_page, methods=["GET"]),
    Route("/books/{name}/off", take_off, methods=["POST"]),
    Route("/books/{name}/on", put_back, methods=["POST"]),
    Route("/books/{name}/remove", confirm_remove, methods=["GET"]),
    Route("/books/{name}/remove", remove, methods=["POST"]),
]
