"""Photos through Pillow: scale a photo down, turn it upright, and write it again without its metadata (a phone's
EXIF carries the GPS location where the child took it). The only module that imports PIL.

Must not import content, storage or services. Refusals are UploadRefusedError, with a stable code each.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from appliance.errors import UploadRefusedError

# A 12 MP phone photo has 12 M pixels, a phone panorama ~40 M. Above this the header is lying or the file is made to
# exhaust memory (a "decompression bomb": a few KB that decode to gigabytes); refused before any pixel is decoded.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 80  # no visible loss on a photo of handwriting, a third of the size of a phone's ~92
KEPT_AS_SENT = ("GIF",)  # may be animated; carries no EXIF


def shrink(source: Path, target: BinaryIO, max_edge_px: int, shown: str) -> bool:
    """Write the image at `source` to `target` in the same format, at most `max_edge_px` on its longer edge,
    upright (EXIF orientation applied) and with no metadata; False (nothing written) for a kind kept as sent.
    UploadRefusedError when it cannot be decoded or has more than MAX_PIXELS pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.format in KEPT_AS_SENT:
                    return False
                _check_size(image, shown)
                _write(image, target, max_edge_px)
    except UploadRefusedError:  # a ValueError too: not to be taken for an unreadable file below
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(shown) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRefusedError(f"{shown} could not be read as a picture ({exc}).", code="upload.image_unreadable",
                                 fix="Take the photo again; if it was sent from another app, send the photo "
                                     "itself, not a screenshot of it.") from exc
    return True


def _check_size(image: Image.Image, shown: str) -> None:
    width, height = image.size  # from the header: nothing decoded yet
    if width * height > MAX_PIXELS:
        raise _bomb(shown, f"{width} × {height} pixels")


def _bomb(shown: str, size: str = "too many pixels") -> UploadRefusedError:
    return UploadRefusedError(f"{shown} is too large a picture to open ({size}; at most {MAX_PIXELS:,} pixels).",
                              code="upload.image_too_large",
                              fix="Take the photo with the phone's normal camera setting, not a panorama.")


def _write(image: Image.Image, target: BinaryIO, max_edge_px: int) -> None:
    kind = image.format
    if kind == "JPEG":
        image.draft("RGB", (max_edge_px, max_edge_px))  # decode at 1/2, 1/4 or 1/8 scale: far less work on a Pi
    upright = ImageOps.exif_transpose(image)
    upright.thumbnail((max_edge_px, max_edge_px), Image.Resampling.LANCZOS)
    if kind == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(target, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif kind == "WEBP":
        upright.save(target, "WEBP", quality=JPEG_QUALITY)
    else:
        upright.save(target, kind, optimize=True)
