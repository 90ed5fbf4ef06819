"""Who: a pupil on the classroom Wi-Fi (their own session or none), a teacher of another class, or someone who reads
the kit's database. From where: every page of the kit, the sign-in form at /learn, the SQLite file. With what: asking
for a class's sign-in cards, looking for a classmate's PIN on any other page, or writing a PIN of their choice into
the kept copy (`accounts.printed_pin`) hoping sign-in believes it. What stops them: the cards page answers only the
class's teachers and administrators (401/403/404 as every class page); no other page prints a kept PIN; sign-in
checks the argon2 hash only, never the kept copy. Reading the database gives the PINs, as the hashes already did in
minutes (docs/security.md, "PINs kept for the cards")."""

from __future__ import annotations

import httpx

from tests.web.people_clients import csrf, student_client


def test_only_the_class_teachers_and_administrators_read_the_cards(roles):
    clients, ids = roles
    a = ids["a"]
    pins = list(a["pins"].values())
    for role, status in (("anonymous", 401), ("student_a", 403), ("student_b", 403), ("teacher_b", 404)):
        refused = clients[role].get(f"/teach/{a['class']}/cards")
        assert refused.status_code == status, role
        assert not any(pin in refused.text for pin in pins), role
    for role in ("teacher_a", "admin"):
        shown = clients[role].get(f"/teach/{a['class']}/cards")
        assert shown.status_code == 200 and all(pin in shown.text for pin in pins), role
        assert shown.headers["cache-control"] == "no-store"  # never kept by a shared PC's cache or a proxy


def test_no_other_page_prints_a_kept_pin(roles):
    clients, ids = roles
    a = ids["a"]
    pages = {
        "class page": clients["teacher_a"].get(f"/teach/{a['class']}"),
        "people": clients["admin"].get("/admin/people"),
        "names": clients["anonymous"].get(f"/learn/{a['class']}"),
        "keypad": clients["anonymous"].get(f"/learn/{a['class']}/{a['students'][1]}"),
        "my space": clients["student_a"].get("/me"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert not any(f">{pin}<" in page.text or f'"{pin}"' in page.text for pin in a["pins"].values()), name


def test_sign_in_checks_the_hash_not_the_kept_copy(kit, live, roles):
    _, ids = roles
    a = ids["a"]
    sid = a["students"][1]
    with kit.people.transaction() as conn:  # someone who can write the database changes the printed copy only
        conn.execute("UPDATE accounts SET printed_pin = '0000' WHERE id = ?", (sid,))
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=20) as child:
        wrong = child.post(f"/learn/{a['class']}/{sid}", data={"csrf": csrf(child), "pin": "0000", "key": "go"})
        assert wrong.status_code != 303
    student_client(live.url, a["class"], sid, a["pins"][sid]).close()
