"""`tpkit hub lessons publish` on both backends: the accepted lessons in one ZIM book read back with libzim (the
kits' lessons.json and items.json, Tags, the files' bytes, a page per lesson), the channel index verified, the
lessons published, and a second publish with --previous making a patch."""

from __future__ import annotations

import json
import os
import uuid

from appliance.content.zimfile import ZimFile
from appliance.hub import shares
from appliance.protocol import shared_lesson
from appliance.services.sync import channel
from tests.hub.conftest import enrol_kit, lesson_body, send_lesson
from tests.hub.test_cli_hub import tpkit

REPORTS = "/api/v1/reports"
PDF = os.urandom(2 * shared_lesson.PART_BYTES + 77)  # three parts
SHEET = "练习单.pdf"


def _share(hub_db, hub_client, secret, sequence: int, share_id: str, version: int, title: str, position: dict, now):
    def post(payload, headers):
        return hub_client.post(REPORTS, content=payload, headers=headers).json()

    body = {**lesson_body(share_id, {SHEET: PDF}, version=version, title=title), "position": position}
    picture = {"kind": "open", "prompt": "看图回答", "answer": ["春天"], "points": 1, "picture_file": 0}
    body["items"][-1]["questions"].append(picture)  # a question's picture is one of the lesson's files
    send_lesson(post, secret, "kit-1", sequence, body, {SHEET: PDF}, now)
    shares.review(hub_db, share_id, version, True, "", "li.reviewer", now)


def _book(folder):
    return ZimFile(folder / "county_lessons_hill.zim")


def test_county_lessons_publish_writes_a_signed_book_then_a_patch(hub_settings, hub_db, hub_client, clock, tmp_path):
    secret = enrol_kit(hub_db, "kit-1", clock.now, school="山村小学", district="北区")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    unit_2 = {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2, "lesson": 1}
    _share(hub_db, hub_client, secret, 1, first, 1, "两位数加两位数", unit_2, clock.now)
    waiting = str(uuid.uuid4())  # submitted, not accepted: not in the book
    send_lesson(
        lambda payload, headers: hub_client.post(REPORTS, content=payload, headers=headers),
        secret,
        "kit-1",
        10,
        lesson_body(waiting, {}, title="还没审核"),
        {},
        clock.now,
    )
    public = channel.keygen(tmp_path / "county")
    live, previous = tmp_path / "channel", tmp_path / "previous"
    args = ("lessons", "publish", "--channel", str(live), "--key", str(tmp_path / "county.key"), "--county", "hill")
    result = tpkit(*args, settings=hub_settings, timeout=120)
    assert result.returncode == 0, result.stderr
    index = channel.verify_index(live, [public], None, check_files=True)
    assert [p["id"] for p in index.packages] == ["county_lessons"]  # the ZIM Name (docs/shared-lessons.md §3)
    book = _book(live)
    assert book.metadata_text("Name") == "county_lessons"
    assert book.metadata_text("Tags") == "_edition:rjb;_grade:3;_volume:1;_subject:math;_unit:2"
    listed = json.loads(bytes(book.lookup("tpkit/lessons.json").data))
    assert listed["format"] == 1
    assert [(row["share_id"], row["school"], row["path"]) for row in listed["lessons"]] == [
        (first, "山村小学", f"lessons/{first}.html")
    ]
    items = json.loads(bytes(book.lookup("tpkit/items.json").data))["items"]
    assert items == [
        {"path": f"lessons/{first}.html", "title": "两位数加两位数", "kind": "lesson", **unit_2, "bytes": len(PDF)}
    ]
    data = json.loads(bytes(book.lookup(f"lessons/{first}.json").data))
    assert data["files"][0]["path"] == f"files/{first}/0-{SHEET}" and data["items"][-1]["questions"]
    assert bytes(book.lookup(data["files"][0]["path"]).data) == PDF  # the file's bytes as the teacher sent them
    page = bytes(book.lookup(f"lessons/{first}.html").data).decode()
    assert "先读课文，再做练习。" in page and "68 ✓" in page and "人教版 三年级 上册 数学 第二单元 第1课" in page
    assert f'<img src="../files/{first}/0-%E7%BB%83' in page and "答案：春天" in page
    assert "第二单元" in bytes(book.lookup("index.html").data).decode()
    assert shares.one(hub_db, first)["state"] == "published"
    assert shares.one(hub_db, waiting)["state"] == "submitted"

    unchanged = tpkit(*args, "--previous", str(previous), settings=hub_settings, timeout=120)
    assert unchanged.returncode == 0 and "stays as it is" in unchanged.stdout  # nothing new: no new sequence
    assert channel.verify_index(live, [public], None).sequence == 1
    clock.now += 60
    _share(hub_db, hub_client, secret, 20, second, 1, "春天的诗", {"edition": "rjb", "grade": 3}, clock.now)
    again = tpkit(*args, "--previous", str(previous), settings=hub_settings, timeout=120)
    assert again.returncode == 0, again.stderr
    index = channel.verify_index(live, [public], None, check_files=True)
    assert index.sequence == 2 and [p["kind"] for p in index.packages if p.get("kind") == "patch"] == ["patch"]
    assert (previous / "county_lessons_hill.zim").exists()  # the book kits held, kept for the next patch
    titles = [row["title"] for row in json.loads(bytes(_book(live).lookup("tpkit/lessons.json").data))["lessons"]]
    assert sorted(titles) == ["两位数加两位数", "春天的诗"]
    assert shares.one(hub_db, second)["state"] == "published"


def test_county_lessons_a_new_version_replaces_the_published_one_once_accepted(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    share_id = str(uuid.uuid4())
    _share(hub_db, hub_client, secret, 1, share_id, 1, "第一版", {}, clock.now)
    shares.mark_published(hub_db, [(share_id, 1)], clock.now)

    def post(payload, headers):
        return hub_client.post(REPORTS, content=payload, headers=headers).json()

    send_lesson(post, secret, "kit-1", 10, lesson_body(share_id, {}, version=2, title="第二版"), {}, clock.now)
    assert [row["content"]["title"] for row in shares.publishable(hub_db)] == ["第一版"]  # until v2 is accepted
    shares.review(hub_db, share_id, 2, True, "", "li.reviewer", clock.now)
    assert [row["content"]["title"] for row in shares.publishable(hub_db)] == ["第二版"]
    shares.mark_published(hub_db, [(share_id, 2)], clock.now)
    assert hub_db.query("SELECT version FROM share_versions") == [{"version": 2}]
    assert hub_db.query("SELECT count(*) AS n FROM share_files")[0]["n"] == 0
