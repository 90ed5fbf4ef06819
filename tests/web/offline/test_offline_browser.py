"""The phone keeps the lesson (issue 18 part B) in headless Chromium with a real service worker, through the
`offline_phone` fixture: a child signs in, taps 带回家, the network goes away, and My space, the lesson and its
article (with its picture) open from the phone; sign-out on the phone clears it and ends the pass on the kit.
TPKIT_SCREENSHOTS=1 saves the PNGs."""

from __future__ import annotations

import pytest

from tests.web.browsers import screenshot, with_cookies

pytestmark = [pytest.mark.browser]

KEEP_TIMEOUT_MS = 30_000
PHONE_STATE = """async () => {
  const names = await caches.keys();
  const kept = {};
  for (const name of names) kept[name] = (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname);
  const passes = await new Promise((resolve) => {
    const open = indexedDB.open("tpkit-phone");
    open.onsuccess = () => {
      const get = open.result.transaction("passes").objectStore("passes").getAll();
      get.onsuccess = () => { resolve(get.result.map(p => p.studentId)); open.result.close(); };
    };
  });
  return {kept, passes};
}"""


def signed_in(offline_phone, http):
    """A phone page signed in with the session of `http` (a student's client), on My space."""
    page = offline_phone.new_page()
    with_cookies(page.context, offline_phone.base_url, dict(http.cookies))
    page.goto("/me")
    return page


def family_phone(offline_phone, clients):
    """One phone on which student_a, then the sibling student_b, signed in and took their lessons home; now offline."""
    page = signed_in(offline_phone, clients["student_a"])
    take_home(page)
    with_cookies(page.context, offline_phone.base_url, dict(clients["student_b"].cookies))  # the sibling signs in
    page.goto("/me")
    take_home(page)
    page.context.set_offline(True)
    return page


def take_home(page) -> None:
    page.click("form.take-home button[type=submit]")
    page.wait_for_selector("body[data-kept]", timeout=KEEP_TIMEOUT_MS)
    assert page.get_attribute("body", "data-kept") == "yes", page.inner_text("#take-home-state")


def test_offline_phone_opens_the_lesson_and_its_article_without_network(roles, plant_lesson, offline_phone):
    clients, ids = roles
    child = ids["a"]["students"][0]
    page = signed_in(offline_phone, clients["student_a"])
    take_home(page)
    assert "已在这部手机上存好" in page.inner_text("#take-home-state")
    screenshot(page, "phone-take-home-zh.png")
    state = page.evaluate(PHONE_STATE)
    assert state["passes"] == [child] and list(state["kept"]) == [f"tpkit-child-{child}"]
    assert "/content/test_book/img/leaf.png" in state["kept"][f"tpkit-child-{child}"]

    page.goto("/content/test_book/")  # online, a book's address through the worker: redirected to its main page
    assert page.url.endswith("/content/test_book/index") and "Welcome" in page.content()
    page.context.set_offline(True)
    page.goto("/me")
    assert "我的空间" in page.inner_text("h1") and "Watch a plant grow" in page.content()
    screenshot(page, "phone-offline-me-zh.png")
    page.goto(f"/me/lessons/{plant_lesson.id}")
    assert page.inner_text("h1") == "Watch a plant grow"
    page.click(f"a[href='/me/lessons/{plant_lesson.id}/items/{plant_lesson.item_id}']")
    frame = page.frame_locator("iframe.book")
    assert "Leaves make food" in frame.locator("body").inner_text(timeout=10_000)
    frame.locator("img.leaf").wait_for()
    width = frame.locator("img.leaf").evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)")
    assert width > 0, "the article's picture did not come from the phone"
    page.goto("/content/test_book/plants")  # the article by itself (a bookmark), still in its opaque origin
    assert page.locator("img.leaf").evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)") > 0
    assert page.evaluate("() => origin") == "null"


def test_offline_phone_sign_out_clears_the_phone_and_ends_the_pass(kit, roles, plant_lesson, offline_phone):
    clients, ids = roles
    page = signed_in(offline_phone, clients["student_a"])
    take_home(page)
    [row] = kit.db.read().execute("SELECT id, revoked_at FROM phone_passes").fetchall()
    assert row["revoked_at"] is None
    page.goto("/me")
    page.click("nav.who form button[type=submit]")
    page.wait_for_url(offline_phone.url("/"))
    assert page.evaluate(PHONE_STATE) == {"kept": {}, "passes": []}
    assert kit.db.read().execute("SELECT revoked_at FROM phone_passes").fetchone()[0] is not None


def test_offline_family_phone_shows_each_childs_own_pages(kit, roles, plant_lesson, offline_phone):
    clients, ids = roles
    name_a, name_b = (kit.people.person(ids[c]["students"][0])["display_name"] for c in ("a", "b"))
    page = family_phone(offline_phone, clients)
    page.goto("/me")
    assert name_b in page.inner_text("nav.who") and "Watch a plant grow" not in page.content()
    page.click("#phone-switch")
    page.click(f"#phone-children button:text-is('{name_a}')")
    page.wait_for_url(offline_phone.url("/me"))
    page.wait_for_selector("text=Watch a plant grow")
    assert name_a in page.inner_text("nav.who") and name_b not in page.inner_text("main")
    screenshot(page, "phone-family-switch-zh.png")
