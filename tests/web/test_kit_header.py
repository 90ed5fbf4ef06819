"""The header on every kit page (issue 16, defect 9): a signed-in child sees their name, 我的空间 and sign-out on the
library, search, an article's page, My space and a lesson; a teacher sees 我的班级; the footer offers 登录 only to
nobody signed in and never 设备状态 (/admin) to a child; the version is shown as a word of the page's language.
Real kit, uvicorn, sessions, CSRF."""

from __future__ import annotations

import re

from tests.web.lesson_data import make_lesson

SIGN_OUT = 'action="/admin/signout"'


def _header(html: str) -> str:
    return html.split("<main", 1)[0]


def _footer(html: str) -> str:
    return html.split("<footer>", 1)[1].split("</footer>", 1)[0]


def _child_pages(teacher, class_id: int) -> list[str]:
    lesson_id = make_lesson(teacher, class_id, "Water")
    return [
        "/",
        "/search?pattern=water&content=test_book",
        "/me/article?book=test_book&path=water",
        "/me",
        f"/me/lessons/{lesson_id}",
        "/me/lessons/99999",  # an error page too: the way back is there
    ]


def test_kit_header_a_child_sees_name_my_space_and_sign_out_everywhere(roles):
    clients, ids = roles
    child = clients["student_a"]
    for path in _child_pages(clients["teacher_a"], ids["a"]["class"]):
        page = child.get(path + ("&" if "?" in path else "?") + "lang=zh")
        header = _header(page.text)
        assert 'class="who' in header and "Wang Fang" in header, path
        assert 'href="/me">我的空间</a>' in header and SIGN_OUT in header and ">退出</button>" in header, path
        assert 'href="/teach"' not in header and 'href="/admin"' not in header, path
        footer = _footer(page.text)
        assert "/admin" not in footer and "/learn" not in footer and "登录" not in footer, path
        assert "版本" in footer and "tpkit" not in footer.lower(), path


def test_kit_header_the_sign_out_form_carries_the_sessions_token_and_signs_out(roles):
    clients, _ = roles
    child = clients["student_a"]
    page = child.get("/search?pattern=water&content=test_book").text
    token = re.search(r'name="csrf" value="([^"]+)"', _header(page)).group(1)  # type: ignore[union-attr]
    assert child.get("/me").status_code == 200
    done = child.post("/admin/signout", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert child.get("/me").headers["location"] == "/learn"  # signed out: My space sends to sign-in
    after = child.get("/").text
    assert 'class="who' not in _header(after) and 'href="/learn"' in _footer(after)


def test_kit_header_no_header_at_a_books_address(roles):
    """An error page under /content/ runs in the books' opaque origin (web/book_origin.py): the session's links and
    forms would not work there, and its token must not be in it."""
    clients, _ = roles
    missing = clients["student_a"].get("/content/no_such_book/x")
    assert missing.status_code == 404 and "sandbox" in missing.headers["content-security-policy"]
    assert 'class="who' not in missing.text and 'name="csrf"' not in missing.text


def test_kit_header_the_search_pages_token_stays_unreadable_to_other_origins(roles):
    """/search carries the header's session-bound token now, and `Access-Control-Allow-Origin: *` for Kiwix clients:
    a wildcard never lets a browser read an answer to a request sent with cookies (no Allow-Credentials)."""
    clients, _ = roles
    page = clients["student_a"].get("/search?pattern=water&content=test_book", headers={"Origin": "http://evil"})
    assert 'name="csrf"' in page.text and page.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in page.headers


def test_kit_header_a_stale_token_does_not_sign_out(roles):
    clients, _ = roles
    child = clients["student_a"]
    assert child.post("/admin/signout", data={"csrf": "stale"}).status_code == 403
    assert child.get("/me").status_code == 200


def test_kit_header_staff_see_their_classes_and_nobody_sees_sign_in_offers(roles):
    clients, _ = roles
    teacher = clients["teacher_a"].get("/?lang=zh").text
    assert 'href="/teach">我的班级</a>' in _header(teacher) and SIGN_OUT in _header(teacher)
    assert 'href="/me"' not in _header(teacher) and "/learn" not in _footer(teacher)
    assert "/admin" not in _footer(teacher)  # a teacher's /admin is /teach anyway
    admin = clients["admin"].get("/?lang=zh").text
    assert 'href="/admin">设备状态</a>' in _header(admin) and 'href="/teach"' in _header(admin)
    anonymous = clients["anonymous"].get("/?lang=zh").text
    assert 'class="who' not in _header(anonymous) and SIGN_OUT not in anonymous
    assert 'href="/learn">登录</a>' in _footer(anonymous) and 'href="/admin"' in _footer(anonymous)
    english = clients["anonymous"].get("/?lang=en").text
    assert re.search(r"Version \d", _footer(english))
