"""Real photos for tests, made with Pillow: a phone-sized JPEG with EXIF (GPS location, orientation), and a PNG
whose header claims more pixels than any photo (a decompression bomb) while its file is a few hundred bytes."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image

GPS_LATITUDE = (39.0, 54.0, 27.5)  # somewhere a school is: what must not leave the phone with the homework


def phone_jpeg(width: int = 4000, height: int = 3000, *, orientation: int = 1, quality: int = 92) -> bytes:
    """A noisy JPEG (4000 × 3000: ~4.7 MB, what a phone sends) with EXIF: GPS position, camera, orientation."""
    noise = Image.effect_noise((width, height), 12)
    picture = Image.merge(
        "RGB",
        (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.linear_gradient("L").resize((width, height))),
    )
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 17.0)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def small_jpeg(width: int = 48, height: int = 32) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def bomb_png(side_px: int = 100_000) -> bytes:
    """A PNG header saying side_px × side_px (10 G pixels for the default) with one tiny compressed row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side_px, side_px, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def exif_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())
