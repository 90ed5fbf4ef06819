"""A counting browser for bench/teachers_day.py: one httpx client (cookies kept) that loads pages as a browser would
and records, for every request, its bytes on the wire and its time to last byte.

A page load is one thing a person does: open a page, or send a form (the POST and the redirects it follows), then
the pictures, stylesheets and scripts the page names. Those are fetched through a small cache that keeps what
Cache-Control allows (never `no-store`): a copy still fresh by `max-age` costs no request; any other kept copy is
asked for again with If-None-Match (or If-Modified-Since), so an unchanged one comes back as a bodiless 304. No
heuristic freshness from Last-Modified (a browser may keep such a file a while without asking): every such file is
asked again, which counts a few more small requests than a browser would.

Bytes on the wire of a response: its status line, its headers as received and its body as sent (compressed when the
kit gzipped it: httpx's `num_bytes_downloaded`); chunked framing is not counted (the kit sends Content-Length).
Bytes sent: the request line, headers and body as httpx wrote them.
"""

from __future__ import annotations

import dataclasses
import html.parser
import time
from urllib.parse import urljoin, urlsplit

import httpx

# What Chromium sends for a Chinese teacher's or child's phone (the kit compresses with gzip only).
HEADERS = {
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
    "Accept-Encoding": "gzip, deflate",
    "User-Agent": "Mozilla/5.0 (Linux; Android 10) tpkit-bench teachers_day",
}


@dataclasses.dataclass
class Fetch:
    """One request: what it was for, its answer and its cost."""

    step: str
    kind: str  # what it was, e.g. "hand-in page" or "image"
    method: str
    url: str
    status: int
    bytes_in: int  # response on the wire: status line, headers, body as sent
    bytes_out: int  # request on the wire: request line, headers, body
    seconds: float  # from sending the request to its last byte
    subresource: str = ""  # "image", "style", "script" for what a page names; "" for the page's own requests
    from_cache: bool = False  # a 304 that kept a cached copy


@dataclasses.dataclass
class PageLoad:
    """One page load: its own requests (the POST, redirects, the page) and what the page named."""

    step: str
    kind: str
    url: str
    status: int
    fetches: list[Fetch]
    text: str = ""  # the page's HTML (decoded), for the next step to read forms and links from
    location: str = ""  # the last redirect's target (a POST's 303), when one was followed
    html_bytes: int = 0  # the page's HTML decompressed, for the record

    @property
    def bytes_in(self) -> int:
        return sum(f.bytes_in for f in self.fetches)

    @property
    def bytes_before_pictures(self) -> int:
        """On the wire for the page itself and its stylesheets and scripts: everything but pictures."""
        return sum(f.bytes_in for f in self.fetches if f.subresource != "image")

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.fetches)


@dataclasses.dataclass
class _Kept:
    etag: str
    last_modified: str
    fresh_until: float  # monotonic seconds; 0 = ask again every time


class _Subresources(html.parser.HTMLParser):
    """The URLs a browser fetches on its own for a page: <img src>, <link rel=stylesheet href>, <script src>."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "img" and named.get("src"):
            self.found.append(("image", named["src"]))
        elif tag == "link" and "stylesheet" in named.get("rel", "").split() and named.get("href"):
            self.found.append(("style", named["href"]))
        elif tag == "script" and named.get("src"):
            self.found.append(("script", named["src"]))


def subresources(page_html: str) -> list[tuple[str, str]]:
    """(what, URL) of each picture, stylesheet and script a page names, once each, in page order."""
    parser = _Subresources()
    parser.feed(page_html)
    seen: set[str] = set()
    return [(what, url) for what, url in parser.found if not (url in seen or seen.add(url))]


def freshness_s(cache_control: str) -> float | None:
    """Seconds a copy may be used without asking, None when it may not be kept (`no-store`)."""
    directives = {d.strip().split("=", 1)[0].lower(): d.strip() for d in cache_control.split(",") if d.strip()}
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    found = directives.get("max-age")
    if found and "=" in found:
        try:
            return max(0.0, float(found.split("=", 1)[1].strip('"')))
        except ValueError:
            return 0.0
    return 0.0


def wire_bytes_in(response: httpx.Response) -> int:
    status_line = len(f"{response.http_version} {response.status_code} {response.reason_phrase}\r\n".encode())
    headers = sum(len(name) + 2 + len(value) + 2 for name, value in response.headers.raw) + 2
    return status_line + headers + response.num_bytes_downloaded


def wire_bytes_out(request: httpx.Request) -> int:
    target = request.url.raw_path
    line = len(request.method.encode()) + 1 + len(target) + len(b" HTTP/1.1\r\n")
    headers = sum(len(name) + 2 + len(value) + 2 for name, value in request.headers.raw) + 2
    return line + headers + int(request.headers.get("content-length", "0"))  # a multipart body is a stream


class Browser:
    """One person's browser: one httpx client with its cookies, a cache, and the record of every request."""

    def __init__(
        self, base_url: str, timeout_s: float = 120.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(
            base_url=base_url, follow_redirects=False, timeout=timeout_s, headers=HEADERS, transport=transport
        )
        self.cache: dict[str, _Kept] = {}
        self.fetches: list[Fetch] = []

    async def close(self) -> None:
        await self.http.aclose()

    async def _send(self, step: str, kind: str, method: str, url: str, subresource: str = "", **kwargs) -> tuple:
        start = time.perf_counter()
        response = await self.http.request(method, url, **kwargs)  # reads the whole body
        seconds = time.perf_counter() - start
        fetch = Fetch(
            step,
            kind,
            method,
            response.request.url.raw_path.decode(),
            response.status_code,
            wire_bytes_in(response),
            wire_bytes_out(response.request),
            seconds,
            subresource,
        )
        self.fetches.append(fetch)
        return response, fetch

    async def load(
        self, step: str, kind: str, method: str, url: str, *, expect: tuple[int, ...] = (200,), pictures=True, **kwargs
    ) -> PageLoad:
        """One page load: the request, the redirects it leads to (as GETs), then what the page names. StepFailed
        when the final answer's status is not in `expect`."""
        response, fetch = await self._send(step, kind, method, url, **kwargs)
        fetches, location = [fetch], ""
        while response.status_code in (301, 302, 303, 307) and "location" in response.headers:
            location = response.headers["location"]
            response, fetch = await self._send(step, f"{kind} → page", "GET", urljoin(str(response.url), location))
            fetches.append(fetch)
        if response.status_code not in expect:
            raise StepFailed(f"{step}: {method} {url} answered {response.status_code}: {response.text[:300]!r}")
        is_html = response.headers.get("content-type", "").startswith("text/html")
        page = PageLoad(step, kind, url, response.status_code, fetches, location=location)
        if is_html:
            page.text = response.text
            page.html_bytes = len(response.content)
            for what, src in subresources(page.text):
                if what == "image" and not pictures:
                    continue
                page.fetches.extend(await self.subresource(step, what, urljoin(str(response.url), src)))
        else:
            page.text = response.text if response.headers.get("content-type", "").startswith("text/") else ""
        return page

    async def subresource(self, step: str, what: str, url: str) -> list[Fetch]:
        """A picture, stylesheet or script through the cache: no request while fresh, else a conditional one."""
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            return []  # only the kit: loopback only
        kept = self.cache.get(url)
        if kept is not None and kept.fresh_until > time.monotonic():
            return []
        headers = {}
        if kept is not None and kept.etag:
            headers["If-None-Match"] = kept.etag
        elif kept is not None and kept.last_modified:
            headers["If-Modified-Since"] = kept.last_modified
        response, fetch = await self._send(step, what, "GET", url, subresource=what, headers=headers)
        fetch.from_cache = response.status_code == 304
        freshness = freshness_s(response.headers.get("cache-control", ""))
        if response.status_code == 304 and kept is not None:
            kept.fresh_until = time.monotonic() + (freshness or 0.0)
        elif response.status_code == 200 and freshness is not None:
            self.cache[url] = _Kept(
                response.headers.get("etag", ""),
                response.headers.get("last-modified", ""),
                time.monotonic() + freshness,
            )
        elif response.status_code == 200:
            self.cache.pop(url, None)
        return [fetch]


class StepFailed(Exception):
    """A request answered other than a person would need to go on."""
