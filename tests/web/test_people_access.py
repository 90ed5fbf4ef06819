"""Who sees what, request by request: every people route × every role, with class A's ids (teacher_b and
student_b belong to class B). Real kit, real uvicorn on loopback, real sessions and CSRF."""

from __future__ import annotations

import pytest

from appliance.services.people import auth
from tests.roster_data import oneroster_files, zipped
from tests.web.people_clients import csrf, role_clients, staff_client, student_client

ROLES = ("anonymous", "student_a", "student_b", "teacher_a", "teacher_b", "admin")


def _expected() -> list[tuple[str, str, tuple[int, ...]]]:
    """(method, path template, statuses in ROLES order). {A} class A, {sA} its first student, {tA} its teacher."""
    return [
        ("GET", "/learn", (200, 200, 200, 200, 200, 200)),
        ("GET", "/learn/{A}", (200, 200, 200, 200, 200, 200)),
        ("GET", "/learn/{A}/{sA}", (200, 200, 200, 200, 200, 200)),
        ("GET", "/learn/{B}/{sA}", (404, 404, 404, 404, 404, 404)),
        ("POST", "/learn/{A}/{sA}?digit", (200, 200, 200, 200, 200, 200)),
        ("GET", "/me", (303, 200, 200, 303, 303, 303)),
        ("GET", "/teach", (303, 403, 403, 200, 200, 200)),
        ("GET", "/teach/{A}", (401, 403, 403, 200, 404, 200)),
        ("POST", "/teach/{A}/pins", (401, 403, 403, 200, 404, 200)),
        ("POST", "/teach/{A}/pins?ask={sA}", (401, 403, 403, 200, 404, 200)),  # the confirmation page
        ("POST", "/teach/{A}/pins?student={sA}", (401, 403, 403, 200, 404, 200)),
        ("GET", "/teach/{A}/cards", (401, 403, 403, 200, 404, 200)),
        ("POST", "/teach/{A}/notices", (401, 403, 403, 303, 404, 303)),
        ("POST", "/teach/{A}/attendance", (401, 403, 403, 303, 404, 303)),
        ("GET", "/teach/{A}/attendance.csv", (401, 403, 403, 200, 404, 200)),
        ("GET", "/teach/{A}/students/{sA}", (401, 403, 403, 200, 404, 200)),
        ("GET", "/teach/{A}/students/{sA}/remove", (401, 403, 403, 200, 404, 200)),
        ("GET", "/teach/{A}/edit", (401, 403, 403, 200, 404, 200)),
        ("GET", "/teach/{A}/remove", (401, 403, 403, 200, 404, 200)),
        ("POST", "/teach/{A}/teachers", (401, 403, 403, 403, 403, 303)),
        ("POST", "/teach/classes", (401, 403, 403, 303, 303, 303)),
        ("POST", "/teach/import", (401, 403, 403, 200, 200, 200)),
        ("GET", "/admin", (303, 403, 403, 303, 303, 200)),
        ("GET", "/admin/people", (401, 403, 403, 403, 403, 200)),
        ("POST", "/admin/people/teachers", (401, 403, 403, 403, 403, 303)),
        ("POST", "/admin/people/{tA}/password", (401, 403, 403, 403, 403, 303)),
        ("POST", "/admin/people/import", (401, 403, 403, 403, 403, 200)),
        ("POST", "/admin/password", (401, 403, 403, 303, 303, 303)),
        ("GET", "/admin/books", (401, 403, 403, 200, 200, 200)),
        (
            "GET",
            "/units?edition=rjb",
            (200, 200, 200, 200, 200, 200),
        ),  # 按课本找: anyone; adding, tests/web/test_units.py  # its forms: tests/security/test_stick_books.py
    ]


def _request(http, method: str, path: str, role: str, n: int, current: str = "", ids: dict | None = None):
    if method == "GET":
        return http.get(path)
    path, _, query = path.partition("?")
    data = {"csrf": csrf(http)}
    files = None
    if query == "digit":
        data |= {"pin": "12", "key": "3"}
    elif query.startswith("student="):
        data |= {"student": query.split("=")[1], "confirm": "yes"}
    elif query.startswith("ask="):
        data["student"] = query.split("=")[1]
    if path.endswith("/attendance") and ids:
        data |= {"student": str(ids["a"]["students"][0]), "day": "", "present": "1"}
    elif path.endswith("/teachers") and ids:
        data["teacher"] = str(ids["a"]["teacher"])  # as it was: the rows after this one still find class A
    if path == "/teach/classes":
        data |= {"name": f"New class {role} {n}", "grade": "4"}
    elif path == "/teach/import":
        data["class_name"] = f"Imported {role}"
        files = {"file": ("class.csv", f"name\nPupil {role} {n}\n".encode(), "text/csv")}
    elif path == "/admin/people/teachers":
        data |= {"name": "New Teacher", "username": f"new-{role}-{n}", "password": "a first password"}
    elif path.endswith("/password"):
        data |= {"current": current, "password": "a new long password"}
    elif path.endswith("/notices"):
        data["body"] = f"Notice {role} {n}"
    elif path == "/admin/people/import":
        files = {"file": ("county.zip", zipped(oneroster_files()), "application/zip")}
    return http.post(path, data=data, files=files)


@pytest.mark.slow
def test_people_access_matrix_every_route_every_role(kit, live):
    clients, ids = role_clients(kit, live.url)
    names = {"A": ids["a"]["class"], "B": ids["b"]["class"], "sA": ids["a"]["students"][0], "tA": ids["a"]["teacher"]}
    actual, expected = {}, {}
    try:
        for n, (method, template, statuses) in enumerate(_expected()):
            path = template.format(**names)
            for role, status in zip(ROLES, statuses):
                current = ids["passwords"].get(role, "")
                response = _request(clients[role], method, path, role, n, current, ids)
                actual[(method, template, role)] = response.status_code
                expected[(method, template, role)] = status
                if response.status_code == 200:  # pages about people are never cached anywhere
                    assert response.headers["cache-control"] == "no-store", (method, path, role)
            _sign_in_again_after_credential_changes(kit, live.url, clients, ids, template)
    finally:
        for http in clients.values():
            http.close()
    wrong = {key: (actual[key], want) for key, want in expected.items() if actual[key] != want}
    assert wrong == {}, "(method, route, role): (got, expected)"


def _sign_in_again_after_credential_changes(kit, base_url: str, clients: dict, ids: dict, template: str) -> None:
    """A new PIN or an administrator's reset ends the account's sessions (tests/security/test_signin_holes.py):
    the old client is signed out; the matrix goes on with a client signed in with the new credential."""
    a = ids["a"]
    if template == "/teach/{A}/pins?student={sA}":
        assert clients["student_a"].get("/me").status_code == 303  # back to the sign-in page
        clients["student_a"].close()
        kit.people.set_credentials({a["students"][0]: auth.hash_pin("4321")})
        clients["student_a"] = student_client(base_url, a["class"], a["students"][0], "4321")
    if template == "/admin/people/{tA}/password":
        assert clients["teacher_a"].get("/teach").status_code == 303
        clients["teacher_a"].close()
        clients["teacher_a"] = staff_client(base_url, "t-a", "a new long password")
        ids["passwords"]["teacher_a"] = "a new long password"


def test_people_access_teacher_sees_only_own_classes_and_students(kit, live):
    clients, ids = role_clients(kit, live.url)
    try:
        page_a = clients["teacher_a"].get("/teach").text
        assert "Class A" in page_a and "Class B" not in page_a
        roster_a = clients["teacher_a"].get(f"/teach/{ids['a']['class']}").text
        assert "Wang Fang" in roster_a and "Zhou Bo" not in roster_a
        everything = clients["admin"].get("/teach").text
        assert "Class A" in everything and "Class B" in everything
        me = clients["student_a"].get("/me").text
        assert "Class A" in me and "Class B" not in me and "To do" in me  # My space is no longer a placeholder
    finally:
        for http in clients.values():
            http.close()


def test_people_access_forms_refuse_a_missing_or_foreign_csrf(kit, live):
    clients, ids = role_clients(kit, live.url)
    try:
        teacher = clients["teacher_a"]
        forged = teacher.post(f"/teach/{ids['a']['class']}/pins", data={"csrf": "forged"})
        assert forged.status_code == 403
        pin_try = clients["anonymous"].post(
            f"/learn/{ids['a']['class']}/{ids['a']['students'][0]}", data={"pin": "2468", "key": "go"}
        )
        assert pin_try.status_code == 403 and "tpkit_session" not in pin_try.cookies
    finally:
        for http in clients.values():
            http.close()
