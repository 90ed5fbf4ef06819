"""Who: a pupil (or anyone on the classroom Wi-Fi) handing in homework. From where: the hand-in form, as a photo.
With what: a picture that is small as a file but huge decoded (a 2 KB lossless WebP of 16383 × 3051, a 190 KB PNG of
7000 × 7000), several at once, to take a web worker, and the kit's 1 GB of memory, with it.
What stops them: edges/images reads the header only and refuses above a decode budget per format (a JPEG is read at
reduced size first), decodes one picture at a time per worker (the others wait, then hear "busy"), gives the memory
back after, and the web unit's MemoryHigh/MemoryMax bound what is left (docs/security.md)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time

import pytest
from PIL import Image

from appliance.edges import images
from appliance.errors import UploadBusyError, UploadRefusedError
from tests.photo_data import phone_jpeg

# Measured in a fresh interpreter, so the figures are the decode's alone: peak RSS (VmHWM) growth and CPU time.
MEASURE = r"""
import io, json, resource, sys, time
from pathlib import Path
from appliance.edges import images
from appliance.errors import UploadRefusedError

def hwm_kb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])

source = Path(sys.argv[1])
before, cpu = hwm_kb(), time.process_time()
try:
    written, code = images.shrink(source, io.BytesIO(), 1600, source.name), None
except UploadRefusedError as exc:
    written, code = False, exc.code
print(json.dumps({"grew_mb": (hwm_kb() - before) / 1024, "cpu_s": time.process_time() - cpu, "code": code,
                  "written": written}))
"""


def _measured(path) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _saved(path, image: Image.Image, kind: str, **options) -> int:
    image.save(path, kind, **options)
    return path.stat().st_size


def test_security_lossless_webp_bomb_is_refused_cheaply(tmp_path):
    bomb = tmp_path / "bomb.webp"
    assert _saved(bomb, Image.new("RGB", (16383, 3051)), "WEBP", lossless=True) < 10_000  # a few KB on the wire
    found = _measured(bomb)
    assert found["code"] == "upload.image_too_costly", found
    assert found["grew_mb"] < 50 and found["cpu_s"] < 1, found


def test_security_png_of_7000_square_is_refused_cheaply(tmp_path):
    bomb = tmp_path / "bomb.png"
    assert _saved(bomb, Image.new("RGB", (7000, 7000), (250, 250, 250)), "PNG") < 500_000
    found = _measured(bomb)
    assert found["code"] == "upload.image_too_costly", found
    assert found["grew_mb"] < 50 and found["cpu_s"] < 1, found


def test_security_phone_jpeg_of_4000_by_3000_still_kept(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(phone_jpeg(4000, 3000))
    found = _measured(photo)
    assert found["written"] is True and found["code"] is None, found
    assert found["grew_mb"] < images.DECODE_MAX_BYTES * 2.5 / 2**20, found  # read at half size: ~12 MB decoded


def test_security_jpeg_panorama_is_read_at_an_eighth(tmp_path):
    """A JPEG panorama under MAX_PIXELS is kept: draft mode reads it at 1/8 on both edges, inside the budget."""
    panorama = tmp_path / "pano.jpg"
    Image.new("RGB", (16000, 3000), (90, 120, 200)).save(panorama, "JPEG")
    kept = io.BytesIO()
    assert images.shrink(panorama, kept, 1600, "pano.jpg")
    assert Image.open(kept).size == (1600, 300)


def test_security_png_photo_within_the_budget_still_kept(tmp_path):
    screenshot = tmp_path / "shot.png"
    Image.new("RGBA", (1080, 2400), (1, 2, 3, 255)).save(screenshot, "PNG")  # a phone's screenshot
    assert images.shrink(screenshot, io.BytesIO(), 1600, "shot.png")


def test_security_second_decode_waits_then_is_told_busy(tmp_path, monkeypatch):
    """A decode holding the worker past DECODE_WAIT_S: the next hand-in hears "busy" (503), not a 500 or a hang."""
    # The wait is shortened (the real one is 10 s): a clock of the test, not a library internal.
    monkeypatch.setattr(images, "DECODE_WAIT_S", 0.2)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(phone_jpeg(400, 300))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with images._one_decode("first.jpg"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with pytest.raises(UploadBusyError) as caught:
            images.shrink(photo, io.BytesIO(), 1600, "photo.jpg")
        assert 0.2 <= time.monotonic() - started < 2
        assert caught.value.code == "upload.busy" and caught.value.status == 503
        assert isinstance(caught.value, UploadRefusedError)  # callers that drop a refused hand-in drop this too
    finally:
        release.set()
        holder.join()
    assert images.shrink(photo, io.BytesIO(), 1600, "photo.jpg")  # free again once the first is done
