"""Which MIME types are worth compressing: one list for libzim's compression hint when a book or layer is written
(content.zimwriter) and for gzip on the wire (web.byte_serving).

Imports nothing but the standard library: a web worker reads it at start, without libzim's writer.
"""

from __future__ import annotations

import re

# Text and text-like formats (markup, code, data, vector images, uncompressed fonts). PNG, JPEG, WebP, audio, video,
# WOFF/WOFF2 and archives are compressed already: libzim stores them in plain clusters, so a reader gets them without
# decompressing their neighbours, and gzip on the wire would only spend a Pi's CPU on them.
_COMPRESSIBLE = re.compile(
    r"^(text/"
    r"|image/(svg\+xml|bmp|x-icon|vnd\.microsoft\.icon)"
    r"|application/(javascript|x-javascript|ecmascript|json|xml|xhtml\+xml|[a-z0-9.+-]*\+(xml|json)"
    r"|x-subrip|vnd\.ms-fontobject|x-font-ttf|x-font-otf|font-sfnt|x-tex|rtf|x-sh|sql|wasm)"
    r"|font/(ttf|otf|sfnt|collection)"
    r")"
)


def compressible(mimetype: str) -> bool:
    """Whether bytes of this MIME type (parameters such as `; charset=utf-8` ignored) shrink when compressed."""
    return _COMPRESSIBLE.match(mimetype.split(";")[0].strip().lower()) is not None
