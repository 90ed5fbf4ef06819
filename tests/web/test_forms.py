"""posted_form: the form is CSRF-checked before the handler runs, and the handler runs off the event loop."""

from __future__ import annotations

import threading

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from appliance.web.forms import CSRF_COOKIE, FormExpiredError, csrf_token, posted_form, remember_csrf
from appliance.webcore.forms import FormBinding
from tests.conftest import LiveServer


def _app(seen: list) -> Starlette:
    @posted_form
    def handler(request, form):
        seen.append((threading.current_thread().name, str(form.get("name", ""))))
        return PlainTextResponse("done", status_code=201)

    def page(request):
        return remember_csrf(request, PlainTextResponse(csrf_token(request)))

    app = Starlette(
        routes=[Route("/form", page), Route("/form", handler, methods=["POST"])],
        exception_handlers={FormExpiredError: lambda request, exc: PlainTextResponse("expired", 403)},
    )
    app.state.form_binding = FormBinding(b"k" * 32, "session")
    return app


def test_posted_form_runs_the_handler_in_a_worker_thread_with_the_form():
    seen: list = []
    with LiveServer(_app(seen)) as server, httpx.Client(base_url=server.url) as http:
        token = http.get("/form").text
        response = http.post("/form", data={"csrf": token, "name": "Li Lei"})
    assert (response.status_code, response.text) == (201, "done")
    [(thread, name)] = seen
    assert name == "Li Lei"
    assert thread != "test-uvicorn"  # the event loop's thread: blocking services must not run there


def test_posted_form_refuses_a_form_without_its_token_before_the_handler():
    seen: list = []
    with LiveServer(_app(seen)) as server, httpx.Client(base_url=server.url) as http:
        http.cookies.set(CSRF_COOKIE, "token")  # a cookie any page of the host could write: never the token itself
        response = http.post("/form", data={"csrf": "token", "name": "Li Lei"})
    assert response.status_code == 403
    assert seen == []
