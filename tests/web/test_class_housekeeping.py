"""The class page's attendance and the housekeeping pages over HTTP: real kit, uvicorn, sessions and CSRF. Refused
forms come back as the same form with what was typed; a teacher of another class finds nothing; zh and en."""

from __future__ import annotations

import re

import pytest

from appliance.services.people import access
from tests.web.people_clients import csrf, role_clients
from tests.web.test_refused_forms import EN, ZH, assert_refused, beside, english_words, form_of


@pytest.fixture
def people_(kit, live):
    clients, ids = role_clients(kit, live.url)  # student_a and student_b signed in with their PINs just now
    yield clients, ids
    for http in clients.values():
        http.close()


def test_class_page_shows_last_sign_in_and_who_came_today(people_):
    clients, ids = people_
    teacher, a = clients["teacher_a"], ids["a"]["class"]
    wang, li = ids["a"]["students"]
    page = teacher.get(f"/teach/{a}", headers=ZH).text
    assert "今天谁来了" in page and '<span class="tally">1 / 2</span>' in page
    assert re.search(r"最近登录：今天 \d\d:\d\d", page) and "最近登录：从未" in page
    assert re.search(r"<b>来了</b><small>\d\d:\d\d 登录</small>", page)
    # the teacher corrects: 李小明 was there (no tablet), Wang Fang went home
    for student, present in ((li, "1"), (wang, "0")):
        data = {"csrf": csrf(teacher), "student": str(student), "day": "", "present": present}
        marked = teacher.post(f"/teach/{a}/attendance", data=data)
        assert marked.status_code == 303 and re.fullmatch(
            rf"/teach/{a}\?day=\d{{4}}-\d\d-\d\d#attendance", marked.headers["location"]
        )
    page = teacher.get(marked.headers["location"], headers=ZH).text
    assert page.count("老师改过") == 2 and '<span class="tally">1 / 2</span>' in page
    day = re.search(r"day=(\d{4}-\d\d-\d\d)", marked.headers["location"])[1]
    assert teacher.get(f"/teach/{a}?day=2999-01-01").status_code == 400
    csv = teacher.get(f"/teach/{a}/attendance.csv?day={day}", headers=ZH)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == f"学号,姓名,{day},到校天数"
    assert sorted(lines[1:]) == sorted([",Wang Fang,缺,0", ",李小明,到,1"])
    en = teacher.get(f"/teach/{a}?day={day}", headers=EN).text
    assert "Who came today" in en and "corrected by a teacher" in en


def test_class_pages_of_another_teacher_are_not_found(people_):
    clients, ids = people_
    other, a, wang = clients["teacher_b"], ids["a"]["class"], ids["a"]["students"][0]
    for path in (
        f"/teach/{a}/attendance.csv",
        f"/teach/{a}/students/{wang}",
        f"/teach/{a}/students/{wang}/remove",
        f"/teach/{a}/edit",
        f"/teach/{a}/remove",
    ):
        assert other.get(path).status_code == 404, path
    posts = {
        f"/teach/{a}/attendance": {"student": str(wang), "day": "", "present": "0"},
        f"/teach/{a}/students/{wang}/rename": {"name": "X", "student_number": ""},
        f"/teach/{a}/students/{wang}/move": {"to": str(ids["b"]["class"])},
        f"/teach/{a}/students/{wang}/remove": {},
        f"/teach/{a}/rename": {"class_name": "X", "grade": ""},
        f"/teach/{a}/remove": {},
    }
    for path, data in posts.items():
        assert other.post(path, data={"csrf": csrf(other), **data}).status_code == 404, path
    assert clients["student_a"].get(f"/teach/{a}/edit").status_code == 403
    assert (
        clients["teacher_a"].post(f"/teach/{a}/teachers", data={"csrf": csrf(clients["teacher_a"])}).status_code == 403
    )


def test_rename_student_refused_comes_back_as_the_form_then_saves(people_):
    clients, ids = people_
    teacher, a = clients["teacher_a"], ids["a"]["class"]
    wang, li = ids["a"]["students"]
    page = teacher.get(f"/teach/{a}/students/{li}", headers=ZH).text
    assert 'value="李小明"' in page and english_words(page, "Class A", "Wang Fang") == []
    data = {"csrf": csrf(teacher), "name": "Wang Fang", "student_number": "20140002"}
    refused = teacher.post(f"/teach/{a}/students/{li}/rename", data=data, headers=ZH)
    page = assert_refused(refused, "李小明", "name", "同名", "Wang Fang")
    assert 'value="Wang Fang"' in page and 'value="20140002"' in page
    saved = teacher.post(f"/teach/{a}/students/{li}/rename", data={**data, "name": "李晓明"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/teach/{a}?notice=renamed"
    shown = teacher.get(saved.headers["location"], headers=ZH).text
    assert "李晓明" in shown and "20140002" in shown and "已保存" in shown
    taken = teacher.post(
        f"/teach/{a}/students/{wang}/rename",
        data={"csrf": csrf(teacher), "name": "Wang Fang", "student_number": "20140002"},
        headers=EN,
    )
    assert taken.status_code == 400 and "student number" in beside(taken.text, "student_number")


def test_remove_student_confirms_what_goes_and_stays(people_):
    clients, ids = people_
    teacher, a = clients["teacher_a"], ids["a"]["class"]
    wang, li = ids["a"]["students"]
    confirm = teacher.get(f"/teach/{a}/students/{wang}/remove", headers=ZH).text
    assert "要把 Wang Fang 从“Class A”中移除吗？" in confirm
    assert "会消失的" in confirm and "仍保存在本机的" in confirm and "交的作业：0 份" in confirm
    assert english_words(confirm, "Wang Fang", "Class A") == []
    removed = teacher.post(f"/teach/{a}/students/{wang}/remove", data={"csrf": csrf(teacher)})
    assert removed.status_code == 303 and removed.headers["location"] == f"/teach/{a}?notice=student_removed"
    page = teacher.get(removed.headers["location"], headers=ZH).text
    assert "Wang Fang" not in page and "李小明" in page and "已从本班移除" in page
    assert clients["student_a"].get("/me").status_code == 303  # their session ended: no class to sign in to


def test_move_student_to_another_class_of_the_admin(people_):
    clients, ids = people_
    admin, a, b = clients["admin"], ids["a"]["class"], ids["b"]["class"]
    wang = ids["a"]["students"][0]
    page = admin.get(f"/teach/{a}/students/{wang}", headers=ZH).text
    assert f'<option value="{b}">Class B</option>' in page
    moved = admin.post(f"/teach/{a}/students/{wang}/move", data={"csrf": csrf(admin), "to": str(b)})
    assert moved.status_code == 303
    assert "Wang Fang" in admin.get(f"/teach/{b}").text and "Wang Fang" not in admin.get(f"/teach/{a}").text
    again = admin.post(f"/teach/{b}/students/{wang}/move", data={"csrf": csrf(admin), "to": str(b)}, headers=ZH)
    assert again.status_code == 400 and "已经在这个班" in beside(again.text, "to")


def test_class_rename_teachers_and_removal(people_, kit):
    clients, ids = people_
    teacher, admin, a, b = clients["teacher_a"], clients["admin"], ids["a"]["class"], ids["b"]["class"]
    page = teacher.get(f"/teach/{a}/edit", headers=ZH).text
    assert "只有管理员能设置任课老师" in page and english_words(page, "Class A", "Teacher A") == []
    refused = teacher.post(
        f"/teach/{a}/rename", data={"csrf": csrf(teacher), "class_name": "class b", "grade": "4"}, headers=ZH
    )
    page = assert_refused(refused, "Class A", "class_name", "同名", "Class A")
    assert 'value="class b"' in page and 'value="4"' in page
    renamed = teacher.post(f"/teach/{a}/rename", data={"csrf": csrf(teacher), "class_name": "三年级一班", "grade": "3"})
    assert renamed.status_code == 303 and "三年级一班" in teacher.get(f"/teach/{a}").text

    admin_page = admin.get(f"/teach/{a}/edit", headers=ZH).text
    assert f'name="teacher" value="{ids["a"]["teacher"]}" checked' in admin_page
    data = {"csrf": csrf(admin), "teacher": [str(ids["a"]["teacher"]), str(ids["b"]["teacher"])]}
    assert admin.post(f"/teach/{a}/teachers", data=data).status_code == 303
    assert clients["teacher_b"].get(f"/teach/{a}").status_code == 200  # teacher B teaches it now

    confirm = teacher.get(f"/teach/{a}/remove", headers=ZH).text
    assert "要删除班级“三年级一班”吗？" in confirm and "学生：2 人" in confirm
    removed = teacher.post(f"/teach/{a}/remove", data={"csrf": csrf(teacher)})
    assert removed.status_code == 303 and removed.headers["location"] == "/teach?notice=class_removed"
    listed = teacher.get(removed.headers["location"], headers=ZH).text
    assert "班级已删除" in listed and "三年级一班" not in listed
    assert teacher.get(f"/teach/{a}").status_code == 404
    assert "三年级一班" not in clients["anonymous"].get("/learn").text
    assert kit.people.records_in_class(a)["students"] == 2  # archived with its children, not deleted
    assert access.classes_for(kit.people, kit.people.person(ids["b"]["teacher"]))[0]["id"] == b


def test_new_class_refused_comes_back_as_the_form(people_):
    clients, _ = people_
    teacher = clients["teacher_a"]
    refused = teacher.post("/teach/classes", data={"csrf": csrf(teacher), "name": "CLASS A", "grade": "5"}, headers=ZH)
    page = assert_refused(refused, "我的班级", "name", "", "CLASS A")
    assert beside(page, "name") and 'value="CLASS A"' in page and 'value="5"' in page
    assert english_words(form_of(page, "/teach/classes"), "CLASS A") == []
