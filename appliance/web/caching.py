"""Cache validation of the library's answers as kiwix-serve 3.7 does it: ETag, 304, and Cache-Control.

Must not import cli. The one place that decides the caching headers of book entries, redirects and dynamic answers
(search, suggestions, catalog, illustrations, metadata), so other response headers can be added beside them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from appliance.content.compression import compressible
from appliance.web.byte_serving import COMPRESS_MAX_PLAIN_BYTES, etag_matches, wants_gzip

# What kiwix-serve sends on answers computed per request, and on every redirect: keep a copy, ask before using it.
DYNAMIC = "max-age=0, must-revalidate"


def zim_content(max_age_s: int) -> str:
    """Cache-Control of a book's own bytes (entries, metadata): kiwix 3.7 says `max-age=3600, must-revalidate`."""
    return f"max-age={max_age_s}, must-revalidate"


def private_file(max_age_s: int) -> str:
    """Cache-Control of a person's file whose URL never changes content (a hand-in photo, its thumbnail): kept by
    that person's browser only (`private`: no cache in between), used without asking for `max_age_s`."""
    return f"private, max-age={max_age_s}"


def file_revalidated(
    request: Request, path: Path, media_type: str, key: str, cache_control: str, headers: dict[str, str]
) -> Response:
    """The file at `path` with an ETag made of `key` (what its bytes depend on, e.g. their SHA-256) and
    `cache_control`, or a bodiless 304 when the client's copy is current: the file is then not even opened."""
    etag = f'"{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"'
    kept = {**headers, "ETag": etag, "Cache-Control": cache_control}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=kept)
    return FileResponse(path, media_type=media_type, headers=kept)


def redirect(url: str) -> RedirectResponse:
    """A 302 with the Cache-Control kiwix-serve gives its redirects (no ETag)."""
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": DYNAMIC})


def _compressed_later(request: Request, response: Response) -> bool:
    """Whether web.compression will gzip this response: its ETag must then differ (RFC 9110 8.8.3)."""
    content_type = response.headers.get("content-type", "")
    return compressible(content_type) and len(response.body) > COMPRESS_MAX_PLAIN_BYTES and wants_gzip(request)


def etag_value(request: Request, key: bytes, per_instance: bool = True) -> str:
    """The ETag (unquoted, without the `/gz` of a gzipped body) of an answer that depends on `key`."""
    digest = hashlib.blake2b(digest_size=12)
    # Dynamic ETags change at each start (as kiwix-serve's do): a restarted kit may serve other books under a URL.
    digest.update((request.app.state.etag_salt if per_instance else "").encode())
    digest.update(key)
    return digest.hexdigest()


def revalidated(
    request: Request, response: Response, *, key: str | None = None, cache_control: str = DYNAMIC, per_instance=True
) -> Response:
    """`response` with an ETag and `cache_control`, or a bodiless 304 when the client's copy is current.

    The ETag is a digest of `key` (what the answer depends on, when its body carries a clock, as OPDS feeds do)
    or else of the body; `per_instance` mixes in the app's start so dynamic ETags change across restarts."""
    if response.status_code != 200:
        return response
    tag = etag_value(request, key.encode() if key is not None else bytes(response.body), per_instance)
    compressed = _compressed_later(request, response)
    etag = f'"{tag}{"/gz" if compressed else ""}"'
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache_control
    if compressible(response.headers.get("content-type", "")) and len(response.body) > COMPRESS_MAX_PLAIN_BYTES:
        response.headers["Vary"] = "Accept-Encoding"
    if not etag_matches(request, etag):
        return response
    kept = {name: response.headers[name] for name in ("ETag", "Cache-Control", "Vary") if name in response.headers}
    return Response(status_code=304, headers=kept)
