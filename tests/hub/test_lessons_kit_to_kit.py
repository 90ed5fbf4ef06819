"""Issue 17, "from kit to kit": kit A's teacher shares a lesson with a quiz and a PDF → its reports reach a real hub
(uvicorn, each backend) by the kit's own delivery → a reviewer returns it with a comment, which kit A's teacher sees
after the kit's next report → she shares it again → the reviewer accepts → `tpkit hub lessons publish` signs the
county lessons channel → kit B's `tpkit sync` fetches it → kit B's teacher finds it under its unit and copies it into
her class, the PDF byte for byte. Every step is the real code; only the machines' readings are faked (the process
edge) for kit A's heartbeat."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from appliance.config import load_settings
from appliance.edges import minisign
from appliance.hub import enrolment, shares
from appliance.services.device.readings import Readings
from appliance.services.kit import open_kit
from appliance.services.reporting import cycle as report_cycle
from appliance.services.sync import channel
from appliance.services.sync.engine import Engine
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.hub.test_cli_hub import tpkit
from tests.machine import HEALTHY_COMMANDS, fake_commands, fake_root
from tests.web.people_clients import csrf, role_clients
from tests.web.test_shared_lessons import UNIT_2, WORKSHEET, _lesson_with_pdf_and_quiz

COUNTY_CHANNEL = "county-lessons-hill"


@pytest.fixture
def settings(settings, hub_live, hub_db, clock, tmp_path):
    """Kit A reports to the hub under test with a token a technician made for it."""
    token = enrolment.register(hub_db, "kit-a", "山村小学", "北区", "", clock.now, 24)
    kit_a = {"kit_id": "kit-a", "hub_url": hub_live.url, "hub_enrol_token": token}
    return dataclasses.replace(settings, school_name="山村小学", default_language="zh", **kit_a)


def _report(kit, tmp_path, clock) -> None:
    """One report cycle of kit A (a heartbeat made and the outbox delivered), its machine's readings faked."""
    kit.readings = Readings(root=fake_root(tmp_path / "root"), path=fake_commands(tmp_path / "bin", HEALTHY_COMMANDS))
    now = dt.datetime.fromtimestamp(clock.now, dt.timezone.utc)
    done = report_cycle.run(kit, now=now, rand=lambda: 0.0)
    assert done.delivery.error is None, done.delivery.error


def _share(teacher, lesson_id: int) -> None:
    sent = teacher.post(f"/teach/lessons/{lesson_id}/share", data={"csrf": csrf(teacher), "licence": "CC BY 4.0"})
    assert sent.status_code == 303, sent.text


def test_a_lesson_goes_from_kit_a_through_the_county_to_kit_b(kit, roles, hub_db, hub_settings, clock, tmp_path):
    clients, ids = roles
    teacher_a = clients["teacher_a"]
    lesson_id = _lesson_with_pdf_and_quiz(kit, clients, ids)
    _share(teacher_a, lesson_id)
    _report(kit, tmp_path, clock)
    assert kit.outbox.depth() == 0  # every part arrived
    (submitted,) = shares.listed(hub_db, "submitted")
    share_id = submitted["share_id"]
    assert submitted["school"] == "山村小学" and submitted["title"] == "两位数加两位数"

    shares.review(hub_db, share_id, 1, False, "请补充练习答案。", "li.reviewer", clock.now)
    _report(kit, tmp_path, clock)  # the next heartbeat's reply carries the returned state
    page = teacher_a.get(f"/teach/lessons/{lesson_id}?lang=zh").text
    assert "已退回（评语：请补充练习答案。）" in page

    _share(teacher_a, lesson_id)  # corrected and shared again: version 2
    _report(kit, tmp_path, clock)
    shares.review(hub_db, share_id, 2, True, "", "li.reviewer", clock.now)
    public = channel.keygen(tmp_path / "county")
    mirror = tmp_path / "mirror"
    published = tpkit(
        *("lessons", "publish", "--channel", str(mirror / COUNTY_CHANNEL), "--key", str(tmp_path / "county.key")),
        *("--county", "hill"),
        settings=hub_settings,
        timeout=120,
    )
    assert published.returncode == 0, published.stderr
    _report(kit, tmp_path, clock)
    assert "已发布" in teacher_a.get(f"/teach/lessons/{lesson_id}?lang=zh").text

    settings_b = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "kit-b" / "data"),
            "content_dir": str(tmp_path / "kit-b" / "content"),
            "sync_source": str(mirror),
            "sync_channels": COUNTY_CHANNEL,
            "trusted_channel_keys": str(tmp_path / "county.pub"),
            "disk_reserve_mb": 1,
            "mdns_enabled": False,
            "default_language": "zh",
        },
    )
    assert minisign.parse_public_key((tmp_path / "county.pub").read_text(), "county.pub") == public
    kit_b = open_kit(settings_b)
    try:
        plan, result = Engine(settings_b, kit_b.db, peers={}).run()
        assert result.outcome == "ok" and result.added == 1, result
        kit_b.load_library().refresh()
        with LiveServer(create_app(kit_b)) as live_b:
            clients_b, ids_b = role_clients(kit_b, live_b.url)
            teacher_b, class_b = clients_b["teacher_a"], ids_b["a"]["class"]
            unit = teacher_b.get(UNIT_2 + "&lang=zh").text
            assert "两位数加两位数" in unit and "山村小学" in unit and "复制到我的班级" in unit
            book = re.search(r'name="book" value="([^"]+)"', unit)[1]  # type: ignore[index]
            copy = {"csrf": csrf(teacher_b), "book": book, "share_id": share_id, "class": str(class_b)}
            place = {"edition": "rjb", "grade": "3", "volume": "1", "subject": "math", "unit": "2"}
            copied = teacher_b.post("/teach/shared/copy", data=copy | place)
            assert copied.status_code == 303, copied.text
            new_id = int(re.search(r"/teach/lessons/(\d+)", copied.headers["location"])[1])  # type: ignore[index]
            lesson = kit_b.lessons.lesson(new_id)
            assert lesson["instructions"].endswith("来自 Teacher A（山村小学），CC BY 4.0")
            items = kit_b.lessons.items(new_id)
            assert [i["kind"] for i in items] == ["upload", "quiz"]
            assert teacher_b.get(f"/files/lesson/{items[0]['id']}").content == WORKSHEET
            question = kit_b.quizzes.questions(items[1]["quiz_id"])[0]
            assert question["prompt"] == "图上的是一只猫。" and question["answer"] is True
            for http in clients_b.values():
                http.close()
    finally:
        kit_b.close()
