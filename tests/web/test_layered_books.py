"""A book served as v1 + layers through a real uvicorn answers as a kit serving the publisher's v2 file itself: every
entry, the main page, metadata, search, suggestions, /random and the catalog."""

from __future__ import annotations

import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.config import load_settings
from appliance.content import zimlayers
from appliance.content.layeredzim import LayeredZim
from appliance.content.zimfile import ZimFile
from appliance.services.kit import Kit, open_kit
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.content.layered_books import install, make_patches, make_versions

BOOK = "nature_en"
NS = {"atom": "http://www.w3.org/2005/Atom", "os": "http://a9.com/-/spec/opensearch/1.1/"}


def _served(folder: Path) -> Iterator[tuple[httpx.Client, Kit]]:
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(folder / "data"),
            "content_dir": str(folder / "content"),
            "library_scan_interval_s": 0.2,
            "mdns_enabled": False,
        },
    )
    kit = open_kit(settings)
    try:
        with LiveServer(create_app(kit)) as live, httpx.Client(base_url=live.url, timeout=10) as http:
            yield http, kit
    finally:
        kit.close()


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> Iterator[tuple[httpx.Client, httpx.Client, Path]]:
    """(a kit serving v1 + the v1→v2 layer, a kit serving v2's own file, v2's file), through their web servers."""
    root = tmp_path_factory.mktemp("layered_web")
    versions = make_versions(root / "versions")
    patches = make_patches(versions, root / "patches")
    install(root / "layered" / "content", versions[0], patches[:1])
    (root / "real" / "content").mkdir(parents=True)
    shutil.copy2(versions[1], root / "real" / "content" / f"{BOOK}.zim")
    layered, real = _served(root / "layered"), _served(root / "real")
    (with_layers, kit), (plain, _) = next(layered), next(real)
    assert isinstance(kit.library.book(BOOK).zim, LayeredZim)
    yield with_layers, plain, versions[1]
    for served in (layered, real):
        served.close()


def _answer(client: httpx.Client, url: str, **params) -> tuple:
    response = client.get(url, params=params, headers={"Accept-Encoding": "identity"})
    return (
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("location"),
        response.content,
    )


def test_layered_web_every_entry_main_page_and_metadata_as_v2(kits):
    layered, real, v2 = kits
    paths = sorted({e.path for e in ZimFile(v2).stored_entries()} | {"moon", "stone", "tree", "nope"})
    for path in paths:
        assert _answer(layered, f"/content/{BOOK}/{path}") == _answer(real, f"/content/{BOOK}/{path}"), path
    assert _answer(layered, f"/content/{BOOK}/") == _answer(real, f"/content/{BOOK}/")
    for name in ("Title", "Date", "Publisher", "Creator", "Counter", "Illustration_48x48@1", "TpkitPatch"):
        assert _answer(layered, f"/raw/{BOOK}/meta/{name}") == _answer(real, f"/raw/{BOOK}/meta/{name}"), name


def _results(client: httpx.Client, pattern: str) -> tuple[str, list[str]]:
    feed = ET.fromstring(client.get("/search", params={"content": BOOK, "pattern": pattern, "format": "xml"}).content)
    links = sorted(item.find("link").text for item in feed.findall("channel/item"))  # type: ignore[union-attr]
    return feed.find("channel/os:totalResults", NS).text, links  # type: ignore[union-attr,return-value]


def test_layered_web_search_and_suggestions_as_v2(kits):
    layered, real, v2 = kits
    for pattern in ("quillofray", "rivers", "evaporation", "glimmerfrost", "granite", "water", "oak"):
        assert _results(layered, pattern) == _results(real, pattern), pattern
    page = layered.get("/search", params={"content": BOOK, "pattern": "rivers"})
    assert page.status_code == 200 and f"/content/{BOOK}/water" in page.text
    final = ZimFile(v2).final_path
    for term in ("Sun", "Rock", "Star", "Luna", "Moon", "Tree", "Wat"):
        suggested = [
            {
                (final(item["path"]), item["book"])
                for item in client.get("/suggest", params={"content": BOOK, "term": term}).json()
                if item["kind"] == "path"
            }
            for client in (layered, real)
        ]
        assert suggested[0] == suggested[1], term


def test_layered_web_random_never_leads_to_a_hidden_page(kits):
    layered, real, _ = kits
    for _ in range(30):
        location = layered.get("/random", params={"content": BOOK}).headers["location"]
        assert not re.search(r"/(moon|stone)$", location)
        assert real.get(location).status_code == 200


def _entries(client: httpx.Client) -> list[bytes]:
    feed = ET.fromstring(client.get("/catalog/v2/entries").content)
    return [ET.tostring(entry) for entry in feed.findall("atom:entry", NS)]


def test_layered_web_catalog_entry_equals_v2s(kits):
    layered, real, _ = kits
    assert _entries(layered) == _entries(real)
    assert b"<ns0:articleCount>" in _entries(layered)[0]


def test_layered_web_home_page_lists_the_updated_book(kits):
    layered, _, _ = kits
    page = layered.get("/")
    assert page.status_code == 200 and "Nature and sky" in page.text and ">Nature<" not in page.text


def test_layered_web_new_layer_is_served_within_the_scan_interval(tmp_path):
    versions = make_versions(tmp_path / "versions")
    patches = make_patches(versions, tmp_path / "patches")
    book = install(tmp_path / "kit" / "content", versions[0], [])
    served = _served(tmp_path / "kit")
    client, _ = next(served)
    try:
        old = client.get(f"/content/{BOOK}/water").content
        assert b"Evaporation" in old
        manifest = zimlayers.write_layer(patches[0], zimlayers.layers_dir(book) / "1.zimlayer")
        zimlayers.write_stack(book, ["1.zimlayer"], manifest["result"]["version"], manifest["result"]["digest"])
        deadline = time.monotonic() + 5  # the scan interval is 0.2 s here
        while b"Evaporation" in client.get(f"/content/{BOOK}/water").content and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b"Rain, rivers" in client.get(f"/content/{BOOK}/water").content
        assert client.get(f"/content/{BOOK}/moon").status_code == 404
    finally:
        served.close()
