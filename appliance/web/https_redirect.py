"""HTTP → HTTPS for phones, only while the kit's certificate is valid (issue 18, docs/provisioning.md).

A browser's GET of a page over HTTP is answered 302 to `https://<kit name>[:https_port]` + the same path and query
while the installed certificate names the kit and is valid for more than REDIRECT_MARGIN; otherwise the page is served
over HTTP as before, so a kit offline past its certificate's expiry falls back to plain HTTP, never to a certificate
warning. Never 301 and never HSTS: a browser would remember either past the certificate's life. The library as Kiwix
clients read it, health and metrics, and the phones' connectivity checks stay on HTTP. Must not import cli.
"""

from __future__ import annotations

import datetime as dt
import time

import anyio

from appliance.services.kit import Kit
from appliance.services.security import kit_certificate
from appliance.web.portal_routes import CHECKS

# Paths that stay on HTTP whatever the certificate, besides the library's (`library`: Kiwix apps and readers speak
# plain HTTP to a kiwix-serve): the kit's health for probes and Prometheus, static files, phones' connectivity checks.
STAY_ON_HTTP = ("/content", "/skin/", "/static/", "/-/", "/metrics", *CHECKS)
# How often a worker looks at the certificate file again (one stat; it is read again only when it changed).
LOOK_AGAIN_S = 2.0


class SendToHttps:
    """The ASGI middleware; see the module's docstring."""

    def __init__(self, app, kit: Kit, library: tuple[str, ...]) -> None:
        self.app = app
        self.kit = kit
        self.stay = (*library, *STAY_ON_HTTP)
        self.looked_at = -LOOK_AGAIN_S
        self.seen: tuple[int, int] | None = None
        self.state: kit_certificate.CertificateState | None = None

    async def __call__(self, scope, receive, send) -> None:
        over_http = scope["type"] == "http" and self.kit.settings.https_port and _a_page_over_http(scope, self.stay)
        if over_http and await self._sends_to_https():
            return await _redirect(scope, send, self.kit)
        await self.app(scope, receive, send)

    async def _sends_to_https(self) -> bool:
        if time.monotonic() - self.looked_at >= LOOK_AGAIN_S:
            self.looked_at = time.monotonic()
            self.seen, self.state = await anyio.to_thread.run_sync(self._look, self.seen, self.state)
        return bool(self.state and self.state.sends_to_https(dt.datetime.now(dt.timezone.utc)))

    def _look(self, seen, state):
        """(file's identity, state) of the installed certificate, read again only when the file changed."""
        cert = kit_certificate.Files.of(self.kit.paths).cert
        try:
            stat = cert.stat()
            now_seen = (stat.st_ino, stat.st_mtime_ns)
        except OSError:
            now_seen = None
        if now_seen == seen and state is not None:
            return seen, state
        return now_seen, kit_certificate.state(self.kit.paths, self.kit.settings)


def _a_page_over_http(scope, stay: tuple[str, ...]) -> bool:
    if scope.get("scheme") != "http" or scope["method"] != "GET" or scope["path"].startswith(stay):
        return False
    accept = next((value for name, value in scope["headers"] if name == b"accept"), b"")
    return b"text/html" in accept


async def _redirect(scope, send, kit: Kit) -> None:
    port = kit.settings.https_port
    host = kit_certificate.kit_name(kit.settings) + ("" if port == 443 else f":{port}")
    query = scope.get("query_string", b"")
    target = f"https://{host}{scope.get('raw_path', scope['path'].encode()).decode('latin-1')}"
    location = target.encode("latin-1") + (b"?" + query if query else b"")
    await send(
        {
            "type": "http.response.start",
            "status": 302,
            "headers": [(b"location", location), (b"cache-control", b"no-store"), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
