"""The library libkiwix's server tests run against, rebuilt for tpkit: a real uvicorn over the same ZIMs.

libkiwix's test/data holds zimfile.zim (Ray Charles, the same book as ../shared/testdata/zim/real's
wikipedia_en_ray_charles.zim, uuid 6f1d19d0-…), example.zim (shared too), poor.zim and corner_cases#&.zim; the
last two are written here with libzim's writer. Without the shared ZIMs the tests skip.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.config import load_settings
from appliance.content.zimwriter import Entry, write_zim
from appliance.services.kit import open_kit
from appliance.web.app import create_app
from tests.conftest import SHARED_ZIM, LiveServer, article

RAY_CHARLES_UUID = "6f1d19d0-633f-087b-fb55-7ac324ff9baf"
EXAMPLE_UUID = "5dc0b3af-5df2-0925-f0ca-d2bf75e78af6"


def _poor(folder: Path) -> None:
    """libkiwix's poor.zim: no full-text index, no illustration, hardly any metadata, and A/redirect_loop.html, a
    redirect whose chain never ends. libzim's writer refuses loops, so the chain is closed afterwards: the last
    redirect's target index (a u32 after the dirent's mimetype 0xffff, parameter length, namespace and revision) is
    set to its own, and the file's MD5 checksum (its last 16 bytes) written again."""
    path = write_zim(
        folder / "poor.zim",
        metadata={"Title": "poor", "Language": "eng", "Name": "poor", "Tags": "_ftindex:no"},
        main_path="A/index.html",
        entries=[Entry("A/index.html", "poor", "text/html", article("poor", "<p>A poor book.</p>"), front=True)],
        redirects=[
            ("A/redirect_loop.html", "redirect_loop", "A/redirect_step.html"),
            ("A/redirect_step.html", "redirect_step", "A/index.html"),
        ],
        index_language=None,
    )
    data = bytearray(path.read_bytes())

    def target_field(entry_path: str) -> int:
        dirent = re.escape(b"\xff\xff\x00C\x00\x00\x00\x00") + b"(....)" + re.escape(entry_path.encode() + b"\x00")
        (found,) = list(re.finditer(dirent, data, re.S))
        return found.start(1)

    loop, step = target_field("A/redirect_loop.html"), target_field("A/redirect_step.html")
    data[step : step + 4] = data[loop : loop + 4]  # the step now redirects to itself
    data[-16:] = hashlib.md5(bytes(data[:-16])).digest()
    path.write_bytes(bytes(data))


def _corner_cases(folder: Path) -> None:
    """libkiwix's corner_cases#&.zim: special characters in the file name and paths, and empty entries."""
    write_zim(
        folder / "corner_cases#&.zim",
        metadata={"Title": "ZIM corner cases", "Language": "eng", "Name": "corner_cases", "Tags": "_ftindex:no"},
        main_path="empty.html",
        entries=[
            Entry("c#.html", "C#", "text/html", article("C#", "<p>C sharp</p>"), front=True),
            Entry("empty.html", "empty.html", "text/html", b"", front=False),
            Entry("empty.css", "empty.css", "text/css", b""),
            Entry("empty.js", "empty.js", "application/javascript", b""),
        ],
        redirects=[("c_sharp.html", "C sharp", "c#.html")],
        index_language=None,
    )


def _real_zims() -> dict[str, Path]:
    """../shared/testdata/zim/real beside this checkout, or beside the main checkout when this is a git worktree."""
    folders = [SHARED_ZIM / "real"]
    common = subprocess.run(
        ["git", "rev-parse", "--git-common-dir"], capture_output=True, text=True, check=False, cwd=Path(__file__).parent
    )
    if common.returncode == 0:
        main = (Path(__file__).parent / common.stdout.strip()).resolve().parent
        folders.append(main.parent / "shared" / "testdata" / "zim" / "real")
    for folder in folders:
        if folder.is_dir():
            return {path.name: path for path in folder.glob("*.zim")}
    return {}


@pytest.fixture(scope="package")
def kiwix_library(tmp_path_factory) -> Path:
    real = _real_zims()
    if "wikipedia_en_ray_charles.zim" not in real or "example.zim" not in real:
        pytest.skip("libkiwix's zimfile.zim and example.zim (../shared/testdata/zim/real) are absent")
    folder = tmp_path_factory.mktemp("kiwix-library")
    (folder / "zimfile.zim").symlink_to(real["wikipedia_en_ray_charles.zim"])
    (folder / "example.zim").symlink_to(real["example.zim"])
    _poor(folder)
    _corner_cases(folder)
    return folder


def _start(tmp_path_factory, library: Path):
    data = tmp_path_factory.mktemp("kiwix-data")
    settings = load_settings(
        environ={}, overrides={"data_dir": str(data), "content_dir": str(library), "mdns_enabled": False}
    )
    return open_kit(settings)


def _serve(tmp_path_factory, kiwix_library) -> Iterator[LiveServer]:
    """A kit over `kiwix_library` on a real uvicorn, closed after its fixture's last test."""
    kit = _start(tmp_path_factory, kiwix_library)
    try:
        with LiveServer(create_app(kit, watch_library=False)) as server:
            yield server
    finally:
        kit.close()


@pytest.fixture(scope="package")
def kiwix_server(tmp_path_factory, kiwix_library) -> Iterator[LiveServer]:
    """tpkit serving libkiwix's test ZIMs (ServerTest's zfs1_)."""
    yield from _serve(tmp_path_factory, kiwix_library)


@pytest.fixture(scope="package")
def second_server(tmp_path_factory, kiwix_library) -> Iterator[LiveServer]:
    """Another server over the same ZIMs (DifferentServerInstances… tests)."""
    yield from _serve(tmp_path_factory, kiwix_library)


@pytest.fixture
def zfs(kiwix_server) -> Iterator[httpx.Client]:
    """A client that sends no Accept-Encoding unless asked, as cpp-httplib's test client."""
    with httpx.Client(base_url=kiwix_server.url, follow_redirects=False, timeout=30) as http:
        http.headers.pop("accept-encoding", None)
        yield http
