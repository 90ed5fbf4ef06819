"""Hand-in photos over real HTTP: a 4000 × 3000 phone JPEG with GPS in its EXIF is kept scaled down, upright and
without EXIF; the row's size and digest are the stored file's; a decompression bomb or a broken photo is refused
with its code and leaves no file. A camera's JPEG is made small after the answer: a photo still waiting is made
when first asked for or when the kit starts again, and one that cannot be read after all is said to be so."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image

from appliance.services.learning import handin_photos, thumbnails
from appliance.web.i18n import MESSAGES
from tests.photo_data import bomb_png, phone_jpeg
from tests.web.lesson_data import hand_in, make_lesson


def test_handin_photo_scaled_down_without_exif(kit, roles):
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Draw a map")
    sent = phone_jpeg(4000, 3000, orientation=6)
    assert len(sent) > 2_000_000  # what a phone sends
    done = hand_in(clients["student_a"], lesson_id, "", [("IMG_2041.JPG", sent, "image/jpeg")])
    assert done.status_code == 303, done.text
    [handin] = kit.lessons.handins_of(lesson_id, ids["a"]["students"][0])
    assert handin_photos.wait_idle(30)  # made small after the answer (services/learning/handin_photos)
    [row] = kit.lessons.handin_files(handin["id"])
    stored = (kit.paths.uploads_dir / "handins" / row["stored_name"]).read_bytes()
    assert len(stored) < len(sent) / 3 and row["size_bytes"] == len(stored)
    assert list(handin_photos.folder(kit).iterdir()) == []  # nothing kept as sent, with its EXIF
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


def _left_waiting(kit, roles, sent: bytes) -> dict:
    """A hand-in whose photo is back in the state a power cut leaves: kept as sent in uploads/handin_waiting/, not made
    small (its made file and thumbnail gone); its file row."""
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Leaf drawing")
    assert (
        hand_in(clients["student_a"], lesson_id, "", [("leaf.jpg", phone_jpeg(800, 600), "image/jpeg")]).status_code
        == 303
    )
    assert handin_photos.wait_idle(30)
    [handin] = kit.lessons.handins_of(lesson_id, ids["a"]["students"][0])
    [row] = kit.lessons.handin_files(handin["id"])
    made = kit.paths.uploads_dir / "handins" / row["stored_name"]
    made.unlink()
    thumbnails.remove(made, thumbnails.folder(kit))
    (handin_photos.folder(kit) / row["stored_name"]).write_bytes(sent)
    return dict(row)


def test_photo_still_waiting_is_made_when_first_asked_for(kit, roles):
    clients, _ = roles
    sent = phone_jpeg(3000, 2000, orientation=6)
    row = _left_waiting(kit, roles, sent)
    lesson_id = kit.lessons.handin(row["handin_id"])["lesson_id"]
    mine = clients["student_a"].get(f"/me/lessons/{lesson_id}", headers={"Accept-Language": "en"}).text
    assert "Photo received; getting it ready" in mine and f"/files/handin/{row['id']}/thumb" not in mine
    served = clients["teacher_a"].get(f"/files/handin/{row['id']}")
    assert served.status_code == 200 and b"Exif" not in served.content and len(served.content) < len(sent) / 3
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (1067, 1600)  # upright: the phone held sideways
    again = kit.lessons.handin_file(row["id"])
    assert again["size_bytes"] == len(served.content)
    assert again["sha256"] == hashlib.sha256(served.content).hexdigest() != row["sha256"]
    assert list(handin_photos.folder(kit).iterdir()) == []
    assert clients["teacher_a"].get(f"/files/handin/{row['id']}/thumb").status_code == 200


def test_photos_left_waiting_are_made_when_the_kit_starts(kit, roles):
    row = _left_waiting(kit, roles, phone_jpeg(1200, 900))
    assert handin_photos.resume(kit) == 1 and handin_photos.wait_idle(30)
    made = kit.paths.uploads_dir / "handins" / row["stored_name"]
    assert made.exists() and kit.lessons.handin_file(row["id"])["size_bytes"] == made.stat().st_size
    assert thumbnails.path_of(made, thumbnails.folder(kit)).exists()
    assert list(handin_photos.folder(kit).iterdir()) == []


def test_photo_that_cannot_be_made_after_all_is_said_to_be_so(kit, roles):
    clients, _ = roles
    broken = phone_jpeg(1200, 900)
    row = _left_waiting(kit, roles, broken[:600] + bytes(len(broken) - 600))  # its data zeroed after the header
    refused = clients["teacher_a"].get(f"/files/handin/{row['id']}", headers={"Accept-Language": "en"})
    assert refused.status_code == 404
    assert MESSAGES.translator("en")("error.lesson.photo_unreadable") in refused.text
    assert list(handin_photos.folder(kit).iterdir()) == []  # dropped, not tried at every start


def test_photos_wait_while_the_class_keeps_the_kit_busy(kit, roles):
    """Forty children hand in at the bell and go straight on to the quiz: the photos are made once the web process
    has had no new request for QUIET_S, not while the class is still asking for pages (at most DEFER_MAX_S later)."""
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Bell")
    sent = [("bell.jpg", phone_jpeg(800, 600), "image/jpeg")]
    assert hand_in(clients["student_a"], lesson_id, "", sent).status_code == 303
    [handin] = kit.lessons.handins_of(lesson_id, ids["a"]["students"][0])
    [row] = kit.lessons.handin_files(handin["id"])
    busy_until = time.monotonic() + 4 * handin_photos.QUIET_S
    while time.monotonic() < busy_until:  # the class keeps asking for pages, back to back
        assert clients["student_a"].get("/me").status_code == 200
        assert row["stored_name"] in handin_photos.waiting(kit)
    started = time.monotonic()
    assert handin_photos.wait_idle(30)  # then a pause: made
    assert time.monotonic() - started >= handin_photos.QUIET_S / 2
    assert row["stored_name"] not in handin_photos.waiting(kit)
    assert (kit.paths.uploads_dir / "handins" / row["stored_name"]).exists()
