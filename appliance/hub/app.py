"""The hub's ASGI application: the kits' API, metrics and the technicians' dashboard, with one error handler.

Only cli (and `hub.asgi`, which uvicorn imports by name) import this module. The app keeps no state of its own
beyond the database handle, so any number of worker processes can serve it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from appliance.errors import TpkitError
from appliance.hub import api_routes, dashboard_routes, review_routes
from appliance.hub.pages import render
from appliance.hub.settings import HubSettings
from appliance.webcore import form_key
from appliance.webcore.forms import FormBinding

log = logging.getLogger(__name__)


def _as_error(exc: Exception) -> TpkitError:
    if isinstance(exc, TpkitError):
        return exc
    if isinstance(exc, HTTPException):
        error = TpkitError(
            str(exc.detail),
            fix="Check the address and the method.",
            code="request.not_found" if exc.status_code == 404 else "request.bad",
        )
        error.status = exc.status_code
        return error
    return TpkitError(
        "The hub had an internal problem.", fix="Try again; if it persists, see `journalctl -u tpkit-hub`."
    )


def handle_error(request: Request, exc: Exception) -> Response:
    """Honest status; JSON for the API and JSON clients, a page for people."""
    error = _as_error(exc)
    if error.status == 503:
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
    elif error.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, error, exc_info=exc)
    accept = request.headers.get("accept", "")
    if request.url.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept):
        headers = {"Retry-After": "60"} if error.status == 503 else None
        return JSONResponse(error.as_dict(), status_code=error.status, headers=headers)
    return render(request, "error.html", status_code=error.status, error=error)


class Hub:
    """The ASGI app uvicorn serves: kits' reports (the hub's one busy request, thousands a second for a province)
    go straight to their handler; everything else, lifespan included, through Starlette. Errors answer as
    Starlette's would (`handle_error`)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != api_routes.REPORTS_PATH:
            await self.app(scope, receive, send)
            return
        try:
            response = await api_routes.reports_asgi(scope, receive, self.state)
        except ClientDisconnect:
            return  # the kit hung up before its report arrived: nothing was stored, nobody to answer
        except Exception as exc:  # noqa: BLE001 - every failure gets its honest status, as through Starlette
            response = handle_error(Request(scope), exc)
        await response(scope, receive, send)


def create_app(settings: HubSettings, db, clock: Callable[[], float] = time.time) -> Hub:
    """The hub app on an open (and migrated) database; `clock` is Unix seconds (tests pass their own)."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Bounds this worker's threads for every request but reports, which have their own
        # (report_groups.IN_FLIGHT); database connections are bounded apart (hub_database_pool_size).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.hub_threads
        yield
        groups = getattr(app.state, "report_groups", None)
        if groups is not None:
            app.state.report_groups = None
            groups.close()
        db.close()

    app = Starlette(
        routes=[*api_routes.routes, *dashboard_routes.routes, *review_routes.routes],
        lifespan=lifespan,
        exception_handlers={TpkitError: handle_error, HTTPException: handle_error, Exception: handle_error},
    )
    app.state.settings, app.state.db, app.state.clock = settings, db, clock
    app.state.form_binding = FormBinding(
        form_key.load_or_create(settings.hub_data_dir / "form-key"), dashboard_routes.SESSION_COOKIE
    )
    return Hub(app)
