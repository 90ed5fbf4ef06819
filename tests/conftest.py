"""Shared fixtures: generated ZIM books, a kit on temp folders, and a real uvicorn on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from appliance.config import load_settings
from appliance.content.icons import badge
from appliance.content.zimwriter import Entry, write_zim
from appliance.services.kit import open_kit
from appliance.web.app import create_app

# The shared test ZIMs: TPKIT_SHARED_ZIM when set, else ../shared next to the checkout (/work/main; CI checks them
# out there), or further up for a worktree (/work/wt/<name>).
SHARED_ZIM = (
    Path(os.environ.get("TPKIT_SHARED_ZIM", ""))
    if os.environ.get("TPKIT_SHARED_ZIM")
    else next(
        (up / "shared" / "testdata" / "zim" for up in Path(__file__).resolve().parents[2:] if (up / "shared").is_dir()),
        Path(__file__).resolve().parents[2] / "shared" / "testdata" / "zim",
    )
)
START_TIMEOUT_S = 10


def shared_zims(kind: str) -> list[Path]:
    """Third-party ZIMs from ../shared/testdata/zim/<kind>, or a clean skip when absent."""
    folder = SHARED_ZIM / kind
    files = sorted(folder.glob("*.zim")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"no shared test ZIMs in {folder}")
    return files


def article(title: str, body: str, lang: str = "en") -> bytes:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{body}</body></html>"
    ).encode()


def make_book(
    folder: Path,
    name: str,
    *,
    title: str = "Test book",
    language: str = "eng",
    articles: dict[str, tuple[str, str]] | None = None,
    index: bool = True,
    extra: list[Entry] = (),
    tags: str = "_category:test;grade:3",
) -> Path:
    """Write a small ZIM with libzim: `articles` maps path -> (title, body HTML)."""
    articles = articles or {
        "index": ("Welcome", "<p>Start here. <a href='water'>Water</a></p>"),
        "water": (
            "Water cycle",
            "<p>Evaporation, condensation and precipitation move water around.</p>"
            + "<p>Rivers carry rain back to the sea.</p>" * 40,
        ),
        "moon": ("The Moon", "<p>The Moon reflects sunlight and causes tides.</p>"),
    }
    entries = [Entry(path, t, "text/html", article(t, body), front=True) for path, (t, body) in articles.items()]
    entries += [
        Entry("media/clip.webm", "clip", "video/webm", bytes(range(256)) * 400),
        Entry("img/dot.png", "dot", "image/png", badge(16, (0, 0, 0), (255, 255, 255))),
    ]
    entries += list(extra)
    metadata = {
        "Title": title,
        "Description": f"{title} for tests",
        "Language": language,
        "Creator": "tests",
        "Publisher": "tpkit",
        "Date": "2026-01-02",
        "Name": name,
        "Tags": tags,
    }
    folder.mkdir(parents=True, exist_ok=True)
    return write_zim(
        folder / f"{name}.zim",
        metadata=metadata,
        main_path="index",
        entries=entries,
        illustration_png=badge(48, (10, 20, 30), (200, 100, 50)),
        redirects=[("old_water", "Water (old)", "water")],
        index_language=language if index else None,
    )


@pytest.fixture(autouse=True, scope="session")
def mdns_on_loopback_only() -> Iterator[None]:
    """Kits that tests start in subprocesses advertise on 127.0.0.1 only, never on a real interface."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPKIT_MDNS_INTERFACES", "127.0.0.1")
        yield


def loopback_advertisement(school: str = "Hill School", *, port: int = 8123, kit_id: str = "kit-1", **txt: str):
    """An advertisement of a pretend kit on 127.0.0.1, as tests register it with real zeroconf."""
    from appliance.edges import mdns

    records = {"kit_id": kit_id, "version": "0.1.0", "content": "abc123abc123", "mirror": "0", "school": school}
    return mdns.Advertisement(
        name=mdns.instance_name(school),
        port=port,
        addresses=("127.0.0.1",),
        server=mdns.host_name(kit_id, ["127.0.0.1"]),
        txt={**records, **txt},
    )


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(tmp_path: Path, content_dir: Path):
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "content_dir": str(content_dir),
            "library_scan_interval_s": 0.2,
            "mdns_enabled": False,
        },
    )


@pytest.fixture
def book(content_dir: Path) -> Path:
    return make_book(content_dir, "test_book")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real uvicorn serving the kit's app on a loopback port, in a thread (after encode/uvicorn's run_server);
    `options` go to uvicorn.Config (ssl_certfile and ssl_keyfile for HTTPS: tests/web/trusted_https.py)."""

    def __init__(self, app, **options) -> None:
        self.port = options.pop("port", None) or free_port()
        self.url = f"{'https' if options.get('ssl_certfile') else 'http'}://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, **{"log_level": "warning", "lifespan": "on", **options}
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT_S)


@pytest.fixture
def kit(settings, book):
    kit = open_kit(settings)
    yield kit
    kit.close()


@pytest.fixture
def live(kit) -> Iterator[LiveServer]:
    with LiveServer(create_app(kit)) as server:
        yield server


@pytest.fixture
def roles(kit, live):
    """Signed-in clients of every role (closed afterwards) and the two classes' ids (web/people_clients.role_clients)."""
    from tests.web.people_clients import role_clients

    clients, ids = role_clients(kit, live.url)
    yield clients, ids
    for http in clients.values():
        http.close()


@pytest.fixture
def client(live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=10) as http:
        yield http
