"""Class notices (通知, issue 16) over real HTTP: a teacher posts to the whole class or to one child from the class
page; each child sees the notices meant for them at the top of My space and marks them read with 知道了; the teacher
sees "已读 1/2" and who has not read; another class's child and teacher see nothing and can mark or take back
nothing; a refused notice comes back as the class page with the text as typed. Real kit, uvicorn, sessions, CSRF."""

from __future__ import annotations

import re

from tests.web.chinese_pages import visible_words
from tests.web.people_clients import csrf, student_client
from tests.web.quiz_data import HOSTILE


def _post(http, class_id: int, body: str, student: int | str = ""):
    return http.post(f"/teach/{class_id}/notices", data={"csrf": csrf(http), "body": body, "student": str(student)})


def _unread(html: str) -> list[str]:
    """The first lines of the unread notices on My space, newest first."""
    return re.findall(r'<li class="notice-card">\s*<div class="notice-text"><p>([^<]*)</p>', html)


def _read_action(html: str, text: str) -> str:
    card = html.split(text, 1)[1]
    return re.search(r'action="(/me/notices/\d+/read)"', card).group(1)  # type: ignore[union-attr]


def test_notices_to_the_class_and_to_one_child(kit, live, roles):
    clients, ids = roles
    a = ids["a"]
    teacher, wang = clients["teacher_a"], clients["student_a"]
    li_id = a["students"][1]
    posted = _post(teacher, a["class"], "明天带尺子")
    assert (
        posted.status_code == 303 and posted.headers["location"] == f"/teach/{a['class']}?notice=notice_posted#notices"
    )
    assert _post(teacher, a["class"], "李小明：请来找老师", li_id).status_code == 303
    assert _unread(wang.get("/me").text) == ["明天带尺子"]  # the one-child notice is not Wang Fang's
    li = student_client(live.url, a["class"], li_id, a["pins"][li_id])
    li_page = li.get("/me?lang=zh").text
    assert _unread(li_page) == ["李小明：请来找老师", "明天带尺子"]  # newest first
    assert "只发给你" in li_page and li_page.index('id="notices"') < li_page.index("要做的")  # at the top
    assert visible_words(li_page, ("Wang Fang", "Teacher A", "Class A")) == []
    # the other class sees none of it
    assert _unread(clients["student_b"].get("/me").text) == []
    li.close()


def test_notices_read_marks_and_the_teachers_counts(kit, roles):
    clients, ids = roles
    a = ids["a"]
    teacher, wang = clients["teacher_a"], clients["student_a"]
    _post(teacher, a["class"], "Bring a ruler")
    page = teacher.get(f"/teach/{a['class']}?lang=zh").text
    assert "已读 0/2" in page and "还有 2 人没读" in page and "李小明、Wang Fang" in page
    me = wang.get("/me").text
    done = wang.post(_read_action(me, "Bring a ruler"), data={"csrf": csrf(wang)})
    assert done.status_code == 303 and done.headers["location"] == "/me#notices"
    again = wang.get("/me").text
    assert _unread(again) == [] and "Earlier notices" in again and "Bring a ruler" in again
    assert wang.post(_read_action(me, "Bring a ruler"), data={"csrf": csrf(wang)}).status_code == 303  # twice: once
    assert kit.db.read().execute("SELECT count(*) FROM notice_reads").fetchone()[0] == 1
    page = teacher.get(f"/teach/{a['class']}?lang=zh").text
    assert "已读 1/2" in page and "还有 1 人没读" in page
    assert re.search(r"<summary>还有 1 人没读</summary><p>李小明</p>", page)


def test_notices_another_class_cannot_see_mark_post_or_take_back(kit, roles):
    clients, ids = roles
    a, b = ids["a"], ids["b"]
    _post(clients["teacher_a"], a["class"], "Class A only")
    [notice_id] = [row[0] for row in kit.db.read().execute("SELECT id FROM notices")]
    other = clients["student_b"]
    assert other.post(f"/me/notices/{notice_id}/read", data={"csrf": csrf(other)}).status_code == 404
    assert other.post("/me/notices/99999/read", data={"csrf": csrf(other)}).status_code == 404  # the same answer
    assert kit.db.read().execute("SELECT count(*) FROM notice_reads").fetchone()[0] == 0
    # a one-child notice is not another child's of the same class either
    _post(clients["teacher_a"], a["class"], "For Li only", a["students"][1])
    li_notice = kit.db.read().execute("SELECT max(id) FROM notices").fetchone()[0]
    wang = clients["student_a"]
    assert wang.post(f"/me/notices/{li_notice}/read", data={"csrf": csrf(wang)}).status_code == 404
    assert "For Li only" not in wang.get("/me").text
    # the other class's teacher: no posting to class A, no child of class A, no taking back, nothing listed
    teacher_b = clients["teacher_b"]
    assert _post(teacher_b, a["class"], "Hello").status_code == 404
    assert _post(teacher_b, b["class"], "Hello", a["students"][0]).status_code == 404
    assert teacher_b.post(f"/teach/notices/{notice_id}/delete", data={"csrf": csrf(teacher_b)}).status_code == 404
    assert "Class A only" not in teacher_b.get(f"/teach/{b['class']}").text
    # children and strangers cannot post; a stale form changes nothing
    assert _post(wang, a["class"], "I am the teacher").status_code == 403
    assert _post(clients["anonymous"], a["class"], "Hello").status_code == 401
    stale = clients["teacher_a"].post(f"/teach/{a['class']}/notices", data={"csrf": "stale", "body": "x"})
    assert stale.status_code == 403
    assert kit.db.read().execute("SELECT count(*) FROM notices").fetchone()[0] == 2


def test_notices_the_teacher_takes_one_back(kit, roles):
    clients, ids = roles
    a = ids["a"]
    teacher = clients["teacher_a"]
    _post(teacher, a["class"], "Wrong day")
    [notice_id] = [row[0] for row in kit.db.read().execute("SELECT id FROM notices")]
    wang = clients["student_a"]
    wang.post(f"/me/notices/{notice_id}/read", data={"csrf": csrf(wang)})
    gone = teacher.post(f"/teach/notices/{notice_id}/delete", data={"csrf": csrf(teacher)})
    assert gone.status_code == 303 and gone.headers["location"].endswith("?notice=notice_removed#notices")
    assert "Wrong day" not in wang.get("/me").text and "Wrong day" not in teacher.get(f"/teach/{a['class']}").text
    assert kit.db.read().execute("SELECT count(*) FROM notice_reads").fetchone()[0] == 0


def test_notices_refused_comes_back_as_the_class_page_with_the_text(kit, roles):
    clients, ids = roles
    a = ids["a"]
    teacher = clients["teacher_a"]
    long_text = "很长的通知" * 101  # 505 characters
    refused = teacher.post(
        f"/teach/{a['class']}/notices?lang=zh",
        data={"csrf": csrf(teacher), "body": long_text, "student": str(a["students"][1])},
    )
    assert refused.status_code == 400
    assert 'id="body-error"' in refused.text and "最多 500 个字" in refused.text and long_text in refused.text
    assert f'<option value="{a["students"][1]}" selected>' in refused.text  # whom it was for, kept
    assert 'aria-invalid="true"' in refused.text and "<h1>Class A</h1>" in refused.text
    empty = _post(teacher, a["class"], "   ")
    assert empty.status_code == 400 and "通知是空的" in empty.text  # the language chosen above, kept
    assert kit.db.read().execute("SELECT count(*) FROM notices").fetchone()[0] == 0


def test_notices_text_is_escaped(kit, roles):
    clients, ids = roles
    a = ids["a"]
    _post(clients["teacher_a"], a["class"], f"Hi {HOSTILE}")
    for page in (clients["student_a"].get("/me").text, clients["teacher_a"].get(f"/teach/{a['class']}").text):
        assert HOSTILE not in page and "Hi &lt;script&gt;" in page
