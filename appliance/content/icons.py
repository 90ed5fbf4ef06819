"""Tiny PNG images drawn in code (book illustrations for the demo library), so no image library is needed.

Imports nothing from the package.
"""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, pixel) -> bytes:
    """An RGB PNG where `pixel(x, y)` returns (r, g, b)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    )


def badge(size: int, background: tuple[int, int, int], foreground: tuple[int, int, int]) -> bytes:
    """A square icon: a coloured field with a centred disc, recognisable at 48 px."""
    centre, radius = (size - 1) / 2, size * 0.3

    def pixel(x: int, y: int):
        inside = (x - centre) ** 2 + (y - centre) ** 2 <= radius**2
        return foreground if inside else background

    return png(size, size, pixel)
