"""The panel's view of the web server: one GET of /-/health on loopback with the stdlib's urllib.

The only module that probes the web server locally (httpx is kept for the uplink client).
Must not import storage, content, services or web.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

# A healthy kit answers /-/health in milliseconds; a server that takes a second is as good as
# down for a classroom, and the panel must keep blinking in time (issue 6).
TIMEOUT_S = 1.0


def health_url(host: str, port: int) -> str:
    """The health address the panel polls: loopback when the server listens on every address."""
    if host in ("0.0.0.0", "::", "", "localhost"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/-/health" if ":" in host else f"http://{host}:{port}/-/health"


def fetch_health(url: str, timeout_s: float = TIMEOUT_S) -> tuple[dict[str, Any] | None, str]:
    """GET the health report: (the JSON object, "") on a 200 with JSON, else (None, why not)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        exc.close()  # an HTTPError holds the open response; leaving it to the GC warns
        return None, f"it answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"no answer ({reason})"
    if status != 200:
        return None, f"it answered HTTP {status}"
    try:
        report = json.loads(body)
    except ValueError:
        return None, "its answer is not JSON"
    if not isinstance(report, dict):
        return None, "its answer is not a JSON object"
    return report, ""
