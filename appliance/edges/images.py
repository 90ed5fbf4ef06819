"""Photos through Pillow: scale a photo down, turn it upright, and write it again without its metadata (a phone's
EXIF carries the GPS location where the child took it); a small JPEG thumbnail of it. The only module that imports PIL.

Must not import content, storage or services. Refusals are UploadRefusedError, with a stable code each.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from appliance.edges import memory
from appliance.errors import UploadBusyError, UploadRefusedError

if TYPE_CHECKING:  # Pillow is imported where a picture is opened: a web worker starts without it
    from PIL import Image

# A 12 MP phone photo has 12 M pixels, a phone panorama ~40 M. Above this the header is lying or the file is made to
# exhaust memory (a "decompression bomb": a few KB that decode to gigabytes); refused before any pixel is decoded.
MAX_PIXELS = 50_000_000
# What one decode may hold, counted from the header before any pixel is decoded (issue 14): a 2 KB lossless WebP of
# 16383 × 3051, under MAX_PIXELS, took a worker from 75 MB to 1.06 GB. 48 MiB holds a 12 MP PNG (4000 × 3000 × 4)
# and a phone's JPEG read at reduced size; a decode's peak is about twice this (Pillow's resize converts RGBA to
# premultiplied first), ~100 MB: one at a time per worker fits a 1 GB Pi beside the library (tpkit-web's MemoryHigh).
DECODE_MAX_BYTES = 48 * 2**20
# Bytes a pixel takes in Pillow's memory by mode: 1 for grey and palette, 2 for 16-bit grey, 4 for the rest (Pillow
# stores RGB in 4 bytes too). Multiplied for a format whose decoder holds copies of its own: Pillow's WebP decoder
# returns libwebp's RGBA canvas as bytes and copies it in (bench: 15 bytes a pixel at peak for a 12 MP WebP).
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
DECODER_COPIES = {"WEBP": 4}
# How long a hand-in waits for another photo's decode in the same worker before it is told to try again: a decode
# within DECODE_MAX_BYTES takes under a second here and about two on a Pi 4, so a few hand-ins queue; more than that
# (a class at the bell, or someone sending pictures in a loop) would otherwise hold web threads for minutes.
DECODE_WAIT_S = 10
JPEG_QUALITY = 80  # no visible loss on a photo of handwriting, a third of the size of a phone's ~92
# What a photo takes once shrunk, at most, per pixel (JPEG at JPEG_QUALITY: ~0.1–0.3 for a photo of a page, ~0.45
# for pure noise): what the quotas count for a photo still waiting to be shrunk (services/learning/handin_photos).
EXPECTED_BYTES_PER_PIXEL = 0.5
# A thumbnail is looked at, not read: handwriting stays legible at 320 px and quality 70, ~10–25 KB a photo.
THUMB_QUALITY = 70
THUMB_BACKGROUND = (255, 255, 255)  # a transparent PNG's or GIF's see-through parts, on the page's white
# Of what Pillow read beside the pixels (`Image.info`), only what the picture needs to look the same is written again:
# a GIF's or PNG's transparent colour. EXIF, XMP, a JPEG's comment (COM), ICC profiles and PNG text chunks go; Pillow
# writes a JPEG's comment and XMP from `info` unless asked not to (issue 14: a hand-in kept its COM segment).
KEPT_INFO = ("transparency",)

log = logging.getLogger(__name__)
_decoding = threading.Lock()  # one decode at a time in this process: N at once cost N times the memory


def shrink(source: Path, target: BinaryIO, max_edge_px: int, shown: str) -> bool:
    """Write the image at `source` to `target` in the same format, at most `max_edge_px` on its longer edge,
    upright (EXIF orientation applied) and with no metadata; True once written. A GIF keeps its first frame only, as a still GIF: the
    other frames of an animation are never decoded, so they cost neither memory nor space on the SD card.
    UploadRefusedError when it cannot be decoded, has more than MAX_PIXELS pixels or would take more than
    DECODE_MAX_BYTES to decode (read from its header); UploadBusyError when another decode held this worker for
    DECODE_WAIT_S."""
    _decode_once(source, shown, max_edge_px, lambda image: _write(image, target, max_edge_px))
    return True


def thumbnail(source: Path, target: BinaryIO, max_edge_px: int, shown: str) -> None:
    """Write a JPEG thumbnail of the picture at `source` to `target`: at most `max_edge_px` on its longer edge,
    upright, transparency on white, no metadata. The same refusals as `shrink`."""
    _decode_once(source, shown, max_edge_px, lambda image: _write_thumbnail(image, target, max_edge_px))


def _decode_once(source: Path, shown: str, max_edge_px: int, write: Callable[[Image.Image], None]) -> None:
    """Open the picture, check its size and decoding cost from its header, then `write(image)` under the one-decode
    lock; every failure of Pillow's becomes the UploadRefusedError a person can act on."""
    from PIL import Image

    with _refusals(shown), Image.open(source) as image:
        _check_size(image, shown)
        if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale: far less memory and work on a Pi
            image.draft("RGB", _draft_box(image.size, max_edge_px))
        _check_cost(image, shown)
        with _one_decode(shown):
            try:
                write(image)
            finally:
                image.close()  # drops the decoded pixels before they are given back below
                memory.give_back()


def check_jpeg(source: Path, max_edge_px: int, shown: str) -> int | None:
    """Prove the camera JPEG at `source` whole without decoding it: its header checked as `shrink` checks it, then its
    segments walked from the start through every scan to the end-of-image marker (what an upload cut short, or a file
    that only starts like a JPEG, lacks). About a millisecond for a 5 MP photo, against ~15 ms for reading its data at
    1/8 scale and ~130 ms for a full decode: forty children hand in at the bell. Damage inside a scan's data is found
    when the photo is made small (services/learning/handin_photos); libjpeg reads most such damage as grey blocks
    anyway. The bytes it will take once `shrink` has made it `max_edge_px` (an upper estimate), or None when it is no
    JPEG (such a picture is shrunk at once). The same refusals as `shrink`, without waiting for another decode."""
    from PIL import Image

    with _refusals(shown), Image.open(source) as image:
        if image.format != "JPEG":
            return None
        _check_size(image, shown)
        width, height = image.size
        if not jpeg_complete(source.read_bytes()):
            raise OSError("the JPEG's segments end before its end-of-image marker")
    small_w, small_h = _draft_box((width, height), max_edge_px)
    return math.ceil(small_w * small_h * EXPECTED_BYTES_PER_PIXEL)


# In a scan's entropy-coded data a 0xFF byte of the data is followed by 0x00, a restart marker is 0xFFD0-0xFFD7 and
# 0xFF may be repeated as fill: the first other 0xFFxx after a scan is the marker that follows it (ITU T.81, B.1.1).
_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # markers without a length: RSTn, TEM


def jpeg_complete(data: bytes) -> bool:
    """Whether `data` is a JPEG whose marker segments run from its start-of-image through at least one scan to its
    end-of-image marker (bytes after it, as some phones append, are allowed)."""
    if data[:2] != b"\xff\xd8":
        return False
    pos, end, scans = 2, len(data), 0
    while pos < end:
        if data[pos] != 0xFF:
            return False
        while pos < end and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= end:
            return False
        code = data[pos]
        pos += 1
        if code == 0xD9:
            return scans > 0
        if code in _STANDALONE:
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > end:
            return False
        pos += length
        if code == 0xDA:  # start of scan: its entropy-coded data runs to the next marker
            scans += 1
            after = _MARKER_AFTER_SCAN.search(data, pos)
            if after is None:
                return False
            pos = after.start()
    return False


@contextlib.contextmanager
def _refusals(shown: str) -> Iterator[None]:
    """Pillow's failures as the UploadRefusedError a person can act on; a decompression bomb's warning as an error."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except UploadRefusedError:  # a ValueError too: not to be taken for an unreadable file below
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(shown) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow's message names the file by its path in the data folder: logged for the technician, never shown.
        log.info("%s could not be read as a picture: %s", shown, exc)
        raise UploadRefusedError(
            f"{shown} could not be read as a picture.",
            code="upload.image_unreadable",
            fix="Take the photo again; if it was sent from another app, send the photo itself, not a screenshot of it.",
        ) from exc


def decode_cost_bytes(image: Image.Image) -> int:
    """What decoding `image` (opened, not loaded; a JPEG after its draft) will hold in memory, from its header."""
    width, height = image.size
    per_pixel = BYTES_PER_PIXEL.get(image.mode, 4) * DECODER_COPIES.get(image.format or "", 1)
    return width * height * per_pixel


def _check_size(image: Image.Image, shown: str) -> None:
    width, height = image.size  # from the header: nothing decoded yet
    if width * height > MAX_PIXELS:
        raise _bomb(shown, f"{width} × {height} pixels")


def _check_cost(image: Image.Image, shown: str) -> None:
    cost = decode_cost_bytes(image)
    if cost > DECODE_MAX_BYTES:
        width, height = image.size
        raise UploadRefusedError(
            f"{shown} would take {cost // 2**20} MB of memory to open ({image.format} of {width} × {height} pixels; "
            f"at most {DECODE_MAX_BYTES // 2**20} MB).",
            code="upload.image_too_costly",
            cause="a PNG or WebP picture is opened whole; only a JPEG photo can be read at a reduced size",
            fix="Send the photo as the camera took it (JPEG), or a smaller picture.",
        )


def _draft_box(size: tuple[int, int], max_edge_px: int) -> tuple[int, int]:
    """The size the thumbnail will have, for JPEG's draft: both edges, so a panorama is read at 1/8 too."""
    ratio = min(1.0, max_edge_px / max(size))
    return max(1, math.ceil(size[0] * ratio)), max(1, math.ceil(size[1] * ratio))


@contextlib.contextmanager
def _one_decode(shown: str) -> Iterator[None]:
    if not _decoding.acquire(timeout=DECODE_WAIT_S):
        raise UploadBusyError(
            f"The kit is busy opening other photos; {shown} was not kept.",
            code="upload.busy",
            cause="many photos were handed in at the same moment",
            fix="Wait a minute and hand in again.",
        )
    try:
        yield
    finally:
        _decoding.release()


def _bomb(shown: str, size: str = "too many pixels") -> UploadRefusedError:
    return UploadRefusedError(
        f"{shown} is too large a picture to open ({size}; at most {MAX_PIXELS:,} pixels).",
        code="upload.image_too_large",
        fix="Take the photo with the phone's normal camera setting, not a panorama.",
    )


def _write(image: Image.Image, target: BinaryIO, max_edge_px: int) -> None:
    from PIL import Image, ImageOps

    kind = image.format
    image.load()  # under the lock, after the checks: the only full decode
    # Scaled down before it is turned upright: the box is square, so the longer edge is the same either way, and
    # turning the small picture costs a small copy instead of a second full-size one.
    image.thumbnail((max_edge_px, max_edge_px), Image.Resampling.LANCZOS)
    upright = ImageOps.exif_transpose(image)  # a copy, with `info` copied
    upright.info = {key: upright.info[key] for key in KEPT_INFO if key in upright.info}
    if kind == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(target, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif kind == "WEBP":
        upright.save(target, "WEBP", quality=JPEG_QUALITY)
    else:  # PNG, and a GIF's first frame (saved without save_all: one frame)
        upright.save(target, kind, optimize=True)


def _write_thumbnail(image: Image.Image, target: BinaryIO, max_edge_px: int) -> None:
    from PIL import Image, ImageOps

    image.load()
    image.thumbnail((max_edge_px, max_edge_px), Image.Resampling.LANCZOS)
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "P", "PA"):  # a palette may hold a transparent colour: on white
        rgba = upright.convert("RGBA")
        upright = Image.new("RGB", rgba.size, THUMB_BACKGROUND)
        upright.paste(rgba, mask=rgba.getchannel("A"))
    elif upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    upright.info = {}
    upright.save(target, "JPEG", quality=THUMB_QUALITY, optimize=True)


def picture_size(source: Path) -> tuple[int, int] | None:
    """A picture's width and height in pixels from its header (no pixel decoded), or None when it is not one Pillow
    reads: `tpkit pack` writes them on its pages so a phone lays out a lazily loaded page before it arrives."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            return image.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
