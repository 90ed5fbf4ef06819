"""Hand-in photos over real HTTP: a 4000 × 3000 phone JPEG with GPS in its EXIF is kept scaled down, upright and
without EXIF; the row's size and digest are the stored file's; a decompression bomb or a broken photo is refused
with its code and leaves no file."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from appliance.web.i18n import MESSAGES
from tests.photo_data import bomb_png, phone_jpeg
from tests.web.lesson_data import hand_in, make_lesson
from tests.web.people_clients import role_clients


@pytest.fixture
def roles(kit, live):
    clients, ids = role_clients(kit, live.url)
    yield clients, ids
    for http in clients.values():
        http.close()


def test_handin_photo_scaled_down_without_exif(kit, roles):
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Draw a map")
    sent = phone_jpeg(4000, 3000, orientation=6)
    assert len(sent) > 2_000_000  # what a phone sends
    done = hand_in(clients["student_a"], lesson_id, "", [("IMG_2041.JPG", sent, "image/jpeg")])
    assert done.status_code == 303, done.text
    [handin] = kit.lessons.handins_of(lesson_id, ids["a"]["students"][0])
    [row] = kit.lessons.handin_files(handin["id"])
    stored = (kit.paths.uploads_dir / "handins" / row["stored_name"]).read_bytes()
    assert len(stored) < len(sent) / 3 and row["size_bytes"] == len(stored)
    assert row["sha256"] == hashlib.sha256(stored).hexdigest() and row["media_type"] == "image/jpeg"
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (1200, 1600) and dict(image.getexif()) == {}
        image.verify()
    assert b"Exif" not in stored
    served = clients["teacher_a"].get(f"/files/handin/{row['id']}")
    assert served.status_code == 200 and served.content == stored
    assert [p.name for p in (kit.paths.uploads_dir / "handins").iterdir()] == [row["stored_name"]]


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("bomb.png", bomb_png(), "upload.image_too_large"),
        ("cut.jpg", phone_jpeg(400, 300)[:2000], "upload.image_unreadable"),
    ],
)
def test_handin_photo_refused_leaves_nothing(kit, roles, name, data, code):
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Photos")
    refused = hand_in(clients["student_a"], lesson_id, "see photo", [(name, data, "image/png")])
    assert (  # the lesson page again, the message beside the photos, the answer as typed (issue 16)
        refused.status_code == 400
        and 'id="photos-error"' in refused.text
        and ">see photo</textarea>" in refused.text
        and MESSAGES.translator("en")(f"error.{code}") in refused.text
    )
    assert kit.lessons.handins_of(lesson_id, ids["a"]["students"][0]) == []
    folder = kit.paths.uploads_dir / "handins"
    assert not folder.exists() or list(folder.iterdir()) == []
