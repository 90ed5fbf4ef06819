"""Who: a pupil, signed in. From where: the hand-in form of their own homework, over the classroom Wi-Fi. With what:
many large pictures handed in again and again (before, issue 14: GIFs were kept as sent, never decoded, and a pupil
stored 180 MB in three requests) until the SD card is full and the kit cannot write its database; and pictures made
to be refused, to read the kit's answer (before: an unreadable photo's message showed the data folder's path).
What stops them: every picture is decoded within the budget and kept scaled down (a GIF as its first frame); each
student has a quota per lesson and one for all lessons, counted on what is kept, and the data disk keeps a reserve
(services/learning/quotas.py, settings handin_*_quota_mb and handin_free_reserve_mb): the pupil reads what happened
and what to do in their language; no refusal names a folder of the kit. Real uvicorn, real SQLite, real files."""

from __future__ import annotations

import dataclasses
import io
import random

import pytest
from PIL import Image

from appliance.services.kit import open_kit
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.photo_data import bomb_png, phone_jpeg
from tests.web.lesson_data import hand_in, make_lesson
from tests.web.people_clients import csrf, role_clients

MB = 1024 * 1024


def noise_png(side_px: int, seed: int) -> bytes:
    """A PNG that does not compress: kept at about side² × 3 bytes (under the 1,600 px edge it is not scaled)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side_px, side_px), random.Random(seed).randbytes(side_px * side_px * 3)).save(out, "PNG")
    return out.getvalue()


def noise_gif(side_px: int, frames: int, seed: int) -> bytes:
    """An animated GIF of noise frames: about side² bytes a frame as sent."""
    rng = random.Random(seed)
    images = [Image.frombytes("P", (side_px, side_px), rng.randbytes(side_px * side_px)) for _ in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()


@pytest.fixture
def tight(settings, book, request):
    """A kit whose hand-in settings are the test's (`@pytest.mark.parametrize("tight", [{...}], indirect=True)`),
    served by a real uvicorn, with its role clients and a homework lesson of class A."""
    kit = open_kit(dataclasses.replace(settings, **getattr(request, "param", {})))
    with LiveServer(create_app(kit)) as live:
        clients, ids = role_clients(kit, live.url)
        ids["lesson"] = make_lesson(clients["teacher_a"], ids["a"]["class"], "Photo homework")
        ids["other_lesson"] = make_lesson(clients["teacher_a"], ids["a"]["class"], "More photos")
        yield kit, clients, ids
        for http in clients.values():
            http.close()
    kit.close()


def _kept_bytes(kit) -> int:
    folder = kit.paths.uploads_dir / "handins"
    return sum(p.stat().st_size for p in folder.iterdir()) if folder.exists() else 0


def test_handin_gifs_no_longer_fill_the_card(tight):
    """The 180 MB attack replayed with the defaults: hand-ins of four 15 MB animated GIFs until refused."""
    kit, clients, ids = tight
    gif = noise_gif(1000, 11, seed=1)
    assert 14 * MB < len(gif) < kit.settings.handin_photo_max_mb * MB  # as large as a hand-in photo may be sent
    sent = accepted = 0
    for attempt in range(6):
        photos = [(f"anim{attempt}-{n}.gif", gif, "image/gif") for n in range(4)]
        answer = hand_in(clients["student_a"], ids["lesson"], "", photos)
        sent += 4 * len(gif)
        if answer.status_code != 303:
            break
        accepted += 1
    kept = _kept_bytes(kit)
    print(f"sent {sent / MB:.0f} MB in {attempt + 1} hand-ins; {accepted} kept, {kept / MB:.1f} MB on disk")
    assert answer.status_code == 413 and "Your hand-ins for this lesson are full (20 MB)" in answer.text
    assert kept <= kit.settings.handin_lesson_quota_mb * MB and accepted >= 3


@pytest.mark.parametrize("tight", [{"handin_lesson_quota_mb": 1}], indirect=True)
def test_handin_lesson_quota_refuses_and_keeps_nothing_of_the_hand_in(tight):
    kit, clients, ids = tight
    pupil, student = clients["student_a"], ids["a"]["students"][0]
    first = hand_in(pupil, ids["lesson"], "page 1", [("p1.png", noise_png(500, 1), "image/png")])
    assert first.status_code == 303, first.text
    before = _kept_bytes(kit)
    refused = hand_in(pupil, ids["lesson"], "page 2", [("p2.png", noise_png(500, 2), "image/png")])
    assert refused.status_code == 413 and "Your hand-ins for this lesson are full (1 MB)" in refused.text
    assert _kept_bytes(kit) == before and len(kit.lessons.handins_of(ids["lesson"], student)) == 1
    zh = pupil.post(
        f"/me/lessons/{ids['lesson']}/handin?lang=zh",
        data={"csrf": csrf(pupil), "body": ""},
        files=[("photos", ("p3.png", noise_png(500, 3), "image/png"))],
    )
    assert zh.status_code == 413 and "你这一课交的作业已经满了（1 兆字节）" in zh.text
    assert hand_in(pupil, ids["lesson"], "an answer without photos").status_code == 303  # takes no disk
    assert hand_in(pupil, ids["other_lesson"], "", [("p4.png", noise_png(500, 4), "image/png")]).status_code == 303


@pytest.mark.parametrize("tight", [{"handin_student_quota_mb": 2}], indirect=True)
def test_handin_student_quota_counts_every_lesson(tight):
    kit, clients, ids = tight
    pupil = clients["student_a"]
    for n, lesson in enumerate((ids["lesson"], ids["lesson"])):
        assert hand_in(pupil, lesson, "", [(f"p{n}.png", noise_png(500, n), "image/png")]).status_code == 303
    refused = hand_in(pupil, ids["other_lesson"], "", [("p9.png", noise_png(500, 9), "image/png")])
    assert refused.status_code == 413 and "Your space for hand-ins is full (2 MB)" in refused.text
    other = clients["student_b"]  # another pupil's room is their own
    assert (
        hand_in(other, _lesson_of_b(clients, ids), "", [("b.png", noise_png(500, 5), "image/png")]).status_code == 303
    )


def _lesson_of_b(clients, ids) -> int:
    return make_lesson(clients["teacher_b"], ids["b"]["class"], "Class B homework")


@pytest.mark.parametrize("tight", [{"handin_free_reserve_mb": 1 << 30}], indirect=True)
def test_handin_refused_before_writing_when_the_disk_keeps_its_reserve(tight):
    kit, clients, ids = tight
    refused = hand_in(clients["student_a"], ids["lesson"], "", [("p.jpg", phone_jpeg(400, 300), "image/jpeg")])
    assert refused.status_code == 507 and "storage is almost full" in refused.text
    assert _kept_bytes(kit) == 0


@pytest.mark.parametrize(
    "name, data",
    [
        ("empty.jpg", b""),
        ("cut.jpg", phone_jpeg(400, 300)[:2000]),
        ("bomb.png", bomb_png()),
        ("tool.jpg", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200),
        ("named.png", phone_jpeg(40, 30)),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_handin_refusal_names_no_folder_of_the_kit(tight, name, data, lang):
    kit, clients, ids = tight
    pupil = clients["student_a"]
    refused = pupil.post(
        f"/me/lessons/{ids['lesson']}/handin?lang={lang}",
        data={"csrf": csrf(pupil), "body": ""},
        files=[("photos", (name, data, "image/jpeg"))],
    )
    assert refused.status_code in (400, 413), refused.text
    for folder in (kit.paths.data_dir, kit.paths.uploads_dir, "/tmp", ".part"):
        assert str(folder) not in refused.text, (name, folder)
    json_answer = pupil.post(
        f"/me/lessons/{ids['lesson']}/handin",
        data={"csrf": csrf(pupil), "body": ""},
        files=[("photos", (name, data, "image/jpeg"))],
        headers={"Accept": "application/json"},
    )
    assert str(kit.paths.data_dir) not in json_answer.text and ".part" not in json_answer.text
