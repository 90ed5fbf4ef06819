"""A parent's 已阅 and message on the child's phone at home (issue 18: "delivered with the next classroom visit") in
headless Chromium with a real service worker, through `offline_phone`: the child takes the lessons home, the family
page opens from the phone without network, a notice is signed and a message written (等待发送), and back on the
classroom Wi-Fi each arrives exactly once (已送达). TPKIT_SCREENSHOTS=1 saves the PNGs."""

from __future__ import annotations

import pytest

from tests.web.browsers import screenshot
from tests.web.family_data import CLASS_NOTICE, marked_homework
from tests.web.offline.test_outbox_browser import SEND_TIMEOUT_MS, at_home

pytestmark = [pytest.mark.browser]

MESSAGE = "孩子这周感冒了，作业晚两天交。"


def _stored(kit, child: int) -> tuple[list, list]:
    read = kit.db.read()
    signs = read.execute("SELECT notice_id, client_id FROM family_signs WHERE account_id = ?", (child,)).fetchall()
    messages = read.execute("SELECT body, client_id FROM family_messages WHERE account_id = ?", (child,)).fetchall()
    return [tuple(r) for r in signs], [tuple(r) for r in messages]


def test_family_sign_and_message_made_offline_arrive_exactly_once(kit, roles, offline_phone):
    clients, ids = roles
    child, a = ids["a"]["students"][0], ids["a"]
    notice = marked_homework(kit, a["teacher"], a["class"])["class_notice"]
    page = at_home(offline_phone, clients["student_a"])
    page.goto("/me/family")  # from the phone: no network at home
    assert CLASS_NOTICE in page.inner_text(f"#notice-{notice}")
    page.click(f"#notice-{notice} form button[type=submit]")
    page.wait_for_selector(f"#notice-{notice} .family-state.waiting")
    assert "等待发送" in page.inner_text(f"#notice-{notice}")
    assert page.is_hidden(f"#notice-{notice} form button")  # not signed twice on this phone
    page.fill("form[action='/me/family/message'] textarea[name=body]", MESSAGE)
    page.click("form[action='/me/family/message'] button[type=submit]")
    page.wait_for_selector("#family-outbox li.waiting")
    assert MESSAGE in page.inner_text("#family-outbox li.waiting")  # kept as typed until delivered
    page.reload()  # closed and opened again at home: still waiting, still as typed
    page.wait_for_selector("#family-outbox li.waiting")
    assert MESSAGE in page.inner_text("#family-outbox") and page.is_visible(f"#notice-{notice} .family-state.waiting")
    screenshot(page, "phone-family-waiting-zh.png")
    assert _stored(kit, child) == ([], [])

    page.context.set_offline(False)  # the next classroom visit
    page.wait_for_selector("#family-outbox li.delivered", timeout=SEND_TIMEOUT_MS)
    page.wait_for_selector(f"#notice-{notice} .family-state.delivered", timeout=SEND_TIMEOUT_MS)
    assert "已送达" in page.inner_text("#family-outbox li.delivered")
    assert "已送达" in page.inner_text(f"#notice-{notice} .family-state")
    screenshot(page, "phone-family-delivered-zh.png")
    signs, messages = _stored(kit, child)
    assert [s[0] for s in signs] == [notice] and [m[0] for m in messages] == [MESSAGE]
    # the phone sends both again (an answer lost on the way): the kit stores nothing new
    page.evaluate("""async () => {
      for (const item of await tpkitStore.items()) { item.state = "waiting"; await tpkitStore.queue(item); }
      await tpkitStore.flush();
    }""")
    assert page.evaluate("async () => (await tpkitStore.items()).map(i => i.state)") == ["delivered", "delivered"]
    assert _stored(kit, child) == (signs, messages)
