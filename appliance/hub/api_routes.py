"""The kits' API (docs/reporting.md): enrolment and reports; and `GET /metrics` for Prometheus.

Thin routes: read the bounded body, call one hub function in a thread, answer JSON.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from appliance.errors import HubError, ReportError
from appliance.hub import enrolment, fleet, ingest, prometheus
from appliance.services import report_file

MAX_ENROL_BYTES = 4096  # an enrolment is ~200 bytes of JSON


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit`: from Content-Length before
    reading anything, else while streaming, so an endless body costs the hub at most `limit` bytes."""
    def too_large(size: str) -> ReportError:
        error = ReportError(f"The request body is {size} bytes, over the limit of {limit}.", code="report.too_large",
                            fix="Kits split their reports below this size; do not send this file.")
        error.status = 413
        return error

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(declared)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"more than {size}")
        chunks.append(chunk)
    return b"".join(chunks)


async def enrol(request: Request) -> Response:
    raw = await bounded_body(request, MAX_ENROL_BYTES)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubError(f"The enrolment is not JSON ({exc}).", code="hub.invalid",
                       fix="Send {\"kit_id\", \"token\", \"public_key\"} as JSON.") from exc
    data = data if isinstance(data, dict) else {}
    state = request.app.state
    reply, created = await run_in_threadpool(enrolment.enrol, state.db, data.get("kit_id"), data.get("token"),
                                             data.get("public_key"), state.clock())
    return JSONResponse(reply, status_code=201 if created else 200)


async def reports(request: Request) -> Response:
    payload = await bounded_body(request, report_file.MAX_COMPRESSED_BYTES)
    state = request.app.state
    status, reply = await run_in_threadpool(ingest.receive, state.db, request.headers.get(report_file.KIT_HEADER),
                                            payload, request.headers.get(report_file.SIGNATURE_HEADER), state.clock())
    return JSONResponse(reply, status_code=status)


def metrics(request: Request) -> Response:
    state = request.app.state
    states = fleet.kits(state.db, state.clock(), state.settings.hub_silent_after_h)
    total = state.db.query("SELECT count(*) AS n FROM reports")[0]["n"]
    return PlainTextResponse(prometheus.render(states, total), media_type="text/plain; version=0.0.4")


def alive(request: Request) -> Response:
    """Liveness for a load balancer: 200 when this worker can read the database, 503 otherwise."""
    request.app.state.db.query("SELECT 1 AS one")
    return JSONResponse({"status": "ok", "backend": request.app.state.db.backend})


routes = [
    Route("/api/v1/enrol", enrol, methods=["POST"]),
    Route("/api/v1/reports", reports, methods=["POST"]),
    Route("/metrics", metrics),
    Route("/-/alive", alive),
]
