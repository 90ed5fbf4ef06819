"""Who: a teacher (or whoever holds a teacher's session), and a school system's roster. From where: /teach's "new
class" and "import a class" forms, a OneRoster set. With what: a new class named exactly (or in another case, or in
full-width forms: "三年级１班" for "三年级1班") as another teacher's class, so /learn shows two identical buttons and
pupils sign in to the wrong class; a new class that names other teachers as its teachers (before, a teacher could
hand a class to anyone, or join another teacher to theirs). What stops them: class names are unique on the kit as
people read them (NFKC, case-folded, spaces squeezed: services/people/class_names.py), checked in the transaction
that writes them, the refused form coming back with what was typed and the message beside the field; a teacher's
new class has that teacher alone (an administrator names any); a OneRoster title that reads as another class's is
stored as "title (2)"; migration 0021 renamed duplicates already stored. docs/security.md, "Classes"."""

from __future__ import annotations

from appliance.services.people import access as people, oneroster
from appliance.services.people.access import CONSOLE
from appliance.services.people.class_names import name_key
from appliance.storage.database import Database
from tests.roster_data import CLASSES, oneroster_files
from tests.web.people_clients import csrf, role_clients


def test_security_class_names_compare_as_people_read_them():
    assert name_key("三年级１班") == name_key("三年级1班")  # full-width digit
    assert name_key("Ｃｌａｓｓ  A") == name_key("class a")  # full-width letters, case, doubled space
    assert name_key("三年级1班") != name_key("三年级2班")


def test_security_a_teacher_cannot_reuse_another_teachers_class_name(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher_a, teacher_b = clients["teacher_a"], clients["teacher_b"]
    try:
        made = teacher_a.post("/teach/classes", data={"csrf": csrf(teacher_a), "name": "三年级1班", "grade": "3"})
        assert made.status_code == 303
        for name in ("三年级1班", "三年级１班", "class a"):  # A's new class, and A's class from roster_data
            refused = teacher_b.post("/teach/classes", data={"csrf": csrf(teacher_b), "name": name, "grade": "3年"})
            assert refused.status_code == 400, name
            assert f'name="name" required maxlength="80" value="{name}" aria-invalid="true"' in refused.text
            assert 'id="name-error"' in refused.text and "Another class already has this name" in refused.text
            assert 'value="3年"' in refused.text  # the rest of what was typed, too
        zh = teacher_b.post("/teach/classes?lang=zh", data={"csrf": csrf(teacher_b), "name": "三年级1班"})
        assert zh.status_code == 400 and "已有同名" in zh.text and "Another class" not in zh.text
        learn = clients["anonymous"].get("/learn").text
        assert learn.count(">Class A<") == 1, learn  # one button for the class pupils sign in to
        assert len({name_key(c["name"]) for c in kit.people.all_classes()}) == len(kit.people.all_classes())
    finally:
        for http in clients.values():
            http.close()


def test_security_a_teachers_roster_import_cannot_take_another_teachers_class_name(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher_b = clients["teacher_b"]
    try:
        imported = teacher_b.post(
            "/teach/import",
            data={"csrf": csrf(teacher_b), "class_name": "CLASS A"},
            files={"file": ("b.csv", b"name\nMallory\n", "text/csv")},
        )
        assert imported.status_code == 400
        assert 'value="CLASS A" aria-invalid="true" aria-describedby="class_name-error"' in imported.text
        assert not any(s["display_name"] == "Mallory" for s in kit.people.students_of(ids["a"]["class"]))
        own = teacher_b.post(
            "/teach/import",
            data={"csrf": csrf(teacher_b), "class_name": "class b"},  # B's own class, in another case: imported there
            files={"file": ("b.csv", b"name\nNew Pupil\n", "text/csv")},
        )
        assert own.status_code == 200
        assert any(s["display_name"] == "New Pupil" for s in kit.people.students_of(ids["b"]["class"]))
    finally:
        for http in clients.values():
            http.close()


def test_security_a_teacher_names_only_themself_as_a_new_classs_teacher(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher_a, admin = clients["teacher_a"], clients["admin"]
    try:
        handed = teacher_a.post("/teach/classes", data={"csrf": csrf(teacher_a), "name": "Gift", "teachers": "t-b"})
        assert handed.status_code == 403
        assert "Gift" not in [c["name"] for c in kit.people.all_classes()]
        own = teacher_a.post("/teach/classes", data={"csrf": csrf(teacher_a), "name": "Mine", "teachers": "t-a"})
        assert own.status_code == 303
        class_id = int(own.headers["location"].rsplit("/", 1)[1])
        assert [t["username"] for t in kit.people.teachers_of(class_id)] == ["t-a"]
        shared = admin.post("/teach/classes", data={"csrf": csrf(admin), "name": "Shared", "teachers": "t-a，t-b"})
        assert shared.status_code == 303
        shared_id = int(shared.headers["location"].rsplit("/", 1)[1])
        assert sorted(t["username"] for t in kit.people.teachers_of(shared_id)) == ["t-a", "t-b"]
        unknown = admin.post("/teach/classes", data={"csrf": csrf(admin), "name": "Other", "teachers": "nobody"})
        assert unknown.status_code == 400 and 'id="teachers-error"' in unknown.text and 'value="nobody"' in unknown.text
    finally:
        for http in clients.values():
            http.close()


def test_security_a_oneroster_title_that_reads_as_another_class_gets_a_number(kit):
    people.create_class(kit.people, CONSOLE, "三年级一班", "3", [])  # made on the kit before the county's set came
    files = oneroster_files(classes=CLASSES + "c-2,,,三年级一班,03,course-1,3B,homeroom,,org-1,term-1,,,\n")
    oneroster.import_set(kit.people, CONSOLE, files)
    names = sorted(c["name"] for c in kit.people.all_classes())
    assert names == ["三年级一班", "三年级一班 (2)", "三年级一班 (3)"]
    oneroster.import_set(kit.people, CONSOLE, files)  # imported again: each keeps its name
    assert sorted(c["name"] for c in kit.people.all_classes()) == names


def test_security_migration_0021_renames_classes_stored_with_the_same_name(tmp_path):
    db = Database(tmp_path / "before-0021.sqlite3")
    db.migrate(upto=20)
    with db.write() as conn:  # as a kit before 0021 could hold them
        for name in ("Class 3", "Class 3", "class 3", "Class 4"):
            conn.execute("INSERT INTO classes (name) VALUES (?)", (name,))
    db.migrate()
    rows = db.read().execute("SELECT id, name FROM classes").fetchall()
    names = [c["name"] for c in sorted(rows, key=lambda c: c["id"])]
    assert names == ["Class 3", "Class 3 (2)", "class 3 (3)", "Class 4"]
    assert db.read().execute("PRAGMA user_version").fetchone()[0] >= 21
    db.close()
