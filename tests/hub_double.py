"""A small county hub for the kit's reporting tests: a threaded HTTP server on loopback that checks every
report with report_file.verify and the kit's enrolled key, stores each report_id once, and can be told to
answer 201/200 (the default), a 4xx, 503, to drop the connection, or to stall after storing."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from appliance.edges import minisign
from appliance.errors import ReportError
from appliance.protocol import report_file


class HubDouble:
    """State of the pretend hub; `mode` is "ok", an int status, "drop" or "stall"."""

    def __init__(self, token: str = "tok-1", desired_config: dict | None = None) -> None:
        self.token, self.desired_config = token, desired_config
        self.mode: str | int = "ok"
        self.shares: list[dict] = []  # share states every accepted reply carries (docs/shared-lessons.md §2)
        self.public: minisign.PublicKey | None = None
        self.stored: dict[str, report_file.Report] = {}
        self.received: list[str] = []  # report ids in arrival order, duplicates included
        self.enrolments = 0
        self.lock = threading.Lock()
        self.stalled = threading.Event()
        self.release = threading.Event()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="hub-double", daemon=True)

    def __enter__(self) -> HubDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def sequences(self) -> list[int]:
        """Sequences stored, in the order they were first stored."""
        return [r.sequence for r in self.stored.values()]


class _Handler(BaseHTTPRequestHandler):
    hub: HubDouble

    def log_message(self, *args) -> None:  # keep test output quiet
        return

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/api/v1/enrol":
            self._enrol(json.loads(data))
        elif self.path == "/api/v1/reports":
            self._report(data)
        else:
            self._answer(404, {"code": "request.not_found"})

    def _enrol(self, body: dict) -> None:
        hub = self.hub
        if body.get("token") != hub.token:
            self._answer(403, {"code": "hub.bad_token", "message": "unknown token"})
            return
        key = minisign.parse_public_key(body["public_key"], "enrol")
        with hub.lock:
            repeat = hub.public == key
            hub.public, hub.enrolments = key, hub.enrolments + 1
        self._answer(200 if repeat else 201, {"kit_id": body["kit_id"], "enrolled_at": "2026-11-28T16:00:00Z"})

    def _report(self, payload: bytes) -> None:
        hub, mode = self.hub, self.hub.mode
        if mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if isinstance(mode, int):
            self._answer(mode, {"code": "report.malformed" if mode == 400 else "hub.down", "message": f"mode {mode}"})
            return
        if hub.public is None:
            self._answer(401, {"code": "hub.unknown_kit", "message": "kit not enrolled"})
            return
        signature = base64.b64decode(self.headers["Tpkit-Signature"]).decode()
        try:
            report = report_file.verify(payload, signature, hub.public, "request")
        except ReportError as exc:
            self._answer(exc.status, exc.as_dict())
            return
        assert self.headers["Tpkit-Kit-Id"] == report.kit_id
        assert self.headers["Content-Type"] == report_file.MEDIA_TYPE
        with hub.lock:
            hub.received.append(report.report_id)
            duplicate = report.report_id in hub.stored
            hub.stored.setdefault(report.report_id, report)
        if mode == "stall":
            hub.stalled.set()
            hub.release.wait(60)
            return
        self._answer(
            200 if duplicate else 201,
            {
                "status": "duplicate" if duplicate else "accepted",
                "report_id": report.report_id,
                "desired_config": hub.desired_config,
                **({"shares": hub.shares} if hub.shares else {}),
            },
        )
