"""Learning records: xAPI shape, pseudonymous actors (real names only when turned on), the outbox hand-over
(decoded back from the signed reports) and `tpkit records export`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid

import pytest

from appliance import cli
from appliance.errors import BadRequestError
from appliance.protocol import report_file
from appliance.services.device.readings import Readings
from appliance.services.learning import records, xapi
from appliance.services.reporting import cycle as report_cycle
from tests.machine import HEALTHY_COMMANDS, fake_commands, fake_root
from tests.roster_data import two_classes


@pytest.fixture
def learning_kit(kit, tmp_path):
    """The kit on a fake healthy machine (its clock synchronised), with two classes of students."""
    kit.readings = Readings(root=fake_root(tmp_path / "root"), path=fake_commands(tmp_path / "bin", HEALTHY_COMMANDS))
    return kit, two_classes(kit)


def test_records_record_is_valid_xapi_with_a_pseudonymous_actor(learning_kit):
    kit, ids = learning_kit
    student = kit.people.person(ids["a"]["students"][0])
    made = records.record(kit, student["id"], "opened", "article", "test_book/A/光合作用", "光合作用")
    xapi.check_statement(made)
    assert made["actor"]["account"] == {
        "homePage": "https://tpkit.invalid/kits/tpkit-dev",
        "name": student["pseudonym"],
    }
    assert student["display_name"] not in json.dumps(made, ensure_ascii=False)
    assert made["verb"]["id"] == "http://adlnet.gov/expapi/verbs/experienced"
    assert made["object"]["id"] == (
        "https://tpkit.invalid/kits/tpkit-dev/xapi/activities/article/test_book/A/%E5%85%89%E5%90%88%E4%BD%9C%E7%94%A8"
    )
    assert made["context"]["extensions"][xapi.CLOCK_EXTENSION] is True
    quiz = records.record(kit, student["id"], "scored", "quiz", "7", "Plants", xapi.score_result(3, 4, passed_at=0.6))
    assert quiz["object"]["id"].endswith("/xapi/activities/quiz/tpkit-dev/7")  # kit-local ids carry the kit id
    assert quiz["result"]["score"] == {"raw": 3, "min": 0, "max": 4, "scaled": 0.75} and quiz["result"]["success"]
    assert [s["id"] for s in kit.learning_records.since()] == [made["id"], quiz["id"]]


def test_records_real_names_and_county_home_page_only_when_set(learning_kit):
    kit, ids = learning_kit
    kit.settings = dataclasses.replace(
        kit.settings, records_real_names=True, records_home_page="https://county.example/lrs"
    )
    made = records.record(kit, ids["a"]["students"][0], "opened", "book", "test_book", "Test book")
    assert made["actor"]["account"] == {"homePage": "https://county.example/lrs", "name": "Wang Fang"}
    with pytest.raises(BadRequestError) as refused:
        records.record(kit, 999_999, "opened", "book", "test_book", "Test book")
    assert refused.value.code == "records.invalid"


def test_records_queue_pending_into_the_outbox_once(learning_kit):
    kit, ids = learning_kit
    made = [
        records.record(kit, ids[tag]["students"][0], "opened", "article", f"test_book/A/{n}", f"A {n}")
        for tag in ("a", "b")
        for n in range(30)
    ]
    assert records.queue_pending(kit) == 60 and kit.learning_records.counts() == {"total": 60, "pending": 0}
    assert records.queue_pending(kit) == 0
    shipped = [
        s
        for stored in kit.outbox.all()
        if stored.kind == "records"
        for s in report_file.decode(stored.payload, "outbox").body["statements"]
    ]
    assert shipped == made


def test_records_export_cli_writes_an_xapi_array_since_a_day(learning_kit, tmp_path, capsys):
    kit, ids = learning_kit
    first = records.record(kit, ids["a"]["students"][0], "opened", "book", "test_book", "Test book")
    with kit.db.transaction() as conn:  # as if it had been made long ago
        conn.execute("UPDATE learning_records SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", (first["id"],))
    second = records.record(kit, ids["a"]["students"][1], "opened", "book", "test_book", "Test book")
    out = tmp_path / "records.json"
    data_dir = str(kit.settings.data_dir)
    assert cli.main(["records", "export", "--data-dir", data_dir, "--out", str(out)]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert [s["id"] for s in exported] == [first["id"], second["id"]]
    for made in exported:
        xapi.check_statement(made)
    capsys.readouterr()
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert cli.main(["records", "export", "--data-dir", data_dir, "--since", today]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [second["id"]]
    with pytest.raises(SystemExit):
        cli.main(["records", "export", "--data-dir", data_dir, "--since", "yesterday"])


def test_records_handed_over_by_the_report_cycle(learning_kit):
    kit, ids = learning_kit
    made = [records.record(kit, ids["a"]["students"][1], "opened", "book", "test_book", "Test book") for _ in range(3)]
    cycle = report_cycle.run(kit, deliver=False)
    assert cycle.records == 3 and report_cycle.run(kit, deliver=False).records == 0
    [stored] = [s for s in kit.outbox.all() if s.kind == "records"]
    assert [s["id"] for s in report_file.decode(stored.payload, "outbox").body["statements"]] == [m["id"] for m in made]


def test_records_opened_once_per_student_and_activity_within_the_window(learning_kit):
    kit, ids = learning_kit
    anna, ben = (kit.people.person(ids["a"]["students"][n]) for n in (0, 1))
    start = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc)

    def opened(account, path: str, minutes: float):
        return records.record_open(
            kit, account, "article", f"test_book/{path}", path, now=start + dt.timedelta(minutes=minutes)
        )

    first = opened(anna, "water", 0)
    assert first is not None and first["verb"]["id"] == "http://adlnet.gov/expapi/verbs/experienced"
    xapi.check_statement(first)
    assert opened(anna, "water", 1) is None and opened(anna, "water", 29.9) is None  # reloads, coming back
    assert opened(ben, "water", 1) is not None  # another student
    assert opened(anna, "rain", 1) is not None  # another article
    again = opened(anna, "water", 30)  # the window is 30 minutes from the last statement made
    assert again is not None and again["id"] != first["id"] and opened(anna, "water", 45) is None
    assert opened(anna, "water", -600) is not None  # the clock was set back: recorded, not silenced for hours
    stored = [s for s in kit.learning_records.since(None) if s["object"]["id"].endswith("/article/test_book/water")]
    assert len(stored) == 4 and records.OPEN_WINDOW_S == 30 * 60
    # record() itself never de-duplicates: quiz answers, hand-ins and scores are each an event
    assert records.record(kit, anna["id"], "opened", "article", "test_book/water", "water")["id"] not in {
        s["id"] for s in stored
    }


def test_records_statement_ids_are_time_ordered_uuids():
    """Version 7 (RFC 9562): a later id sorts after an earlier one, so new rows append to the id index."""
    made = [xapi.new_statement_id() for _ in range(200)]
    assert len(set(made)) == 200
    for one in made:
        parsed = uuid.UUID(one)
        assert str(parsed) == one and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    first = xapi.new_statement_id()
    time.sleep(0.002)
    assert xapi.new_statement_id() > first
    assert abs(int(first[:8] + first[9:13], 16) / 1000 - time.time()) < 5  # its first 48 bits: Unix milliseconds
