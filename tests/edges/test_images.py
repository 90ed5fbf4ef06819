"""Photos scaled down with Pillow on real JPEG and PNG files: smaller, upright, no EXIF (no GPS), still a valid
picture; unreadable files and decompression bombs refused with their codes, before any pixel is decoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from appliance.edges import images
from appliance.errors import UploadRefusedError
from tests.photo_data import bomb_png, exif_of, phone_jpeg, small_jpeg


def _shrunk(tmp_path, data: bytes, edge: int = 1600, name: str = "in.jpg") -> tuple[bool, bytes]:
    source = tmp_path / name
    source.write_bytes(data)
    out = io.BytesIO()
    written = images.shrink(source, out, edge, name)
    return written, out.getvalue()


def test_images_phone_photo_scaled_down_upright_without_exif(tmp_path):
    sent = phone_jpeg(4000, 3000, orientation=6)  # held upright: the sensor's landscape turned 90°
    assert len(sent) > 1_500_000 and 34853 in exif_of(sent)  # GPS IFD present
    written, kept = _shrunk(tmp_path, sent)
    assert written and len(kept) < len(sent) / 3
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and image.size == (1200, 1600)
        image.load()
        assert dict(image.getexif()) == {} and "exif" not in image.info
    assert b"Exif" not in kept and b"PhoneMaker" not in kept


def test_images_small_photo_kept_small_and_png_rewritten(tmp_path):
    written, kept = _shrunk(tmp_path, small_jpeg(48, 32))
    with Image.open(io.BytesIO(kept)) as image:
        assert written and image.size == (48, 32)
    png = io.BytesIO()
    Image.new("RGB", (3000, 1000), (200, 30, 30)).save(png, "PNG")
    written, kept = _shrunk(tmp_path, png.getvalue(), edge=900, name="shot.png")
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "PNG" and image.size == (900, 300)


def test_images_animated_gif_kept_as_its_first_frame_scaled_down(tmp_path):
    """A GIF is no longer kept as sent (issue 14: a pupil stored 180 MB of GIFs in three requests): its first frame
    is decoded within the same budget and written again as a still GIF, scaled down, without its comment."""
    frames = [Image.new("P", (3200, 1600), colour) for colour in (1, 2, 3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, comment=b"made by Wei Wang")
    written, kept = _shrunk(tmp_path, gif.getvalue(), edge=800, name="a.gif")
    with Image.open(io.BytesIO(kept)) as image:
        assert written and image.format == "GIF" and image.size == (800, 400)
        assert getattr(image, "n_frames", 1) == 1 and "comment" not in image.info
    assert b"Wei Wang" not in kept


def test_images_jpeg_comment_and_app_segments_removed(tmp_path):
    """Pillow writes a JPEG's comment (COM) and XMP again from what it read unless told otherwise (issue 14)."""
    sent = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 30)).save(sent, "JPEG", comment=b"Wei Wang, class 3", exif=b"Exif\0\0MM")
    assert _markers(sent.getvalue()) >= {0xFE, 0xE1}
    written, kept = _shrunk(tmp_path, sent.getvalue())
    assert written and b"Wei Wang" not in kept
    assert _markers(kept) & ({0xFE} | set(range(0xE1, 0xF0))) == set()  # no COM, no APPn but JFIF's APP0


def _markers(jpeg: bytes) -> set[int]:
    """The segment markers of a JPEG up to its image data (start of scan)."""
    found, at = set(), 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF and jpeg[at + 1] != 0xDA:
        found.add(jpeg[at + 1])
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")
    return found


@pytest.mark.parametrize(
    "side_px, said",
    [
        (8000, "8000 × 8000 pixels"),  # over MAX_PIXELS, under Pillow's own
        (100_000, "too many pixels"),
    ],
)  # Pillow's DecompressionBombError
def test_images_refuses_bomb_before_decoding(tmp_path, side_px, said):
    with pytest.raises(UploadRefusedError) as caught:
        _shrunk(tmp_path, bomb_png(side_px), name="bomb.png")
    assert caught.value.code == "upload.image_too_large" and said in caught.value.message


@pytest.mark.parametrize("data", [phone_jpeg(400, 300)[:3000], b"\xff\xd8\xff\xe0" + b"\x00" * 500])
def test_images_refuses_unreadable(tmp_path, data):
    with pytest.raises(UploadRefusedError) as caught:
        _shrunk(tmp_path, data)
    assert caught.value.code == "upload.image_unreadable"


def _progressive(data: bytes) -> bytes:
    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.save(out, "JPEG", progressive=True, quality=85)
    return out.getvalue()


def test_images_jpeg_complete_walks_every_scan_to_its_end():
    """A camera's JPEG is checked whole while the child waits by walking its segments (edges/images.check_jpeg):
    whole, progressive (many scans), with bytes after its end (some phones append their own), with fill bytes before
    a marker; and refused when cut anywhere, however little."""
    whole = phone_jpeg(640, 480)
    progressive = _progressive(whole)
    assert progressive.count(b"\xff\xda") > 1  # several scans, each with its own data
    for data in (whole, progressive, whole + b"SEFT trailer", whole[:-2] + b"\xff\xff\xff\xd9"):
        assert images.jpeg_complete(data)
    for data in (whole, progressive):
        for cut in (len(data) - 1, len(data) - 2, len(data) // 2, data.index(b"\xff\xda") + 8, 600, 4, 2):
            assert not images.jpeg_complete(data[:cut]), cut
    assert not images.jpeg_complete(small_jpeg().replace(b"\xff\xda", b"\xff\xfe"))  # no scan at all
    assert not images.jpeg_complete(b"\x89PNG\r\n\x1a\n" + whole[8:])


def test_images_check_jpeg_refuses_a_cut_photo_and_estimates_a_whole_one(tmp_path):
    whole = tmp_path / "whole.jpg"
    whole.write_bytes(phone_jpeg(2000, 1500))
    assert 0 < images.check_jpeg(whole, 1600, "whole.jpg") <= 1600 * 1200 * images.EXPECTED_BYTES_PER_PIXEL + 1
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[:-5000])
    with pytest.raises(UploadRefusedError) as caught:
        images.check_jpeg(cut, 1600, "IMG_1.jpg")
    assert caught.value.code == "upload.image_unreadable" and "IMG_1.jpg" in caught.value.message
