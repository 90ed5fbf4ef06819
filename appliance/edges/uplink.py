"""The HTTP client upstream (the county hub; the hub's LRS): a POST or PUT, its status and JSON reply (http.client).

Must not import storage, content, services or web. What the statuses mean is decided by services.delivery
(docs/reporting.md); this module only says what came back, or that nothing did. Not httpx: a report job
is a short-lived process on a 1 GB Pi, and httpx's import alone costs ~15 MB and ~0.2 s of CPU there.
"""

from __future__ import annotations

import dataclasses
import http.client
import json as jsonlib
import ssl
import urllib.parse
from typing import Any

# A report is at most 256 KiB: on a 4 Mbit/s shared uplink that is under a second, on a congested
# 3G link maybe twenty. Past this the hub counts as unreachable and the back-off starts.
CONNECT_TIMEOUT_S = 10.0
TIMEOUT_S = 30.0
MAX_REPLY_BYTES = 1 << 20  # a hub's reply is a small JSON object; more is not read


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
        parts = urllib.parse.urlsplit(self.hub_url)
        self._prefix = parts.path
        self._timeout_s = timeout_s
        if parts.scheme == "https":
            # The system's CA store, loaded only for an https hub (~130 ms of CPU on a desktop, more on a Pi).
            self._connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=min(CONNECT_TIMEOUT_S, timeout_s),
                context=ssl.create_default_context(),
            )
        else:
            self._connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=min(CONNECT_TIMEOUT_S, timeout_s)
            )

    def __enter__(self) -> Uplink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()

    def post(
        self,
        path: str,
        *,
        content: bytes | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """POST to `<hub_url><path>`; the status and the reply's JSON object (None when it is not one)."""
        return self._send("POST", path, content, json, headers)

    def put(self, path: str, *, content: bytes, headers: dict[str, str] | None = None) -> Answer:
        """PUT to `<hub_url><path>` (an xAPI statement by its id); the status and the reply's JSON object."""
        return self._send("PUT", path, content, None, headers)

    def _send(
        self, method: str, path: str, content: bytes | None, json: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> Answer:
        body = content if json is None else jsonlib.dumps(json).encode()
        sent = {
            "User-Agent": "tpkit-report",
            **({"Content-Type": "application/json"} if json is not None else {}),
            **(headers or {}),
        }
        for attempt in (1, 2):  # a kept-alive connection the hub closed meanwhile is opened again, once
            try:
                if self._connection.sock is None:
                    self._connection.connect()
                    self._connection.sock.settimeout(self._timeout_s)  # type: ignore[attr-defined]  # connect() set it
                self._connection.request(method, self._prefix + path, body=body, headers=sent)
                response = self._connection.getresponse()
                raw = response.read(MAX_REPLY_BYTES)
                if response.will_close or len(raw) == MAX_REPLY_BYTES:
                    self._connection.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._connection.close()
                if attempt == 2:
                    return Answer(None, error=f"{type(exc).__name__}: {exc or 'no answer'}")
            except (OSError, http.client.HTTPException) as exc:
                self._connection.close()
                return Answer(None, error=f"{type(exc).__name__}: {exc or 'no answer'}")
        try:
            reply = jsonlib.loads(raw)
        except ValueError:
            reply = None
        return Answer(response.status, reply if isinstance(reply, dict) else None)
