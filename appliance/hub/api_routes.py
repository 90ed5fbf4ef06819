"""The kits' API (docs/reporting.md): enrolment and reports; and `GET /metrics` for Prometheus.

Thin routes: read the bounded body, call one hub function in a thread, answer JSON. `POST /api/v1/reports`, what
every kit sends every 15 minutes, is a bare ASGI handler (`reports_asgi`, called by `app.Hub` before Starlette's
middleware, routing and Request objects); the other routes are Starlette's.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from appliance import strict_json
from appliance.errors import HubError, ReportError
from appliance.hub import enrolment, fleet, prometheus
from appliance.hub.report_groups import ReportGroups
from appliance.protocol import report_file

MAX_ENROL_BYTES = 4096  # an enrolment is ~200 bytes of JSON
REPORTS_PATH = "/api/v1/reports"
_KIT_HEADER, _SIGNATURE_HEADER = report_file.KIT_HEADER.lower().encode(), report_file.SIGNATURE_HEADER.lower().encode()


def _too_large(size: str, limit: int) -> ReportError:
    error = ReportError(
        f"The request body is {size} bytes, over the limit of {limit}.",
        code="report.too_large",
        fix="Kits split their reports below this size; do not send this file.",
    )
    error.status = 413
    return error


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit`: from Content-Length before
    reading anything, else while streaming, so an endless body costs the hub at most `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(declared, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {size}", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _header(scope, name: bytes) -> str | None:
    """The first value of a request header (names arrive lower-case from the server), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _asgi_body(scope, receive, limit: int) -> bytes:
    """`bounded_body` for a bare ASGI request: the same 413s, ClientDisconnect when the kit hangs up."""
    declared = _header(scope, b"content-length") or ""
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(declared, limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {size}", limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def report_groups(state) -> ReportGroups:
    """This worker's queue of reports (made at the first report, closed with the app)."""
    groups = getattr(state, "report_groups", None)
    if groups is None:
        groups = state.report_groups = ReportGroups(state.db)
    return groups


async def reports_asgi(scope, receive, state) -> Response:
    """`POST /api/v1/reports` (docs/reporting.md): the reply, or a TpkitError for the app's error handler."""
    payload = await _asgi_body(scope, receive, report_file.MAX_COMPRESSED_BYTES)
    status, reply = await report_groups(state).receive(
        (_header(scope, _KIT_HEADER), payload, _header(scope, _SIGNATURE_HEADER), state.clock())
    )
    return JSONResponse(reply, status_code=status)


async def enrol(request: Request) -> Response:
    raw = await bounded_body(request, MAX_ENROL_BYTES)
    try:
        data = strict_json.loads(raw)
    except ValueError as exc:  # not UTF-8, not JSON, NaN/Infinity, or nested deeper than an enrolment (issue 14)
        raise HubError(
            f"The enrolment is not JSON ({exc}).",
            code="hub.invalid",
            fix='Send {"kit_id", "token", "public_key"} as JSON.',
        ) from exc
    data = data if isinstance(data, dict) else {}
    state = request.app.state
    reply, created = await run_in_threadpool(
        enrolment.enrol, state.db, data.get("kit_id"), data.get("token"), data.get("public_key"), state.clock()
    )
    return JSONResponse(reply, status_code=201 if created else 200)


async def reports(request: Request) -> Response:
    """The same through Starlette: what a request reaches when it did not come through `app.Hub`."""
    return await reports_asgi(request.scope, request.receive, request.app.state)


def metrics(request: Request) -> Response:
    state = request.app.state
    settings, now = state.settings, state.clock()
    districts = fleet.district_counts(state.db, now, settings.hub_silent_after_h, settings.hub_old_content_days)
    kits = sum(sum(counts.values()) for counts in districts.values())
    states = fleet.kits(
        state.db,
        now,
        settings.hub_silent_after_h,
        alerting=prometheus.only_alerting(settings.hub_metrics_kits, kits),
        old_content_days=settings.hub_old_content_days,
    )
    received = fleet.reports_received(state.db)
    return PlainTextResponse(prometheus.render(states, districts, received), media_type="text/plain; version=0.0.4")


def alive(request: Request) -> Response:
    """Liveness for a load balancer: 200 when this worker can read the database, 503 otherwise."""
    fleet.check_database(request.app.state.db)
    return JSONResponse({"status": "ok", "backend": request.app.state.db.backend})


routes = [
    Route("/api/v1/enrol", enrol, methods=["POST"]),
    Route(REPORTS_PATH, reports, methods=["POST"]),
    Route("/metrics", metrics),
    Route("/-/alive", alive),
]
