"""Signed-in HTTP clients for each role against a live kit: anonymous, students and teachers of two classes, admin."""

from __future__ import annotations

import re

import httpx

from appliance.services.people import auth
from tests.roster_data import two_classes


def csrf(http: httpx.Client) -> str:
    """The CSRF token of the client's forms as a page shows it (bound to its sign-in cookie, or before sign-in to its
    pre-session cookie, which the page sets when there is none yet): the sign-in page has a form for anyone."""
    return re.search(r'name="csrf" value="([^"]+)"', http.get("/admin/signin").text).group(1)  # type: ignore[union-attr]


def staff_client(base_url: str, username: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=20)
    response = http.post("/admin/signin", data={"csrf": csrf(http), "username": username, "password": password})
    assert response.status_code == 303, response.text
    return http


def student_client(base_url: str, class_id: int, student_id: int, pin: str) -> httpx.Client:
    http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=20)
    response = http.post(f"/learn/{class_id}/{student_id}", data={"csrf": csrf(http), "pin": pin, "key": "go"})
    assert response.status_code == 303 and response.headers["location"] == "/me", response.text
    return http


def role_clients(kit, base_url: str) -> tuple[dict[str, httpx.Client], dict]:
    """{role name: client} for anonymous, student_a, student_b, teacher_a, teacher_b, admin; and the ids."""
    ids = two_classes(kit)
    admin_password = auth.ensure_first_admin(kit.accounts)
    with kit.people.transaction() as conn:  # as if each had already chosen their own password
        for account_id in (ids["a"]["teacher"], ids["b"]["teacher"], kit.accounts.by_username("admin")["id"]):
            kit.people.update_person(conn, account_id, must_change_password=0)
    a, b = ids["a"], ids["b"]
    clients = {
        "anonymous": httpx.Client(base_url=base_url, follow_redirects=False, timeout=20),
        "student_a": student_client(base_url, a["class"], a["students"][0], a["pins"][a["students"][0]]),
        "student_b": student_client(base_url, b["class"], b["students"][0], b["pins"][b["students"][0]]),
        "teacher_a": staff_client(base_url, "t-a", "password-a-123"),
        "teacher_b": staff_client(base_url, "t-b", "password-b-123"),
        "admin": staff_client(base_url, "admin", admin_password),
    }
    ids["passwords"] = {"teacher_a": "password-a-123", "teacher_b": "password-b-123", "admin": admin_password}
    return clients, ids


def hidden_values(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', html)


TEACHER_PASSWORD = "chalk and blackboard"


def classroom(root, roster_csv: str, class_name: str, **settings_overrides):
    """A kit under `root` (books from root/c; `settings_overrides` beside) with an administrator, the teacher li.wei
    (TEACHER_PASSWORD, already changed) and one class imported from `roster_csv`; (kit, the teacher's id, the
    import's result)."""
    from appliance.config import load_settings
    from appliance.services.kit import open_kit
    from appliance.services.people import access as people, class_roster
    from appliance.services.people.access import CONSOLE

    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(root / "data"),
            "content_dir": str(root / "c"),
            "mdns_enabled": False,
            **settings_overrides,
        },
    )
    kit = open_kit(settings)
    auth.ensure_first_admin(kit.accounts)
    teacher_id = people.create_teacher(kit.people, CONSOLE, "李老师 Ms Li", "li.wei", TEACHER_PASSWORD)
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, teacher_id, must_change_password=0)
    return (
        kit,
        teacher_id,
        class_roster.import_file(kit.people, CONSOLE, roster_csv.encode(), "3a.csv", class_name, "li.wei"),
    )
