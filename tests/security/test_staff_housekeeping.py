"""Who: a pupil, a teacher of another class (or whoever holds their session), a guesser at /admin/signin. From where:
the classroom Wi-Fi: the class housekeeping pages and forms (/teach/<class>/edit, /students/<id>, /attendance…),
the sign-in form. With what: renaming, moving or removing another teacher's children or class, rewriting who came,
renaming a class as another class reads (two identical buttons on /learn); and, since user names became
case-insensitive (issue 16: LiLi is lili), five more guesses per spelling of a name (Admin, ADMIN, ａｄｍｉｎ…).
What stops them: every housekeeping page and form asks services/people/access.staff_class (404 for another
teacher's class, 403 for a pupil, 401 signed out), forms are posted with CSRF, removal needs a confirmation page
and archives instead of deleting (services/people/housekeeping.py); a class rename is checked like a new class's
name (class_names.check_free); sign-in normalises the name (NFKC, lower case) before the throttle counts it, so
every spelling shares one set of counters (services/people/auth.sign_in). docs/security.md, "Tidying another
teacher's class" and "Guessing around the throttle by spelling"."""

from __future__ import annotations

import pytest

from appliance.errors import SignInError, TooManyAttemptsError
from appliance.services.people import auth
from tests.web.people_clients import csrf, role_clients


def test_security_housekeeping_of_another_teachers_class_is_refused_and_changes_nothing(kit, live):
    clients, ids = role_clients(kit, live.url)
    a, b, wang = ids["a"]["class"], ids["b"]["class"], ids["a"]["students"][0]
    posts = {
        f"/teach/{a}/attendance": {"student": str(wang), "day": "", "present": "0"},
        f"/teach/{a}/students/{wang}/rename": {"name": "Renamed", "student_number": "X1"},
        f"/teach/{a}/students/{wang}/move": {"to": str(b)},
        f"/teach/{a}/students/{wang}/remove": {},
        f"/teach/{a}/rename": {"class_name": "Taken over", "grade": ""},
        f"/teach/{a}/remove": {},
        f"/teach/{a}/teachers": {"teacher": str(ids["b"]["teacher"])},
    }
    expected = {"anonymous": 401, "student_a": 403, "student_b": 403, "teacher_b": 404}
    try:
        for role, status in expected.items():
            http = clients[role]
            for path, data in posts.items():
                got = http.post(path, data={"csrf": csrf(http), **data}).status_code
                wanted = 403 if path.endswith("/teachers") and role == "teacher_b" else status  # admins only
                assert got == wanted, (role, path, got)
            forged = clients["teacher_a"].post(f"/teach/{a}/remove", data={"csrf": "forged"})
            assert forged.status_code == 403  # a page elsewhere cannot make the teacher's browser remove it
    finally:
        for http in clients.values():
            http.close()
    assert kit.people.class_by_id(a)["name"] == "Class A" and kit.people.enrolled(wang, a)
    assert kit.people.person(wang)["display_name"] == "Wang Fang"
    assert [t["id"] for t in kit.people.teachers_of(a)] == [ids["a"]["teacher"]]
    assert kit.db.read().execute("SELECT count(*) FROM attendance_marks").fetchone()[0] == 0


def test_security_a_class_cannot_be_renamed_as_another_class_reads(kit, live):
    clients, ids = role_clients(kit, live.url)
    try:
        teacher = clients["teacher_a"]
        for name in ("CLASS B", "Ｃｌａｓｓ  B"):
            refused = teacher.post(
                f"/teach/{ids['a']['class']}/rename", data={"csrf": csrf(teacher), "class_name": name, "grade": ""}
            )
            assert refused.status_code == 400 and "class_name-error" in refused.text
    finally:
        for http in clients.values():
            http.close()
    assert kit.people.class_by_id(ids["a"]["class"])["name"] == "Class A"


def test_security_every_spelling_of_a_name_shares_its_throttle(kit):
    password = auth.ensure_first_admin(kit.accounts)
    for second, spelling in enumerate(("admin", "Admin", "ADMIN", "aDmin", "ａｄｍｉｎ")):
        with pytest.raises(SignInError):
            auth.sign_in(kit.accounts, spelling, "wrong guess", kit.signin_failures, "10.0.0.9", now=1000.0 + second)
    with pytest.raises(TooManyAttemptsError):  # the sixth guess waits, whatever its spelling
        auth.sign_in(kit.accounts, "AdMiN", password, kit.signin_failures, "10.0.0.9", now=1006.0)
    assert auth.sign_in(kit.accounts, "ADMIN", password, kit.signin_failures, "10.0.0.9", now=1040.0)
