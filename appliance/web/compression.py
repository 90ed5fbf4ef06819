"""gzip for the kit's own pages, feeds and assets (book entries compress themselves, once, in delivery).

Must not import cli. Only whole 200 responses of text types are compressed: never ranges,
never media, never a response that already carries a Content-Encoding.
"""

from __future__ import annotations

import gzip

from starlette.datastructures import Headers, MutableHeaders

from appliance.content.compression import compressible
from appliance.web.byte_serving import COMPRESS_MAX_PLAIN_BYTES, GZIP_LEVEL, accepts_gzip


class CompressPages:
    """ASGI middleware: gzip a text response when the client accepts it and it is worth it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            return await self.app(scope, receive, send)
        start: dict | None = None
        chunks: list[bytes] = []

        async def maybe_compress(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                worth_it = (
                    message["status"] == 200
                    and "content-encoding" not in headers
                    and compressible(headers.get("content-type", ""))
                )
                if not worth_it:
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await _send_whole(send, start, b"".join(chunks))

        await self.app(scope, receive, maybe_compress)


async def _send_whole(send, start: dict, body: bytes) -> None:
    headers = MutableHeaders(raw=start["headers"])
    if len(body) > COMPRESS_MAX_PLAIN_BYTES:
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        if "accept-encoding" not in headers.get("vary", "").lower():  # web.caching may have said it already
            headers.add_vary_header("Accept-Encoding")
    await send(start)
    await send({"type": "http.response.body", "body": body})
