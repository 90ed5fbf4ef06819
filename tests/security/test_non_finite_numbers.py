"""Non-finite numbers (issue 14, M8).

Who: a teacher's slip or a pupil who borrowed a teacher's session; a kit whose records carry a bad number; anyone who
can post to the hub. From where: the grading form on the classroom Wi-Fi, a records report, `POST /api/v1/enrol`.
With what: a score of `inf`, `nan` or `1e999` (Python's float() takes all three), JSON with `Infinity`/`NaN`.
Before: the score was stored as infinity and its learning record as `{"raw": Infinity}`, which is not JSON, so the
student's My space answered 500 for ever (SQLite "malformed JSON"), `tpkit records export` wrote invalid JSON and
the county's LRS refused the whole batch.
What stops them: forms read numbers with `typed_numbers.parse_number` (finite or refused); JSON that is stored or
leaves the process is written by `strict_json.dumps` (allow_nan=False) and JSON from outside read by
`strict_json.loads` (no NaN/Infinity/1e999, bounded depth); migration 0019 repairs what was stored before.
"""

from __future__ import annotations

import json
import math
import sqlite3

import pytest

from appliance import strict_json
from appliance.services.learning import quiz_marking
from appliance.storage.database import Database
from appliance.typed_numbers import parse_number
from tests.web.lesson_data import JPEG, hand_in, handin_ids, make_lesson
from tests.web.people_clients import csrf, role_clients

NON_FINITE = ["inf", "-inf", "Infinity", "nan", "NaN", "1e999", "9" * 400, "1e3"]


@pytest.mark.parametrize("text", NON_FINITE)
def test_typed_numbers_refuse_what_is_not_a_finite_number(text):
    assert parse_number(text) is None
    assert parse_number("８,5") == 8.5 and parse_number(" +3 ") == 3.0


def test_a_score_of_infinity_is_refused_and_my_space_keeps_working(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Clouds")
    assert hand_in(student, lesson_id, "Cumulus", [("p.jpg", JPEG, "image/jpeg")]).status_code == 303
    [handin_id] = handin_ids(teacher.get(f"/teach/lessons/{lesson_id}").text)
    for score, out_of in [("inf", "10"), ("1e999", "1e999"), ("nan", "10"), ("8", "inf"), ("Infinity", "")]:
        refused = teacher.post(
            f"/teach/handins/{handin_id}/grade",
            data={"csrf": csrf(teacher), "action": "grade", "score": score, "out_of": out_of, "comment": ""},
        )
        assert refused.status_code == 400, (score, out_of, refused.status_code)
    assert student.get("/me").status_code == 200
    rows = kit.db.read().execute("SELECT json_valid(statement) FROM learning_records").fetchall()
    assert rows and all(valid for (valid,) in rows)
    for http in clients.values():
        http.close()


def test_quiz_points_and_tolerances_must_be_finite():
    base = {"kind": "numeric", "prompt": "How many?", "answer": "3"}
    for bad in ({"points": math.inf}, {"points": math.nan}, {"tolerance": math.inf}, {"tolerance": math.nan}):
        with pytest.raises(Exception, match="Question 1"):
            quiz_marking.check_question({**base, **bad}, 1)
    for answer in ("inf", "nan", "1e999"):
        with pytest.raises(Exception, match="not a number"):
            quiz_marking.check_question({**base, "answer": answer}, 1)


def test_strict_json_writes_and_reads_only_finite_numbers():
    for value in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError):
            strict_json.dumps({"raw": value})
    for text in ('{"raw": Infinity}', '{"raw": -Infinity}', '{"raw": NaN}', '{"raw": 1e999}', "[" * 4000, "{" * 40):
        with pytest.raises(ValueError):
            strict_json.loads(text)
    assert strict_json.loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": [1.5]}')["b"] == [1.5]


def test_migration_0019_repairs_scores_and_records_stored_before(tmp_path):
    path = tmp_path / "kit.sqlite3"
    db = Database(path)
    db.migrate(upto=18)
    db.close()
    good = {"id": "a", "result": {"score": {"raw": 8, "max": 10}, "completion": True}}
    bad = {"id": "b", "verb": {"id": "v"}, "result": {"score": {"raw": math.inf, "max": math.inf}, "completion": True}}
    raw = sqlite3.connect(path)  # as the kit wrote before: json.dumps with its default allow_nan=True
    raw.executescript("PRAGMA foreign_keys=OFF")
    raw.executemany(
        "INSERT INTO learning_records (id, statement, created_at) VALUES (?, ?, '2026-12-01')",
        [(s["id"], json.dumps(s, ensure_ascii=False)) for s in (good, bad)],
    )
    raw.execute(
        "INSERT INTO handins (id, lesson_id, account_id, handed_at, state, score, out_of) "
        "VALUES (1, 1, 1, '2026-12-01', 'graded', ?, ?), (2, 1, 2, '2026-12-01', 'graded', 8, 10)",
        (math.inf, math.inf),
    )
    raw.execute(
        "INSERT INTO quiz_attempts (id, quiz_id, account_id, number, started_at, score, out_of) "
        "VALUES (1, 1, 1, 1, '2026-12-01', ?, 10)",
        (-math.inf,),
    )
    raw.execute("INSERT INTO quiz_answers VALUES (1, 0, '\"x\"', 'x', ?, 0)", (math.inf,))
    raw.commit()
    raw.close()

    db = Database(path)
    assert db.migrate() >= 19
    read = db.read()
    statements = {r[0]: strict_json.loads(r[1]) for r in read.execute("SELECT id, statement FROM learning_records")}
    assert statements == {"a": good, "b": {"id": "b", "verb": {"id": "v"}, "result": {"completion": True}}}
    handins = read.execute("SELECT id, state, score, out_of FROM handins ORDER BY id").fetchall()
    assert [tuple(r) for r in handins] == [(1, "handed_in", None, None), (2, "graded", 8.0, 10.0)]
    assert tuple(read.execute("SELECT score, out_of FROM quiz_attempts").fetchone()) == (None, None)
    assert read.execute("SELECT score FROM quiz_answers").fetchone()[0] == 0
    db.close()
