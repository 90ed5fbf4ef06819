"""Helpers for lesson tests: photos and files with real first bytes, and a teacher making a lesson over HTTP."""

from __future__ import annotations

import re

import httpx

from appliance.content.icons import badge
from tests.photo_data import small_jpeg
from tests.web.people_clients import csrf

PNG = badge(64, (30, 120, 200), (250, 250, 250))
JPEG = small_jpeg()  # a real JPEG: hand-in photos are decoded and scaled down on the kit
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def make_lesson(
    http: httpx.Client,
    class_id: int,
    title: str,
    *,
    homework: bool = True,
    due: str = "",
    instructions: str = "Read and answer.",
    students: tuple[int, ...] = (),
) -> int:
    data = {
        "csrf": csrf(http),
        "title": title,
        "instructions": instructions,
        "due": due,
        "homework": "1" if homework else "",
        "students": [str(s) for s in students],
    }
    response = http.post(f"/teach/{class_id}/lessons", data=data)
    assert response.status_code == 303, response.text
    return int(re.search(r"/teach/lessons/(\d+)$", response.headers["location"])[1])


def hand_in(http: httpx.Client, lesson_id: int, body: str, photos: list[tuple[str, bytes, str]] = ()) -> httpx.Response:
    files = [("photos", photo) for photo in photos] or None
    return http.post(f"/me/lessons/{lesson_id}/handin", data={"csrf": csrf(http), "body": body}, files=files)


def handin_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="handin-(\d+)"', html)]
