"""Books waiting for approval (`/admin/books`): unsigned books from USB sticks, enabled or removed by a teacher or
the administrator (services/library/approval.py says who may do what). Must not import cli.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.services.library import approval
from appliance.web.forms import form_page, posted_form
from appliance.web.people_routes import staff_viewer


def waiting_page(request: Request) -> Response:
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    return form_page(
        request,
        "admin_books.html",
        account=viewer,
        waiting=approval.waiting_books(kit.db, kit.paths),
        notice=request.query_params.get("notice"),
    )


@posted_form
def enable(request: Request, form: FormData) -> Response:
    kit = request.app.state.kit
    approval.enable(kit.settings, kit.db, staff_viewer(request), request.path_params["waiting_id"])
    if kit.library is not None:
        kit.library.refresh()  # this worker serves it at once; the others at their next scan
    return RedirectResponse("/admin/books?notice=enabled", status_code=303)


@posted_form
def remove(request: Request, form: FormData) -> Response:
    kit = request.app.state.kit
    approval.reject(kit.settings, kit.db, staff_viewer(request), request.path_params["waiting_id"])
    return RedirectResponse("/admin/books?notice=removed", status_code=303)


routes = [
    Route("/admin/books", waiting_page, methods=["GET"]),
    Route("/admin/books/{waiting_id:int}/enable", enable, methods=["POST"]),
    Route("/admin/books/{waiting_id:int}/remove", remove, methods=["POST"]),
]
