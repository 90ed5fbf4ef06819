"""tpkit against Debian's kiwix-serve 3.3.0 (libkiwix 11), both live on loopback over the same ZIM files.

One kiwix-serve and one tpkit (real uvicorn) per module serve the four shared real ZIMs (when
../shared/testdata/zim/real is present) and one book generated here with libzim's writer, and the
tests ask both the same questions: every entry of every book, metadata, random, suggestions,
full-text search, errors, ranges, gzip and the OPDS catalog.

URL mapping: kiwix-serve 11 serves books at `/<book>/<path>`; tpkit uses libkiwix 12's
`/content/<book>/<path>`, so kiwix `Location: /<book>/X` must be tpkit `Location: /content/<book>/X`
(exactly, same percent-encoding). Bytes are compared between tpkit `/content/...` and kiwix
`/raw/<book>/content/...`, because kiwix 11 injects its taskbar into HTML under `/<book>/`.

Deliberate differences, not asserted:
- the content URL prefix (above) and the catalog's `<link type="text/html">` and thumbnail hrefs:
  tpkit links `/content/<book>` and `/catalog/v2/illustration/<uuid>?size=48` (libkiwix 12), and
  still answers kiwix 11's `/catalog/v2/illustration/<book>/?size=48` (checked below);
- ETag format and Cache-Control max-age (tpkit: per-book ETags, `cache_max_age_s` setting);
- tpkit's own HTML pages for errors (what, cause, fix) and for /search without format=xml;
  for format=xml errors tpkit sends well-formed XML with the same status and Content-Type;
- `Vary: Accept-Encoding` on uncompressed text and `Accept-Ranges` on every entry;
- tpkit also gzips image/svg+xml (kiwix 11 only compresses text/*, JS, JSON, Atom, OpenSearch);
- tpkit honours `gzip;q=0` (kiwix matches the substring `gzip`), so only plain `gzip` is sent here;
- /suggest: tpkit adds `book` and `book_title`, answers all books when no `content=` is given
  and takes `books.name=` (its own search box uses both), and sends `path` as plain JSON where
  kiwix 11 HTML-escapes it (`A/Driftin&apos;_Blues`), so paths and titles are compared unescaped.
  Labels are tpkit's approximation of Xapian's highlighting (no stemming), so they are not compared;
- /random also takes `books.name=`; full-text search over several books interleaves each book's
  own ranking (python-libzim searches one archive at a time), so only totals and the set of links
  are compared there;
- /search `start` is 0-based in tpkit (page 2 of 25 starts at start=25 with result 26); kiwix 11
  reads it as 1-based, so its page 2 repeats result 25. Windows are compared with kiwix's start+1;
- kiwix 11 writes a raw `&` in OPDS `self` hrefs (not well-formed XML); the parser here repairs it.
"""

from __future__ import annotations

import html
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from appliance.config import load_settings
from appliance.content.naming import book_name
from appliance.content.zimfile import Redirect, ZimFile
from appliance.content.zimwriter import Entry
from appliance.services.kit import open_kit
from appliance.web.app import create_app
from tests.conftest import SHARED_ZIM, START_TIMEOUT_S, LiveServer, free_port, make_book

KIWIX_SERVE = Path("/usr/bin/kiwix-serve")
REAL_ZIMS = sorted((SHARED_ZIM / "real").glob("*.zim")) if (SHARED_ZIM / "real").is_dir() else []
GENERATED = "parity_book"
REAL_NAMES = ("wikipedia_en_ray_charles", "example", "small", "wikibooks_be_all_nopic_2017-02")
BOOKS = sorted([book_name(p) for p in REAL_ZIMS] + [GENERATED])
PATH_SAFE = "/-_.~!$&'()*+,;=:@"  # what kiwix-serve leaves unescaped in item paths
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
NOT_COMPRESSED_BY_KIWIX = {"image/svg+xml"}

pytestmark = [
    pytest.mark.kiwix,
    pytest.mark.skipif(not KIWIX_SERVE.exists(), reason=f"{KIWIX_SERVE} is absent: apt-get install kiwix-tools"),
]


def _generated_extras() -> list[Entry]:
    """Entries that stress what the real books may not: odd paths, CSS/JS, text around the gzip bound."""
    css = b"body { margin: 0 auto; max-width: 40em; }\n" * 60
    return [
        Entry("style/site.css", "site.css", "text/css", css),
        Entry("js/app.js", "app.js", "application/javascript", b"console.log('tpkit');\n"),
        Entry(
            "notes/Straße und Fluss", "Straße und Fluss", "text/html", b"<html><body>Fluss</body></html>", front=True
        ),
        Entry("notes/A+B's (draft), v1=2:ok!", "A+B's draft", "text/plain", b"draft"),
        Entry("text/just_under.txt", "just under", "text/plain", b"x" * 1400),
        Entry("text/just_over.txt", "just over", "text/plain", b"y" * 1401),
    ]


@pytest.fixture(scope="module")
def zim_files(tmp_path_factory) -> list[Path]:
    generated = make_book(
        tmp_path_factory.mktemp("parity-zim"), GENERATED, title="Parity book", extra=_generated_extras()
    )
    return [*REAL_ZIMS, generated]


@pytest.fixture(scope="module")
def zims(zim_files) -> dict[str, ZimFile]:
    return {book_name(path): ZimFile(path) for path in zim_files}


def _wait_for_port(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kiwix-serve exited with {proc.returncode}: a ZIM it could not open?")
        try:
            httpx.get(f"http://127.0.0.1:{port}/catalog/v2/root.xml", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("kiwix-serve did not start listening")


@pytest.fixture(scope="module")
def kiwix(zim_files) -> Iterator[httpx.Client]:
    port = free_port()
    proc = subprocess.Popen(
        [str(KIWIX_SERVE), "-i", "127.0.0.1", "-p", str(port), *map(str, zim_files)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(proc, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=10) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=START_TIMEOUT_S)


@pytest.fixture(scope="module")
def tpkit(zim_files, tmp_path_factory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("parity-kit")
    content = root / "content"
    content.mkdir()
    for path in zim_files:
        (content / path.name).symlink_to(path)  # the library follows symlinks; nothing is copied
    settings = load_settings(
        environ={}, overrides={"data_dir": str(root / "data"), "content_dir": str(content), "mdns_enabled": False}
    )
    kit = open_kit(settings)
    assert sorted(book.name for book in kit.library.books()) == BOOKS
    with LiveServer(create_app(kit, watch_library=False)) as live:
        with httpx.Client(base_url=live.url, follow_redirects=False, timeout=10) as client:
            yield client


def _skip_without_real_books(query: str) -> None:
    if not REAL_ZIMS and any(name in query for name in REAL_NAMES):
        pytest.skip(f"needs the shared real ZIMs in {SHARED_ZIM / 'real'}")


def _q(path: str) -> str:
    return quote(path, safe=PATH_SAFE)


def _as_tpkit(location: str) -> str:
    """kiwix 11's `/<book>/X` as libkiwix 12's `/content/<book>/X`."""
    return "/content" + location


def _first(problems: list) -> str:
    return f"{len(problems)} difference(s), first ones: {problems[:8]}"


def _entry_difference(kiwix, tpkit, book: str, path: str, encoding: str) -> tuple | None:
    """None when kiwix /raw and tpkit /content answer the same for one entry, else what differs."""
    headers = {"Accept-Encoding": encoding}
    k = kiwix.get(f"/raw/{book}/content/{_q(path)}", headers=headers)
    t = tpkit.get(f"/content/{book}/{_q(path)}", headers=headers)
    if k.status_code != t.status_code:
        return path, "status", k.status_code, t.status_code
    if k.status_code == 302:
        same = _as_tpkit(k.headers["location"]) == t.headers["location"]
        return None if same else (path, "location", k.headers["location"], t.headers["location"])
    mimetype = k.headers.get("content-type")
    if mimetype != t.headers.get("content-type"):
        return path, "content-type", mimetype, t.headers.get("content-type")
    if k.content != t.content:
        return path, "bytes", len(k.content), len(t.content)
    k_gzip, t_gzip = k.headers.get("content-encoding"), t.headers.get("content-encoding")
    if k_gzip != t_gzip and mimetype not in NOT_COMPRESSED_BY_KIWIX:
        return path, "content-encoding", len(k.content), k_gzip, t_gzip
    return None


@pytest.mark.parametrize("book", BOOKS)
def test_parity_every_entry_status_type_bytes_and_redirect(kiwix, tpkit, zims, book):
    paths = list(zims[book].entry_paths())
    problems = [d for p in paths if (d := _entry_difference(kiwix, tpkit, book, p, "identity"))]
    assert not problems, _first(problems)


@pytest.mark.parametrize("book", BOOKS)
def test_parity_every_entry_gzip_when_accepted(kiwix, tpkit, zims, book):
    """httpx decodes gzip, so equal `content` also proves the compressed bodies decode to the same bytes."""
    paths = list(zims[book].entry_paths())
    problems = [d for p in paths if (d := _entry_difference(kiwix, tpkit, book, p, "gzip"))]
    assert not problems, _first(problems)


def test_parity_gzip_bound_is_kiwix_1400_bytes(kiwix, tpkit):
    for path, expected in (("text/just_under.txt", None), ("text/just_over.txt", "gzip")):
        for response in (
            kiwix.get(f"/raw/{GENERATED}/content/{path}", headers={"Accept-Encoding": "gzip"}),
            tpkit.get(f"/content/{GENERATED}/{path}", headers={"Accept-Encoding": "gzip"}),
        ):
            assert response.headers.get("content-encoding") == expected, (path, str(response.url))
            assert response.headers.get("vary") == "Accept-Encoding" or expected is None


@pytest.mark.parametrize("book", BOOKS)
def test_parity_redirect_entries_and_main_page_locations(kiwix, tpkit, zims, book):
    """Under /<book>/ kiwix follows redirect chains to the final item; tpkit's /content/ must land on the same one."""
    redirects = [p for p in zims[book].entry_paths() if isinstance(zims[book].lookup(p), Redirect)]
    problems = []
    for path in [*redirects, ""]:
        k, t = kiwix.get(f"/{book}/{_q(path)}"), tpkit.get(f"/content/{book}/{_q(path)}")
        if (k.status_code, _as_tpkit(k.headers.get("location", ""))) != (t.status_code, t.headers.get("location")):
            problems.append((path, k.status_code, k.headers.get("location"), t.status_code, t.headers.get("location")))
    assert not problems, _first(problems)


@pytest.mark.parametrize("book", BOOKS)
def test_parity_missing_entry_and_book_are_404(kiwix, tpkit, book):
    pairs = [
        (f"/{book}/no/such/entry.html", f"/content/{book}/no/such/entry.html"),
        (f"/raw/{book}/content/no_such_entry", None),
        (f"/raw/{book}/meta/NoSuchMetadata", None),
        (f"/raw/{book}/foo/x", None),
        ("/no_such_book/x", "/content/no_such_book/x"),
        ("/raw/no_such_book/content/x", None),
        ("/raw/no_such_book/meta/Title", None),
    ]
    for kiwix_url, tpkit_url in pairs:
        k, t = kiwix.get(kiwix_url), tpkit.get(tpkit_url or kiwix_url)
        assert (k.status_code, t.status_code) == (404, 404), (kiwix_url, tpkit_url)
        assert k.headers["content-type"] == t.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("book", BOOKS)
def test_parity_raw_meta_bytes_and_types(kiwix, tpkit, zims, book):
    names = {*zims[book].metadata_names, "Illustration_48x48@1", "Flavour", "Source", "NoSuchMetadata"}
    problems = []
    for name in sorted(names):
        k, t = kiwix.get(f"/raw/{book}/meta/{quote(name)}"), tpkit.get(f"/raw/{book}/meta/{quote(name)}")
        if k.status_code != t.status_code or (
            k.status_code == 200 and (k.content != t.content or k.headers["content-type"] != t.headers["content-type"])
        ):
            problems.append(
                (name, k.status_code, t.status_code, k.headers.get("content-type"), t.headers.get("content-type"))
            )
    assert not problems, _first(problems)


@pytest.mark.parametrize("book", BOOKS)
def test_parity_random_stays_in_the_book(kiwix, tpkit, book):
    k, t = kiwix.get(f"/random?content={book}"), tpkit.get(f"/random?content={book}")
    assert k.status_code == t.status_code, (k.status_code, t.status_code)
    if k.status_code != 302:
        return
    prefix = f"/content/{quote(book)}/"
    assert t.headers["location"].startswith(prefix)
    # tpkit's pick must be an article kiwix serves too (under kiwix 11's URL).
    target = kiwix.get(t.headers["location"].removeprefix("/content"))
    assert target.status_code == 200, t.headers["location"]


def test_parity_random_without_or_with_unknown_book_is_404(kiwix, tpkit):
    for url in ("/random", "/random?content=no_such_book"):
        assert kiwix.get(url).status_code == tpkit.get(url).status_code == 404, url


SUGGEST_CASES = {
    "wikipedia_en_ray_charles": ["ray", "charles", "ray char", "jazz", "blues soul", "what'd", "zzzzqq", ""],
    "example": ["free", "wiki", "open world"],
    "wikibooks_be_all_nopic_2017-02": ["кух", "мова", "урок 1"],
    "small": ["test", "zzz"],
    GENERATED: ["water", "moon", "the", "stra"],
}


def _suggestions(client, query: str) -> tuple[int, list[tuple]]:
    response = client.get(f"/suggest?{query}")
    if response.status_code != 200:
        return response.status_code, []
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return 200, [(s["kind"], html.unescape(s["value"]), html.unescape(s.get("path", ""))) for s in response.json()]


@pytest.mark.parametrize("book", BOOKS)
def test_parity_suggest_titles_paths_and_pattern_item(kiwix, tpkit, book):
    for term in SUGGEST_CASES.get(book, ["a"]):
        for extra in ("", "&count=3", "&count=2&start=1", "&count=40"):
            query = f"content={book}&term={quote(term)}{extra}"
            assert _suggestions(kiwix, query) == _suggestions(tpkit, query), query


def test_parity_suggest_unknown_book_is_404(kiwix, tpkit):
    assert kiwix.get("/suggest?content=no_such_book&term=a").status_code == 404
    assert tpkit.get("/suggest?content=no_such_book&term=a").status_code == 404


def _rss(client, query: str) -> tuple[int, str, str | None, list[str]]:
    response = client.get(f"/search?format=xml&{query}")
    if response.status_code != 200:
        return response.status_code, response.headers["content-type"], None, []
    channel = ET.fromstring(response.content).find("channel")
    links = [item.findtext("link") for item in channel.findall("item")]
    return 200, response.headers["content-type"], channel.findtext(f"{OPENSEARCH}totalResults"), links


SEARCHES = [
    ("content=wikipedia_en_ray_charles&pattern=jazz", "wikipedia_en_ray_charles"),
    ("content=wikipedia_en_ray_charles&pattern=ray%20charles&pageLength=140", "wikipedia_en_ray_charles"),
    ("content=wikipedia_en_ray_charles&pattern=jazz&start=10&pageLength=5", "wikipedia_en_ray_charles"),
    ("content=wikipedia_en_ray_charles&pattern=zzzzqqqxx", "wikipedia_en_ray_charles"),
    ("content=example&pattern=wikipedia&pageLength=50", "example"),
    (f"content={GENERATED}&pattern=water", GENERATED),
    (f"content={GENERATED}&pattern=moon%20tides", GENERATED),
    (f"books.name=wikipedia_en_ray_charles&books.name={GENERATED}&pattern=water&pageLength=140", None),
    ("books.name=wikipedia_en_ray_charles&books.name=example&pattern=wikipedia&pageLength=140", None),
    ("books.name=small&books.name=example&pattern=wikipedia", None),
    ("pattern=jazz&pageLength=140", None),
    ("pattern=water&pageLength=140", None),
]


def _kiwix_start(query: str) -> str:
    """kiwix 11 reads `start` as 1-based (start=10 begins at the 10th result); tpkit's is 0-based."""
    return re.sub(r"start=(\d+)", lambda m: f"start={int(m.group(1)) + 1}", query)


@pytest.mark.parametrize(("query", "book"), SEARCHES)
def test_parity_search_xml_totals_and_links(kiwix, tpkit, query, book):
    _skip_without_real_books(query)
    k_status, k_type, k_total, k_links = _rss(kiwix, _kiwix_start(query))
    t_status, t_type, t_total, t_links = _rss(tpkit, query)
    assert (t_status, t_type, t_total) == (k_status, k_type, k_total)
    assert sorted(t_links) == sorted(_as_tpkit(link) for link in k_links)
    if book is not None:  # one book: Xapian pages it for both servers, so the order is the same too
        assert t_links == [_as_tpkit(link) for link in k_links]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("content=no_such_book&pattern=jazz", 400),
        (f"books.name=no_such_book&books.name={GENERATED}&pattern=water", 400),
        (f"content={GENERATED}", 400),
        (f"content={GENERATED}&pattern=", 400),
        ("content=small&pattern=test", 404),
        ("books.name=small&pattern=test", 404),
    ],
)
def test_parity_search_errors(kiwix, tpkit, query, status):
    _skip_without_real_books(query)
    for fmt in ("", "&format=xml"):
        k, t = kiwix.get(f"/search?{query}{fmt}"), tpkit.get(f"/search?{query}{fmt}")
        assert (k.status_code, t.status_code) == (status, status), fmt
        assert k.headers["content-type"] == t.headers["content-type"], fmt
    ET.fromstring(t.content)  # tpkit's XML error is well-formed (kiwix 11's is not)


RANGES = [
    "bytes=0-99",
    "bytes=100-",
    "bytes=-50",
    "bytes=3000-99999",
    "bytes=0-0",
    "bytes=-99999",
    "bytes=5000000-6000000",
    "bytes=0-9,20-29",
    "bytes=abc",
    "bytes=-0",
    "bytes=50-10",
]


@pytest.mark.parametrize("path", ["media/clip.webm", "img/dot.png", "index"])
def test_parity_range_requests(kiwix, tpkit, path):
    for header in RANGES:
        k = kiwix.get(f"/raw/{GENERATED}/content/{path}", headers={"Range": header})
        t = tpkit.get(f"/content/{GENERATED}/{path}", headers={"Range": header})
        assert (t.status_code, t.headers.get("content-range")) == (k.status_code, k.headers.get("content-range")), (
            header
        )
        assert t.content == k.content, header
        if k.status_code == 206:
            assert t.headers["content-type"] == k.headers["content-type"]
            assert k.headers["accept-ranges"] == t.headers["accept-ranges"] == "bytes"


def _xml(response: httpx.Response) -> ET.Element:
    # kiwix 11 leaves `&` raw in the self link's query; escape bare ampersands so it parses.
    body = re.sub(rb"&(?!(amp|lt|gt|quot|apos|#\d+);)", b"&amp;", response.content)
    if b"xmlns=" not in body:  # /catalog/v2/entry/<uuid> is a bare <entry> using the feed's prefixes
        body = body.replace(
            b"<entry>", f'<entry xmlns="{ATOM[1:-1]}" xmlns:dc="http://purl.org/dc/terms/">'.encode(), 1
        )
    return ET.fromstring(body)


BOOK_FIELDS = (
    "id",
    "title",
    "summary",
    "language",
    "name",
    "flavour",
    "category",
    "tags",
    "articleCount",
    "mediaCount",
    "updated",
)


def _book(entry: ET.Element) -> dict:
    fields = {field: entry.findtext(ATOM + field) for field in BOOK_FIELDS}
    fields["thumbnail"] = any(
        link.get("rel") == "http://opds-spec.org/image/thumbnail" for link in entry.findall(ATOM + "link")
    )
    return fields


def _feed(client, query: str) -> tuple[dict, list[dict]]:
    response = client.get(f"/catalog/v2/entries{query}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml;profile=opds-catalog;kind=acquisition"
    root = _xml(response)
    header = {field: root.findtext(ATOM + field) for field in ("title", "totalResults", "startIndex", "itemsPerPage")}
    return header, [_book(entry) for entry in root.findall(ATOM + "entry")]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?count=2",
        "?count=2&start=1",
        "?start=3",
        "?count=0",
        "?lang=eng",
        "?lang=en",
        "?lang=bel",
        "?category=wikipedia",
        "?tag=_pictures:no",
        "?tag=_ftindex:no",
        "?notag=_ftindex:yes",
        "?q=ray",
        "?name=wikipedia_en_ray_charles",
    ],
)
def test_parity_catalog_entries(kiwix, tpkit, query):
    k_header, k_books = _feed(kiwix, query)
    t_header, t_books = _feed(tpkit, query)
    assert t_header == k_header
    if "count" in query or "start" in query or not query:  # unfiltered: both list by uuid, so pages match
        assert [b["id"] for b in t_books] == [b["id"] for b in k_books]
    # Filtered feeds come in libkiwix's internal (Xapian) order, which the spec says not to rely on.
    assert sorted(t_books, key=lambda b: b["id"]) == sorted(k_books, key=lambda b: b["id"])


def test_parity_catalog_one_entry_by_uuid(kiwix, tpkit, zims):
    for zim in zims.values():
        k, t = kiwix.get(f"/catalog/v2/entry/{zim.uuid}"), tpkit.get(f"/catalog/v2/entry/{zim.uuid}")
        assert (k.status_code, t.status_code) == (200, 200)
        assert (
            k.headers["content-type"]
            == t.headers["content-type"]
            == "application/atom+xml;type=entry;profile=opds-catalog"
        )
        assert _book(_xml(t)) == _book(_xml(k))
    for bad in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        assert (
            kiwix.get(f"/catalog/v2/entry/{bad}").status_code
            == tpkit.get(f"/catalog/v2/entry/{bad}").status_code
            == 404
        )


def _thumbnail_href(client, uuid: str) -> str | None:
    entry = _xml(client.get(f"/catalog/v2/entry/{uuid}"))
    hrefs = [
        link.get("href")
        for link in entry.findall(ATOM + "link")
        if link.get("rel") == "http://opds-spec.org/image/thumbnail"
    ]
    return hrefs[0] if hrefs else None


def test_parity_catalog_illustrations(kiwix, tpkit, zims):
    for name, zim in zims.items():
        k_href, t_href = _thumbnail_href(kiwix, zim.uuid), _thumbnail_href(tpkit, zim.uuid)
        assert (k_href is None) == (t_href is None), name
        kiwix_form = f"/catalog/v2/illustration/{name}/?size=48"
        k, t_same_url = kiwix.get(kiwix_form), tpkit.get(kiwix_form)
        assert k.status_code == t_same_url.status_code, name
        if k_href is None:
            continue
        t = tpkit.get(t_href)
        for response in (t, t_same_url):
            assert (response.status_code, response.headers["content-type"]) == (200, "image/png"), name
            assert response.content == k.content, name
        no_size = f"/catalog/v2/illustration/{name}/"
        assert kiwix.get(no_size).status_code == tpkit.get(no_size).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/v2/root.xml",
        "/catalog/v2/partial_entries",
        "/catalog/v2/categories",
        "/catalog/v2/languages",
        "/catalog/v2/searchdescription.xml",
    ],
)
def test_parity_catalog_feed_types(kiwix, tpkit, path):
    k, t = kiwix.get(path), tpkit.get(path)
    assert (k.status_code, t.status_code) == (200, 200)
    assert t.headers["content-type"] == k.headers["content-type"]
    assert len(_xml(t).findall(ATOM + "entry")) == len(_xml(k).findall(ATOM + "entry"))
