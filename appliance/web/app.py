"""The ASGI application: routes, the error handler and the kit's lifetime.

Only `cli` imports this module.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from appliance.services.device import health
from appliance.services.kit import Kit
from appliance.services.learning import handin_photos
from appliance.services.library import search
from appliance.web import (
    admin_routes,
    approval_routes,
    catalog_routes,
    class_routes,
    content_routes,
    copy_routes,
    edit_routes,
    family_routes,
    grading_routes,
    health_routes,
    home_routes,
    learn_routes,
    lesson_routes,
    notebook_routes,
    notice_routes,
    pages,
    people_routes,
    phone_routes,
    portal_routes,
    quiz_routes,
    search_routes,
    security_routes,
    share_routes,
    shelf_routes,
    unit_routes,
)
from appliance.web.answer_cache import AnswerCache
from appliance.web.book_origin import SandboxBooks
from appliance.web.byte_serving import EntryCache
from appliance.web.compression import CompressPages
from appliance.web.errors import exception_handlers
from appliance.web.hot_entries import ServeHotEntries
from appliance.web.https_redirect import SendToHttps
from appliance.web.session import SESSION_COOKIE
from appliance.webcore import form_key
from appliance.webcore.forms import FormBinding

log = logging.getLogger(__name__)

# The library as kiwix-serve serves it, which Kiwix web clients read from another origin. Nothing else: people's
# pages (/me, /teach, /admin, /learn) must not be readable by a page of another origin (issue 14).
KIWIX_PREFIXES = ("/catalog/", "/content/", "/raw/", "/search", "/suggest", "/random")


PHOTOS_STOP_WAIT_S = 30  # a stop lets the photos just handed in be made small (a second or two each on a Pi)


class OpenToKiwixClients:
    """Adds `Access-Control-Allow-Origin: *` as kiwix-serve does to the library's endpoints (KIWIX_PREFIXES), so
    Kiwix web clients can read the library; no other answer carries it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(KIWIX_PREFIXES):
            return await self.app(scope, receive, send)

        async def send_with_header(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"access-control-allow-origin", b"*")]
            await send(message)

        await self.app(scope, receive, send_with_header)


class RequestCounter:
    """HTTP requests this process has answered; only the event loop adds to it, so it needs no lock."""

    def __init__(self) -> None:
        self.total = 0
        self.hot_entries = 0  # of them, book entries answered from the entry cache the short way (web.hot_entries)
        self.in_flight = 0  # being answered now (web.hot_entries.reading_alone: read a book entry on the event loop)


class CountRequests:
    """Counts every HTTP request for the health snapshot, and those being answered: two integer adds."""

    def __init__(self, app, counter: RequestCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.counter.total += 1
        self.counter.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.in_flight -= 1


async def _after_start(kit: Kit, app: Starlette) -> None:
    """Start-up work that need not hold back the first page, in a thread while the worker serves: photos left waiting
    by a restart or power cut, then the LAN advertisement (its imports, zeroconf and the sync mirror's, are a tenth
    of a worker's start)."""
    await anyio.to_thread.run_sync(handin_photos.resume, kit)  # never raises
    try:
        await anyio.to_thread.run_sync(_advertise, kit, app)
    except Exception:  # noqa: BLE001 - the library serves without mDNS; the log says why it is missing
        log.exception(
            "mdns: the kit is not advertised on the LAN (it still serves by its address). "
            "Fix: check that the data folder is writable (mdns.lock), then restart tpkit-web."
        )


def _advertise(kit: Kit, app: Starlette) -> None:
    from appliance.services.device.lan import LanPresence
    from appliance.services.sync import peers

    presence = LanPresence(
        kit.settings,
        kit.library,  # type: ignore[arg-type]  # loaded by open_kit
        kit.paths.data_dir,
        channels=lambda: peers.advertised_channels(kit.paths),
    )
    app.state.lan = presence  # set in this thread: a shutdown that cancels the await still finds it and withdraws it
    presence.start()


def create_app(kit: Kit, watch_library: bool = True) -> Starlette:
    """The web app for a kit that `services.kit.open_kit` built; it advertises the kit on the LAN while it runs
    and closes the kit on shutdown."""

    pages.use_bytecode_cache(kit.paths.template_cache_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Each worker thread keeps its own libzim searchers; a bounded pool bounds memory on a 1 GB Pi.
        anyio.to_thread.current_default_thread_limiter().total_tokens = kit.settings.web_threads
        # libzim keeps the GIL while it decompresses; with Python's default 5 ms switch interval the event
        # loop then waits that long to answer cached pages. 1 ms halved /suggest latency in bench/ runs.
        sys.setswitchinterval(0.001)
        if watch_library:
            kit.start_scanner()
        await anyio.to_thread.run_sync(health.record_boot, kit)
        handin_photos.set_activity(lambda: app.state.requests.total)  # photos are made when the class pauses
        app.state.lan = None
        # What can wait runs once this worker serves: a kit restarts after every power cut, and the first page
        # should not wait for the LAN advertisement (zeroconf) or photos left waiting (issue 15).
        async with anyio.create_task_group() as later:
            later.start_soon(_after_start, kit, app)
            yield
            later.cancel_scope.cancel()  # a step already in its thread finishes first (to_thread waits for it)
        if app.state.lan is not None:
            await anyio.to_thread.run_sync(app.state.lan.stop)  # goodbye packets take ~0.4 s
        handin_photos.set_activity(None)  # no pause to wait for: the server stops
        await anyio.to_thread.run_sync(handin_photos.wait_idle, PHOTOS_STOP_WAIT_S)  # else made at the next start
        kit.close()

    routes = [
        *home_routes.routes,
        *content_routes.routes,
        *search_routes.routes,
        *catalog_routes.routes,
        *admin_routes.routes,
        *approval_routes.routes,
        *shelf_routes.routes,
        *health_routes.routes,
        *portal_routes.routes,
        *learn_routes.routes,
        *phone_routes.routes,
        *people_routes.routes,
        *security_routes.routes,
        *quiz_routes.routes,
        *lesson_routes.routes,
        *unit_routes.routes,
        *share_routes.routes,
        *grading_routes.routes,
        *edit_routes.routes,
        *copy_routes.routes,
        *notebook_routes.routes,
        *notice_routes.routes,
        *family_routes.routes,
        *class_routes.routes,  # last of the pages: it removes classes (the fuzzer walks routes in this order)
        Mount("/static", StaticFiles(packages=[("appliance.web", "static")]), name="static"),
        *home_routes.legacy_routes,
    ]
    requests = RequestCounter()
    app = Starlette(
        routes=routes,
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
        middleware=[
            Middleware(CountRequests, counter=requests),
            Middleware(SendToHttps, kit=kit, library=KIWIX_PREFIXES),  # web.https_redirect: only with https_port
            Middleware(OpenToKiwixClients),
            Middleware(SandboxBooks),
            # web.hot_entries: a cached book entry the short way, inside the two above (they add its headers)
            Middleware(ServeHotEntries),
            Middleware(CompressPages),
        ],
    )
    app.state.kit = kit
    app.state.form_binding = FormBinding(form_key.load_or_create(kit.paths.form_key), SESSION_COOKIE)
    app.state.requests = requests
    app.state.entry_cache = EntryCache()
    app.state.answer_cache = AnswerCache()  # web.answer_cache: OPDS feeds and suggestions
    app.state.etag_salt = secrets.token_hex(4)  # web.caching: dynamic ETags of this start
    app.state.search_slots = anyio.Semaphore(kit.settings.web_threads)
    app.state.search_pages = search.PageCache()  # web.search_routes: pages searched again are not read again
    return app
