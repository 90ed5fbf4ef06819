"""Parents take part (issue 18) over real HTTP: the family page in the child's sign-in shows that child's homework
(state, mark, comment), quiz marks and notices and nothing of the other child; 已阅 and a message to the teacher are
plain forms whose client_id makes the same POST twice store once and answer the same; a refused message comes back
as typed; the teacher sees per child the counts on the class page and a page of messages (made, arrived) and signs,
and marks a message read; another class's teacher sees nothing. Real kit, uvicorn, sessions, CSRF."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from tests.web.chinese_pages import visible_words
from tests.web.family_data import CLASS_NOTICE, HOMEWORK, OWN_NOTICE, QUIZ, comment_of, marked_homework, quiz_taken
from tests.web.offline.test_phone_pass import bearer, take_home
from tests.web.people_clients import csrf, hidden_values, student_client


@pytest.fixture
def family(kit, live, roles):
    """Class A's two children (Wang Fang signed in as student_a, 李小明 here) with marked homework and notices; Wang
    Fang took a quiz."""
    clients, ids = roles
    a = ids["a"]
    made = marked_homework(kit, a["teacher"], a["class"])
    wang_id, li_id = a["students"]
    quiz_taken(kit, a["teacher"], a["class"], wang_id)
    wang = clients["student_a"]
    li = student_client(live.url, a["class"], li_id, a["pins"][li_id])
    for http in (wang, li, clients["teacher_a"]):
        http.get("/me?lang=zh")  # the parents read Chinese (the choice is kept in a cookie)
    yield {**made, "clients": clients, "ids": ids, "wang": wang, "li": li, "wang_id": wang_id, "li_id": li_id}
    li.close()


def _sign(http, what: str, thing_id: int, client_id: str | None = None, made_at: str = ""):
    data = {
        "csrf": csrf(http),
        "what": what,
        "id": str(thing_id),
        "client_id": uuid.uuid4().hex if client_id is None else client_id,
    }
    return http.post("/me/family/sign", data={**data, "made_at": made_at})


def _message(http, class_id: int, body: str, client_id: str | None = None, made_at: str = ""):
    data = {
        "csrf": csrf(http),
        "class": str(class_id),
        "body": body,
        "client_id": str(uuid.uuid4()) if client_id is None else client_id,
    }
    return http.post("/me/family/message", data={**data, "made_at": made_at})


def _count(kit, table: str) -> int:
    return kit.db.read().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_family_page_shows_this_child_only(kit, family):
    wang, li = family["wang"], family["li"]
    me = wang.get("/me?lang=zh").text
    assert '<a class="button" href="/me/family">给家长看</a>' in me
    page = wang.get("/me/family").text
    assert HOMEWORK in page and "老师已批改" in page and "7 分（满分 10）" not in page and "8 分（满分 10）" in page
    assert (
        comment_of("Wang Fang") in page
        and "良" in page
        and f'{QUIZ} <span class="count">Class A</span> · <b>1 分（满分 2）</b>' in page
    )
    assert CLASS_NOTICE in page and OWN_NOTICE.format(name="Wang Fang") in page
    # nothing of 李小明: not his name, comment, mark, hand-in or notice
    assert "李小明" not in page and "7 分" not in page
    assert f"handin-{family['handins'][family['li_id']]}" not in page
    assert visible_words(page, ("Wang Fang", "Class A", "Teacher A")) == []
    their = li.get("/me/family?lang=zh").text
    assert "Wang Fang" not in their and comment_of("李小明") in their and "7 分（满分 10）" in their
    assert "还没做" in their  # 李小明 did not take the quiz
    assert wang.get("/me/family?lang=en").text.count("Seen</button>") == 3  # the homework and two notices
    # a teacher is sent home, a stranger to the sign-in
    assert family["clients"]["teacher_a"].get("/me/family").headers["location"] == "/teach"
    assert family["clients"]["anonymous"].get("/me/family").headers["location"] == "/learn"


def test_family_signs_are_kept_once_per_child_and_thing(kit, family):
    wang = family["wang"]
    handin = family["handins"][family["wang_id"]]
    page = wang.get("/me/family").text
    ids = hidden_values(page, "client_id")
    assert len(ids) == len(set(ids)) == 4  # three 已阅 forms and the message form, each its own delivery id
    first = _sign(wang, "handin", handin, "same-delivery-1")
    again = _sign(wang, "handin", handin, "same-delivery-1")  # the phone sent it twice
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == f"/me/family?notice=signed#handin-{handin}"
    assert _sign(wang, "handin", handin).status_code == 303  # signed again from another page: still one sign
    assert _sign(wang, "notice", family["class_notice"]).status_code == 303
    assert _count(kit, "family_signs") == 2
    page = wang.get("/me/family").text
    assert page.count("✓ 已阅") == 2 and page.count(">已阅</button>") == 1
    assert "已签收" not in page and "已签收" in wang.get("/me/family?notice=signed").text
    # the other child's hand-in and notice, a made-up one: as if absent; no delivery id: refused
    li = family["li"]
    assert _sign(wang, "handin", family["handins"][family["li_id"]]).status_code == 404
    assert _sign(wang, "notice", family["notices"][family["li_id"]]).status_code == 404
    assert _sign(li, "handin", 99999).status_code == 404
    assert _sign(wang, "quiz", 1).status_code == 400
    assert _sign(wang, "notice", family["class_notice"], client_id="").status_code == 400
    assert _count(kit, "family_signs") == 2


def test_family_message_once_refused_as_typed_and_clamped(kit, family):
    wang, class_id = family["wang"], family["ids"]["a"]["class"]
    long = "孩子" * 151
    refused = _message(wang, class_id, long, client_id="typed-delivery")
    assert refused.status_code == 400 and "留言太长了" in refused.text
    assert long in refused.text and 'name="client_id" value="typed-delivery"' in refused.text  # nothing lost
    assert "写上想告诉老师的话" in _message(wang, class_id, "  ").text
    assert _count(kit, "family_messages") == 0
    sent = _message(wang, class_id, "孩子这周感冒了，作业会晚交。", "typed-delivery", "2020-01-01T08:00:00Z")
    again = _message(wang, class_id, "孩子这周感冒了，作业会晚交。", "typed-delivery")
    assert sent.status_code == again.status_code == 303 and sent.headers["location"] == again.headers["location"]
    assert re.fullmatch(r"/me/family\?notice=message_sent#message-\d+", sent.headers["location"])
    assert _message(wang, class_id, "明天我来接孩子。", made_at="2999-01-01T00:00:00Z").status_code == 303
    assert _message(wang, class_id, "谢谢老师。", made_at="not a time").status_code == 303
    rows = kit.db.read().execute("SELECT made_at, arrived_at FROM family_messages ORDER BY id").fetchall()
    assert len(rows) == 3
    old, future, garbled = rows
    assert old["made_at"] < old["arrived_at"] and old["made_at"] > "2020-01-02"  # clamped to 30 days back
    assert future["made_at"] == future["arrived_at"] and garbled["made_at"] == garbled["arrived_at"]
    other = family["ids"]["b"]["class"]
    assert _message(wang, other, "给别的班").status_code == 404
    assert "孩子这周感冒了" in wang.get("/me/family").text and "老师还没读" in wang.get("/me/family").text


def test_family_teacher_sees_counts_messages_and_signs(kit, family):
    wang, teacher, a = family["wang"], family["clients"]["teacher_a"], family["ids"]["a"]
    _sign(wang, "handin", family["handins"][family["wang_id"]])
    _sign(wang, "notice", family["class_notice"])
    _message(wang, a["class"], "孩子这周感冒了。", made_at="2026-01-01T00:00:00Z")
    roster = teacher.get(f"/teach/{a['class']}?lang=zh").text
    child = f"/teach/{a['class']}/students/{family['wang_id']}/family"
    assert (
        f'href="{child}">家长</a> <b class="tally bad">新留言 1 条</b> <span class="tally">新已阅 2 个</span>' in roster
    )
    assert roster.count("新留言") == 1  # 李小明's family sent nothing
    page = teacher.get(child).text
    assert "Wang Fang的家长" in page and "孩子这周感冒了。" in page and "写于" in page and "送达" in page
    assert page.count(">新</b>") == 2 and f"作业：{HOMEWORK}" in page and "通知：明天上午带尺子" in page
    assert ">新</b>" not in teacher.get(child).text  # seen once, new no more
    message_id = int(re.search(r"/family/messages/(\d+)/read", page)[1])
    done = teacher.post(f"/teach/{a['class']}/family/messages/{message_id}/read", data={"csrf": csrf(teacher)})
    assert done.headers["location"] == f"{child}?notice=message_read#message-{message_id}"
    after = teacher.get(child).text
    assert "Teacher A 已读" in after and "标为已读" not in after
    assert "新留言" not in teacher.get(f"/teach/{a['class']}").text
    assert "老师已读" in wang.get("/me/family").text
    english = teacher.get(f"{child}?lang=en").text
    assert "Wang Fang&#39;s family" in english and "Read by Teacher A" in english
    # another class's teacher: neither the page nor the message
    other = family["clients"]["teacher_b"]
    assert other.get(child).status_code == 404
    assert (
        other.post(f"/teach/{a['class']}/family/messages/{message_id}/read", data={"csrf": csrf(other)}).status_code
        == 404
    )
    b_class = family["ids"]["b"]["class"]
    assert (
        other.post(f"/teach/{b_class}/family/messages/{message_id}/read", data={"csrf": csrf(other)}).status_code == 404
    )
    assert wang.get(child).status_code == 403


def _by_phone(http, token: str, action: str, student: int, **fields):
    """What the phone's outbox sends for a family form (static/phone_store.js): the pass, no cookie, no CSRF."""
    data = {"student": str(student), "client_id": str(uuid.uuid4()), "made_at": "2020-01-01T00:00:00Z", **fields}
    return http.post(f"/me/family/{action}", data=data, headers=bearer(token))


def test_family_a_pass_of_one_child_never_signs_or_messages_as_another(kit, family):
    wang_id, li_id, ids = family["wang_id"], family["li_id"], family["ids"]
    phone = family["clients"]["anonymous"]
    token = take_home(family["wang"])
    li_things = [("notice", family["notices"][li_id]), ("handin", family["handins"][li_id])]
    for what, thing in li_things:  # 李小明's notice and hand-in, with Wang Fang's pass: as if absent
        refused = _by_phone(phone, token, "sign", wang_id, what=what, id=str(thing))
        assert refused.status_code == 404 and refused.json()["code"] == "family.not_found"
    other_class = _by_phone(phone, token, "message", wang_id, **{"class": str(ids["b"]["class"]), "body": "你好"})
    assert other_class.status_code == 404
    # an item naming 李小明, sent with Wang Fang's pass: refused, never stored as either child's
    own_notice = str(family["notices"][wang_id])
    class_a = str(ids["a"]["class"])
    for action, fields in (
        ("sign", {"what": "notice", "id": own_notice}),
        ("message", {"class": class_a, "body": "x"}),
    ):
        named = _by_phone(family["li"], token, action, li_id, **fields)
        assert named.status_code == 403 and named.json()["code"] == "phone.wrong_child"
    assert _count(kit, "family_signs") == 0 and _count(kit, "family_messages") == 0
    # with 李小明's cookie beside it, Wang Fang's pass still delivers as Wang Fang (the pass, not the cookie)
    item = {"what": "notice", "id": own_notice, "client_id": str(uuid.uuid4())}
    signed = _by_phone(family["li"], token, "sign", wang_id, **item)
    assert signed.status_code == 200
    assert signed.json() == {"delivered": True, "at": f"/me/family?notice=signed#notice-{own_notice}"}
    assert _by_phone(phone, token, "sign", wang_id, **item).json() == signed.json()  # the same item again
    message = _by_phone(phone, token, "message", wang_id, **{"class": class_a, "body": "明天请假。"})
    assert message.status_code == 200 and message.json()["at"].startswith("/me/family?notice=message_sent#message-")
    sign_row = kit.db.read().execute("SELECT account_id, made_at, arrived_at FROM family_signs").fetchall()
    message_rows = kit.db.read().execute("SELECT account_id, made_at, arrived_at FROM family_messages").fetchall()
    assert [r["account_id"] for r in [*sign_row, *message_rows]] == [wang_id, wang_id]
    issued = kit.db.read().execute("SELECT made_at FROM phone_passes").fetchone()[0]
    for row in [*sign_row, *message_rows]:  # the phone said 2020: clamped to when the pass was issued, not earlier
        made = dt.datetime.fromisoformat(row["made_at"].replace("Z", "+00:00"))
        assert abs(made.timestamp() - issued) < 1 and row["made_at"] <= row["arrived_at"]
