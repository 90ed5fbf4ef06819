"""The phone pass and what a phone keeps (issue 18 part B), over HTTP against a live kit: the manifest and the
service worker's headers, 带回家 handing a pass to the page once, /me/offline.json for that child only, a pass
ended by the phone's sign-out or by the class's teacher (401 after), the class page listing phones, and the
teacher's lesson page showing the lesson's size offline."""

from __future__ import annotations

import re

import httpx

from appliance.services.people import phone_passes
from tests.web.lesson_data import PDF
from tests.web.offline.conftest import LEAF, STYLE
from tests.web.people_clients import csrf


def take_home(student: httpx.Client) -> str:
    """Tap 带回家 on My space; the pass the page was handed."""
    response = student.post("/me/take-home", data={"csrf": csrf(student)})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    return re.search(r'data-token="([^"]+)"', response.text)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_phone_manifest_and_worker_are_served_for_the_whole_site(client):
    manifest = client.get("/manifest.webmanifest", headers={"Accept-Language": "zh-CN"})
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["name"] == "课堂学习" and body["start_url"] == "/me" and body["display"] == "standalone"
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    assert [i["purpose"] for i in body["icons"]].count("maskable") == 1
    for icon in body["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.content[16:24] == int(icon["sizes"].split("x")[0]).to_bytes(4, "big") * 2  # IHDR width, height
    assert client.get("/manifest.webmanifest?lang=en").json()["name"] == "Class learning"
    worker = client.get("/sw.js")
    assert worker.headers["service-worker-allowed"] == "/" and worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript") and "importScripts" in worker.text


def test_phone_scripts_and_manifest_only_on_student_pages(roles):
    clients, _ = roles
    mine = clients["student_a"].get("/me").text
    assert '<link rel="manifest"' in mine and "/static/phone.js" in mine and 'action="/me/take-home"' in mine
    for who in ("teacher_a", "anonymous"):
        page = clients[who].get("/").text
        assert "/static/phone.js" not in page and 'rel="manifest"' not in page


def test_phone_pass_lists_that_childs_bundle_only(roles, plant_lesson):
    clients, ids = roles
    teacher = clients["teacher_a"]  # the whole book too, and the teacher's worksheet
    book = {"csrf": csrf(teacher), "book": "test_book"}
    assert teacher.post(f"/teach/lessons/{plant_lesson.id}/items", data=book).status_code == 303
    sheet = {"csrf": csrf(teacher), "title": "Worksheet"}
    upload = teacher.post(
        f"/teach/lessons/{plant_lesson.id}/uploads", data=sheet, files={"file": ("sheet.pdf", PDF, "application/pdf")}
    )
    assert upload.status_code == 303
    token = take_home(clients["student_a"])
    anonymous = clients["anonymous"]
    bundle = anonymous.get("/me/offline.json", headers=bearer(token)).json()
    assert bundle["student"]["id"] == ids["a"]["students"][0]
    sizes = {e["url"]: e["size_bytes"] for e in bundle["entries"]}
    lesson = f"/me/lessons/{plant_lesson.id}"
    for url in ("/me", "/me/family", lesson, f"{lesson}/items/{plant_lesson.item_id}", "/content/test_book/plants"):
        assert url in sizes, url
    assert sizes["/content/test_book/img/leaf.png"] == len(LEAF)
    assert sizes["/content/test_book/style/garden.css"] == len(STYLE)
    assert bundle["total_bytes"] == sum(sizes.values())
    assert "/content/test_book/" in sizes and "/content/test_book/index" in sizes  # the book's address, its main page
    [sheet_url] = [url for url in sizes if url.startswith("/files/lesson/")]
    assert sizes[sheet_url] == len(PDF) and "/static/phone.js" in sizes
    other = take_home(clients["student_b"])  # class B has no such lesson: nothing of class A's in its bundle
    assert lesson not in {e["url"] for e in anonymous.get("/me/offline.json", headers=bearer(other)).json()["entries"]}
    assert anonymous.get("/me/offline.json").status_code in (401, 403)


def test_phone_pass_wins_over_the_cookie_and_ends_at_sign_out(roles, plant_lesson):
    clients, ids = roles
    token_a = take_home(clients["student_a"])
    # the phone now signed in as child B still delivers A's pass as A, never as B
    as_b = clients["student_b"].get("/me/offline.json", headers=bearer(token_a)).json()
    assert as_b["student"]["id"] == ids["a"]["students"][0]
    assert clients["anonymous"].post("/me/phone/sign-out", headers=bearer(token_a)).json() == {"ended": True}
    ended = clients["anonymous"].get("/me/offline.json", headers=bearer(token_a))
    assert ended.status_code == 401 and ended.json()["code"] == "phone.pass_ended"
    assert clients["anonymous"].get("/me/offline.json", headers=bearer("made-up")).status_code == 401


def test_phone_pass_expires_after_thirty_days(kit, roles):
    clients, _ = roles
    token = take_home(clients["student_a"])
    later = phone_passes.pass_of(kit, token)["made_at"] + phone_passes.PASS_LIFETIME_S + 1
    try:
        phone_passes.pass_of(kit, token, now=later)
    except Exception as error:  # noqa: BLE001 - the code is what is checked
        assert getattr(error, "code", "") == "phone.pass_expired" and getattr(error, "status", 0) == 401
    else:
        raise AssertionError("a pass past 30 days was accepted")


def test_phone_teacher_sees_and_ends_a_childs_phone(roles):
    clients, ids = roles
    token = take_home(clients["student_a"])
    clients["anonymous"].get("/me/offline.json", headers=bearer(token))  # used once: "last used" appears
    teacher, class_a = clients["teacher_a"], ids["a"]["class"]
    page = teacher.get(f"/teach/{class_a}").text
    [pass_id] = re.findall(r'name="pass" value="(\d+)"', page)
    assert "last used" in page
    other_teacher = clients["teacher_b"].post(
        f"/teach/{class_a}/phones", data={"csrf": csrf(clients["teacher_b"]), "pass": pass_id}
    )
    assert other_teacher.status_code == 404
    assert clients["anonymous"].get("/me/offline.json", headers=bearer(token)).status_code == 200
    ended = teacher.post(f"/teach/{class_a}/phones", data={"csrf": csrf(teacher), "pass": pass_id})
    assert ended.status_code == 303 and ended.headers["location"].endswith("notice=phone_ended#phones")
    assert clients["anonymous"].get("/me/offline.json", headers=bearer(token)).status_code == 401
    assert 'name="pass"' not in teacher.get(f"/teach/{class_a}").text


def test_phone_lesson_page_shows_its_size_offline_and_keeping_records_nothing(kit, roles, plant_lesson):
    clients, _ = roles
    page = clients["teacher_a"].get(f"/teach/lessons/{plant_lesson.id}").text
    assert re.search(r'id="offline-size">About [\d.]+ KB on each', page)
    student, item = clients["student_a"], f"/me/lessons/{plant_lesson.id}/items/{plant_lesson.item_id}"
    before = kit.db.read().execute("SELECT count(*) FROM lesson_opens").fetchone()[0]
    assert student.get(item, headers={"X-Tpkit-Keep": "1"}).status_code == 200
    assert kit.db.read().execute("SELECT count(*) FROM lesson_opens").fetchone()[0] == before
    assert student.get(item).status_code == 200
    assert kit.db.read().execute("SELECT count(*) FROM lesson_opens").fetchone()[0] == before + 1
