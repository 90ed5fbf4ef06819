"""The reviewers' pages over a real uvicorn on both backends: a reviewer lists shared lessons by unit, previews one,
downloads its file, returns it with a comment (the kit's next reply carries it), accepts a new version; a technician
cannot review and a reviewer sees nothing of the fleet. In Chromium at 360 px in Chinese, without JavaScript."""

from __future__ import annotations

import os
import re
import uuid

import httpx
import pytest

from appliance.hub import shares, technicians
from tests.hub.conftest import enrol_kit, lesson_body, send_lesson, signed
from tests.web.browsers import PHONE, SCREENSHOTS, chromium

REPORTS = "/api/v1/reports"
PASSWORD = "a county password"
PDF = b"%PDF-1.4 " + os.urandom(3000)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _sign_in(client: httpx.Client, username: str) -> None:
    answer = client.post(
        "/signin", data={"csrf": _csrf(client.get("/signin").text), "username": username, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


def _county(db, client, clock) -> tuple:
    """kit-1 shares a lesson (unit 2) and kit-2 one with no place; a reviewer and a technician."""
    secret = enrol_kit(db, "kit-1", clock.now, school="山村小学", district="北区")
    secret_2 = enrol_kit(db, "kit-2", clock.now, school="河边小学", district="南区")
    share_id = str(uuid.uuid4())

    def post(payload, headers):
        return client.post(REPORTS, content=payload, headers=headers).json()

    send_lesson(post, secret, "kit-1", 1, lesson_body(share_id, {"练习单.pdf": PDF}), {"练习单.pdf": PDF}, clock.now)
    loose = {**lesson_body(str(uuid.uuid4()), {}, title="春天的诗"), "position": {}}
    send_lesson(post, secret_2, "kit-2", 1, loose, {}, clock.now)
    technicians.add(db, "li.reviewer", PASSWORD, clock.now, "reviewer")
    technicians.add(db, "zhou.tech", PASSWORD, clock.now)
    return secret, share_id, post


def test_review_a_reviewer_returns_with_a_comment_then_accepts_the_new_version(hub_db, hub_client, hub_live, clock):
    secret, share_id, post = _county(hub_db, hub_client, clock)
    with httpx.Client(base_url=hub_live.url, timeout=20) as reviewer:
        _sign_in(reviewer, "li.reviewer")
        assert reviewer.get("/").headers["location"] == "/lessons"  # the fleet is not a reviewer's
        listing = reviewer.get("/lessons?lang=zh").text
        assert listing.index("人教版 三年级 上册 数学") < listing.index("第二单元") < listing.index("两位数加两位数")
        assert listing.index("两位数加两位数") < listing.index("未标课本") < listing.index("春天的诗")
        assert "王老师，山村小学" in listing
        preview = reviewer.get(f"/lessons/{share_id}?lang=zh")
        assert preview.status_code == 200
        for shown in (
            "先读课文，再做练习。",
            "CC BY 4.0",
            "山村小学，北区",
            "23 + 45 = ?",
            "68 ✓",
            "练习单.pdf",
            "百科",
        ):
            assert shown in preview.text, shown
        download = reviewer.get(f"/lessons/{share_id}/files/0")
        assert download.content == PDF and "filename*=UTF-8''%E7%BB%83" in download.headers["content-disposition"]
        csrf = _csrf(preview.text)
        refused = reviewer.post(
            f"/lessons/{share_id}/review", data={"csrf": csrf, "version": "1", "decision": "return", "comment": "  "}
        )
        assert refused.status_code == 400 and 'id="comment-error"' in refused.text
        kept = reviewer.post(
            f"/lessons/{share_id}/review?lang=zh",
            data={"csrf": csrf, "version": "2", "decision": "return", "comment": "请补充答案"},
        )
        assert kept.status_code == 409 and "请补充答案</textarea>" in kept.text  # a refused form keeps what was typed
        returned = reviewer.post(
            f"/lessons/{share_id}/review",
            data={"csrf": csrf, "version": "1", "decision": "return", "comment": "请补充练习答案。"},
        )
        assert returned.status_code == 303
        assert "两位数加两位数" not in reviewer.get("/lessons").text  # waiting for review: no longer
        assert "两位数加两位数" in reviewer.get("/lessons?state=returned").text

    reply = post(*signed(secret, "kit-1", 10, made_at=clock.now)[1:])  # the kit's next report, whatever it is
    assert [(s["share_id"], s["state"], s["comment"], s["reviewer"]) for s in reply["shares"]][0] == (
        share_id,
        "returned",
        "请补充练习答案。",
        "li.reviewer",
    )
    clock.now += 60
    send_lesson(
        post, secret, "kit-1", 11, lesson_body(share_id, {"练习单.pdf": PDF}, version=2), {"练习单.pdf": PDF}, clock.now
    )
    with httpx.Client(base_url=hub_live.url, timeout=20) as reviewer:
        _sign_in(reviewer, "li.reviewer")
        csrf = _csrf(reviewer.get(f"/lessons/{share_id}").text)
        accepted = reviewer.post(
            f"/lessons/{share_id}/review", data={"csrf": csrf, "version": "2", "decision": "accept"}
        )
        assert accepted.status_code == 303
    assert shares.one(hub_db, share_id)["state"] == "accepted"
    assert [s["state"] for s in post(*signed(secret, "kit-1", 20, made_at=clock.now)[1:])["shares"]][0] == "accepted"


def test_review_a_technician_cannot_review(hub_db, hub_client, hub_live, clock):
    _, share_id, _ = _county(hub_db, hub_client, clock)
    with httpx.Client(base_url=hub_live.url, timeout=20) as technician:
        _sign_in(technician, "zhou.tech")
        assert technician.get("/").status_code == 200
        assert technician.get("/lessons").status_code == 403
        assert technician.get(f"/lessons/{share_id}/files/0").status_code == 403
        csrf = _csrf(technician.get("/").text)
        refused = technician.post(
            f"/lessons/{share_id}/review", data={"csrf": csrf, "version": "1", "decision": "accept"}
        )
        assert refused.status_code == 403
    assert shares.one(hub_db, share_id)["state"] == "submitted"


@pytest.mark.browser
def test_review_in_chinese_on_a_phone(hub_db, hub_client, hub_live, clock):
    if hub_db.backend != "sqlite":
        pytest.skip("the pages are the same on both backends; one browser run is enough")
    _, share_id, _ = _county(hub_db, hub_client, clock)
    with chromium() as browser:
        context = browser.new_context(**PHONE, locale="zh-CN", java_script_enabled=False)
        page = context.new_page()
        page.goto(hub_live.url + "/signin")
        page.fill("input[name=username]", "li.reviewer")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button")
        assert page.url == hub_live.url + "/lessons"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
        _save(page, "hub-lessons-zh.png")
        page.click("text=两位数加两位数")
        assert page.locator("h1").inner_text() == "两位数加两位数"
        page.click("button[value=return]")  # no comment: refused, the reason beside the field
        assert page.locator("#comment-error").inner_text().startswith("退回时要写意见")
        page.fill("textarea[name=comment]", "请补充练习答案。")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
        _save(page, "hub-review-zh.png")
        page.click("button[value=return]")
        assert page.url == hub_live.url + "/lessons"
        context.close()
    assert shares.one(hub_db, share_id)["comment"] == "请补充练习答案。"


def _save(page, name: str) -> None:
    if os.environ.get("TPKIT_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
