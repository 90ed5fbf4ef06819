"""The health snapshot for machines: JSON for the panel and the hub, Prometheus text for a scraper.

Must not import cli. Plain `def` routes: reading the snapshot runs commands and reads /proc, so it runs
in Starlette's thread pool, never on the event loop.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appliance.services.device import health
from appliance.web.metrics import CONTENT_TYPE, exposition

NO_STORE = {"Cache-Control": "no-store"}


def current(request: Request) -> dict:
    """The snapshot with this process's request count."""
    return health.snapshot(request.app.state.kit, requests_served=request.app.state.requests.total)


def health_json(request: Request) -> Response:
    # 200 even when status is "warning" or "critical": the kit answered and the body is the report;
    # the panel and the hub read `status` (docs/health.md).
    return JSONResponse(current(request), headers=NO_STORE)


def metrics(request: Request) -> Response:
    return Response(exposition(current(request)), media_type=CONTENT_TYPE, headers=NO_STORE)


routes = [Route("/-/health", health_json), Route("/metrics", metrics)]
