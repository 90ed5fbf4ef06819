"""The HTTP client to the county hub (the only module importing httpx): one POST, its status and JSON reply.

Must not import storage, content, services or web. What the statuses mean is decided by services.delivery
(docs/reporting.md); this module only says what came back, or that nothing did.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

# A report is at most 256 KiB: on a 4 Mbit/s shared uplink that is under a second, on a congested
# 3G link maybe twenty. Past this the hub counts as unreachable and the back-off starts.
CONNECT_TIMEOUT_S = 10.0
TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the hub said: `status` None when nothing came back (then `error` says why)."""

    status: int | None
    body: dict[str, Any] | None = None
    error: str = ""


class Uplink:
    """One keep-alive connection to the hub for a delivery round; use as a context manager."""

    def __init__(self, hub_url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.hub_url = hub_url.rstrip("/")
        # Loading the CA bundle costs ~130 ms of CPU on a desktop (more on a Pi): only an https hub needs it.
        # A plain http hub (a county LAN, the tests) never negotiates TLS, so there is nothing to verify.
        tls = self.hub_url.startswith("https://")
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
                                    headers={"User-Agent": "tpkit-report"}, verify=tls)

    def __enter__(self) -> Uplink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def post(self, path: str, *, content: bytes | None = None, json: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        """POST to `<hub_url><path>`; the status and the reply's JSON object (None when it is not one)."""
        try:
            response = self._client.post(self.hub_url + path, content=content, json=json, headers=headers)
        except httpx.HTTPError as exc:
            return Answer(None, error=f"{type(exc).__name__}: {exc or 'no answer'}")
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body if isinstance(body, dict) else None)
