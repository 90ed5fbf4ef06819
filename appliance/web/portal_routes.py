"""Answers to phones' connectivity checks on the classroom Wi-Fi, so a phone that joins a kit with no
uplink opens the kit's home page itself instead of reporting a dead network.

Must not import cli. The classroom's dnsmasq sends the checks' host names to the kit
(services/device/network_templates/dnsmasq.conf); docs/provisioning.md has the whole picture.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

# Paths each system probes over plain HTTP; an answer other than the expected one (204, "Success",
# "Microsoft Connect Test"/"Microsoft NCSI") makes it show a "sign in to network" page, which we fill
# with a redirect to the kit. Windows then opens www.msftconnecttest.com/redirect, answered the same way.
CHECKS = (
    "/generate_204",
    "/gen_204",  # Android, ChromeOS
    "/hotspot-detect.html",
    "/library/test/success.html",  # iOS and macOS
    "/connecttest.txt",
    "/ncsi.txt",
    "/redirect",
)  # Windows 10+, older Windows, Windows' follow-up


def connectivity_check(request: Request) -> Response:
    """Redirect to the kit's home page while the kit has no uplink; an honest 404 when it has one, because
    the classroom network is never bridged to the uplink and the kit must not pretend to be the internet."""
    if request.app.state.kit.readings.has_uplink():
        raise HTTPException(404)
    host, port = request.scope.get("server") or (request.url.hostname, request.url.port or 80)
    home = f"http://{host}/" if port == 80 else f"http://{host}:{port}/"
    return RedirectResponse(home, status_code=302, headers={"Cache-Control": "no-store"})


routes = [Route(path, connectivity_check) for path in CHECKS]
