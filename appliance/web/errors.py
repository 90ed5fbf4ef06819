"""One handler maps every error to an honest status and to HTML for people or JSON for clients.

Must not import cli.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from appliance.errors import TpkitError
from appliance.web.pages import render

log = logging.getLogger(__name__)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _as_tpkit_error(exc: Exception) -> TpkitError:
    if isinstance(exc, TpkitError):
        return exc
    if isinstance(exc, HTTPException) and exc.status_code == 404:
        error = TpkitError(
            "There is no page at this address.",
            fix="Check the address, or start from the home page.",
            code="request.not_found",
        )
        error.status = 404
        return error
    if isinstance(exc, HTTPException):
        error = TpkitError(str(exc.detail), fix="Check the request.", code="request.bad")
        error.status = exc.status_code
        return error
    return TpkitError(
        "The kit had an internal problem.", fix="Try again; if it persists, see `journalctl -u tpkit-web`."
    )


def render_error(request: Request, exc: Exception) -> Response:
    """The response for any error raised by a route."""
    if isinstance(exc, ClientDisconnect):
        # The client hung up before its body was read (a phone left the Wi-Fi mid-upload): nobody to answer, and
        # not the kit's fault, so no 500 and no traceback in the log (issue 14).
        log.info("%s %s: the client hung up before its request body was read", request.method, request.url.path)
        return Response(status_code=400)
    error = _as_tpkit_error(exc)
    if error.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, error, exc_info=exc)
    if wants_json(request):
        return JSONResponse(error.as_dict(), status_code=error.status)
    header = {"viewer": None} if error.status >= 500 else {}  # a broken database must not break its error page
    return render(request, "error.html", status_code=error.status, error=error, **header)


def exception_handlers() -> dict:
    # ClientDisconnect by name: the `Exception` handler runs in Starlette's ServerErrorMiddleware, which logs and
    # re-raises after answering; a named class is answered by the ExceptionMiddleware alone.
    return {
        TpkitError: render_error,
        HTTPException: render_error,
        ClientDisconnect: render_error,
        Exception: render_error,
    }
