"""Work made on the phone without the kit (issue 18 part B) in headless Chromium: a hand-in with a photo written
offline waits (等待发送) in IndexedDB and arrives exactly once when the network is back (已送达), also across a kit
restart; a phone holding two children's queued work delivers each to its own child; and on plain HTTP (no service
worker) the page and its queue still work while the page stays open. TPKIT_SCREENSHOTS=1 saves the PNGs."""

from __future__ import annotations

import re

import pytest

from tests.web.browsers import screenshot
from tests.web.lesson_data import JPEG, make_lesson
from tests.web.offline.test_offline_browser import family_phone, signed_in, take_home
from tests.web.people_clients import csrf
from tests.web.quiz_data import create_quiz

pytestmark = [pytest.mark.browser]

SEND_TIMEOUT_MS = 40_000  # the page sends on `online`; its timer (30 s) is the fallback


def handins(kit, student: int) -> list:
    return (
        kit.db.read()
        .execute(
            "SELECT h.id, h.client_id, (SELECT count(*) FROM handin_files f WHERE f.handin_id = h.id) AS photos "
            "FROM handins h WHERE account_id = ?",
            (student,),
        )
        .fetchall()
    )


def at_home(phone, http):
    """A phone signed in as `http`'s child that took the lessons home, now without network."""
    page = signed_in(phone, http)
    take_home(page)
    page.context.set_offline(True)
    return page


def hand_in_offline(page, lesson_id: int, body: str) -> None:
    """On the lesson page (from the phone's cache when offline): write, add a photo, hand in; it waits."""
    page.goto(f"/me/lessons/{lesson_id}")
    page.fill("form.handin textarea[name=body]", body)
    page.set_input_files(
        "form.handin input[name=photos]", [{"name": "plant.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
    )
    page.click("form.handin button[type=submit]")
    page.wait_for_selector("#outbox li.waiting")
    assert "等待发送" in page.inner_text("#outbox li.waiting")


def test_outbox_hand_in_made_offline_arrives_exactly_once(kit, roles, plant_lesson, offline_phone):
    clients, ids = roles
    child = ids["a"]["students"][0]
    page = at_home(offline_phone, clients["student_a"])
    hand_in_offline(page, plant_lesson.id, "My bean grew 3 cm")
    screenshot(page, "phone-outbox-waiting-zh.png")
    assert handins(kit, child) == []
    page.context.set_offline(False)
    page.wait_for_selector("#outbox li.delivered", timeout=SEND_TIMEOUT_MS)
    assert "已送达" in page.inner_text("#outbox li.delivered")
    [row] = handins(kit, child)
    assert row["photos"] == 1 and row["client_id"]
    # the phone sends the same item again (a lost answer): the kit stores nothing new
    page.evaluate("""async () => {
      const [item] = await tpkitStore.items();
      item.state = "waiting"; item.photos = [];
      await tpkitStore.queue(item);
      await tpkitStore.flush();
    }""")
    page.wait_for_selector("#outbox li.delivered")
    assert [dict(r) for r in handins(kit, child)] == [dict(row)]
    screenshot(page, "phone-outbox-delivered-zh.png")


def test_outbox_queue_survives_a_kit_restart(roles, plant_lesson, offline_phone, restart_kit):
    clients, ids = roles
    child = ids["a"]["students"][0]
    page = at_home(offline_phone, clients["student_a"])
    hand_in_offline(page, plant_lesson.id, "Made before the power cut")
    kit = restart_kit()
    page.context.set_offline(False)
    page.wait_for_selector("#outbox li.delivered", timeout=SEND_TIMEOUT_MS)
    assert [r["photos"] for r in handins(kit, child)] == [1]


def test_outbox_two_childrens_work_each_arrives_as_its_own(kit, roles, plant_lesson, offline_phone):
    clients, ids = roles
    child_a, child_b = ids["a"]["students"][0], ids["b"]["students"][0]
    lesson_b = make_lesson(clients["teacher_b"], ids["b"]["class"], "Count the birds")
    page = family_phone(offline_phone, clients)
    queued = [(child_a, plant_lesson.id, "A's plant"), (child_b, lesson_b, "B's birds")]
    page.evaluate(
        """async (queued) => {
      for (const [student, lesson, body] of queued) await tpkitStore.queue({clientId: tpkitStore.newId(),
        studentId: student, lessonId: lesson, body, photos: [], madeAt: new Date().toISOString(), state: "waiting"});
    }""",
        queued,
    )
    page.context.set_offline(False)
    page.evaluate("tpkitStore.flush()")
    states = page.evaluate("async () => (await tpkitStore.items()).map(i => [i.studentId, i.state])")
    assert sorted(states) == sorted([[child_a, "delivered"], [child_b, "delivered"]])
    bodies = kit.db.read().execute("SELECT account_id, lesson_id, body FROM handins ORDER BY account_id").fetchall()
    assert sorted(tuple(r) for r in bodies) == sorted(queued)


def test_outbox_on_plain_http_without_a_worker_keeps_work_while_the_page_is_open(
    kit, roles, plant_lesson, plain_http_phone
):
    clients, ids = roles
    child = ids["a"]["students"][0]
    page = signed_in(plain_http_phone, clients["student_a"])
    assert page.evaluate("() => isSecureContext || 'serviceWorker' in navigator") is False
    page.click("form.take-home button[type=submit]")
    page.wait_for_selector("body[data-kept]")
    assert page.get_attribute("body", "data-kept") == "no-worker"
    assert "不能把课程存到手机上" in page.inner_text("#take-home-state")
    page.goto(f"/me/lessons/{plant_lesson.id}")
    page.context.set_offline(True)  # the page stays open; nothing can be reloaded now
    page.fill("form.handin textarea[name=body]", "Written while the Wi-Fi was gone")
    page.click("form.handin button[type=submit]")
    page.wait_for_selector("#outbox li.waiting")
    assert handins(kit, child) == []
    page.context.set_offline(False)
    page.wait_for_selector("#outbox li.delivered", timeout=SEND_TIMEOUT_MS)
    assert len(handins(kit, child)) == 1


def test_outbox_quiz_answered_offline_arrives_once(kit, roles, offline_phone):
    clients, ids = roles
    child = ids["a"]["students"][0]
    quiz_id = create_quiz(clients["teacher_a"], ids["a"]["class"], "Plants quiz", attempts=2)
    page = at_home(offline_phone, clients["student_a"])
    page.goto(f"/me/quizzes/{quiz_id}")
    page.click(f"form[action='/me/quizzes/{quiz_id}/start'] button[type=submit]")
    page.wait_for_url(offline_phone.url(f"/me/quizzes/{quiz_id}/offline"))
    page.check("input[name=a0][value='1']")
    page.check("input[name=a2][value='true']")
    page.fill("input[name=a3]", "photosynthesis")
    page.click("form.take.offline button[type=submit]")
    page.wait_for_selector("#outbox li.waiting")
    screenshot(page, "phone-quiz-offline-zh.png")
    assert kit.db.read().execute("SELECT count(*) FROM quiz_attempts").fetchone()[0] == 0
    page.context.set_offline(False)
    page.wait_for_selector("#outbox li.delivered", timeout=SEND_TIMEOUT_MS)
    [attempt] = kit.db.read().execute("SELECT * FROM quiz_attempts WHERE account_id = ?", (child,)).fetchall()
    assert attempt["handed_in_at"] and attempt["client_id"] and 0 < attempt["score"] < attempt["out_of"]


def test_outbox_work_of_an_ended_pass_waits_saying_why(kit, roles, plant_lesson, offline_phone):
    clients, ids = roles
    child, teacher, class_a = ids["a"]["students"][0], clients["teacher_a"], ids["a"]["class"]
    page = at_home(offline_phone, clients["student_a"])
    hand_in_offline(page, plant_lesson.id, "Made on a phone reported lost")
    [pass_id] = re.findall(r'name="pass" value="(\d+)"', teacher.get(f"/teach/{class_a}").text)
    assert teacher.post(f"/teach/{class_a}/phones", data={"csrf": csrf(teacher), "pass": pass_id}).status_code == 303
    page.context.set_offline(False)
    page.wait_for_selector("#outbox li.waiting >> text=通行证已失效", timeout=SEND_TIMEOUT_MS)
    assert handins(kit, child) == []
