"""Books waiting for approval (`/admin/books`): unsigned books from USB sticks, enabled or removed by a teacher or
the administrator (services/library/approval.py says who may do what). Must not import cli.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import AccessDeniedError, NotVisibleError, SyncError
from appliance.web.forms import form_page, posted_form
from appliance.web.people_routes import staff_viewer

BUSY_RETRY_S = 60  # a sync holds the lock; most runs with nothing to fetch end within a minute


def waiting_page(request: Request, status_code: int = 200, **refused) -> Response:
    from appliance.services.library import approval  # here: a web worker starts without it (issue 15)

    viewer = staff_viewer(request)
    kit = request.app.state.kit
    return form_page(
        request,
        "admin_books.html",
        status_code=status_code,
        account=viewer,
        waiting=approval.waiting_books(kit.db, kit.paths),
        notice=request.query_params.get("notice"),
        **refused,
    )


def _refused(request: Request, exc: AccessDeniedError | NotVisibleError | SyncError) -> Response:
    """The list again with the message beside the book it is about (at the top when that book is gone)."""
    busy = exc.code == "sync.busy"  # a sync run holds the lock: try again shortly
    response = waiting_page(
        request, 503 if busy else exc.status, error=exc, error_for=request.path_params["waiting_id"]
    )
    if busy:
        response.headers["Retry-After"] = str(BUSY_RETRY_S)
    return response


@posted_form
def enable(request: Request, form: FormData) -> Response:
    from appliance.services.library import approval  # here: a web worker starts without it (issue 15)

    kit = request.app.state.kit
    viewer = staff_viewer(request)  # a pupil's 403 is the error page, not the list
    try:
        approval.enable(kit.settings, kit.db, viewer, request.path_params["waiting_id"])
    except (AccessDeniedError, NotVisibleError, SyncError) as exc:
        return _refused(request, exc)
    if kit.library is not None:
        kit.library.refresh()  # this worker serves it at once; the others at their next scan
    return RedirectResponse("/admin/books?notice=enabled", status_code=303)


@posted_form
def remove(request: Request, form: FormData) -> Response:
    from appliance.services.library import approval  # here: a web worker starts without it (issue 15)

    kit = request.app.state.kit
    viewer = staff_viewer(request)
    try:
        approval.reject(kit.settings, kit.db, viewer, request.path_params["waiting_id"])
    except (NotVisibleError, SyncError) as exc:
        return _refused(request, exc)
    return RedirectResponse("/admin/books?notice=removed", status_code=303)


routes = [
    Route("/admin/books", waiting_page, methods=["GET"]),
    Route("/admin/books/{waiting_id:int}/enable", enable, methods=["POST"]),
    Route("/admin/books/{waiting_id:int}/remove", remove, methods=["POST"]),
]
