"""Parents' signs and messages without HTTP, on the kit's real SQLite file (issue 18): the same delivery sent at once
from many threads stores once and answers the same; a sign is kept once per (child, thing) whatever its client id;
made_at is clamped to [the thing's time, arrival]; only a marked hand-in of the child's own can be signed; a child
who leaves the class, or a class archived, keeps the rows as hand-ins are kept (services/people/housekeeping.py)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from appliance.errors import AccessDeniedError, BadRequestError, NotVisibleError
from appliance.services.learning import family, lessons
from appliance.services.people import housekeeping
from tests.roster_data import two_classes
from tests.web.family_data import marked_homework


@pytest.fixture
def school(kit):
    ids = two_classes(kit)
    a = ids["a"]
    made = marked_homework(kit, a["teacher"], a["class"])
    wang, li = (kit.people.person(s) for s in a["students"])
    return {**made, "ids": ids, "a": a, "wang": wang, "li": li, "teacher": kit.people.person(a["teacher"])}


def _rows(kit, table: str) -> list:
    return kit.db.read().execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def test_family_the_same_delivery_at_once_stores_once(kit, school):
    wang, class_id = school["wang"], school["a"]["class"]
    with ThreadPoolExecutor(8) as pool:
        answers = set(
            pool.map(lambda _: family.send_message(kit, wang, class_id, "孩子病了", "phone-outbox-0001"), range(8))
        )
        signs = set(
            pool.map(
                lambda n: family.sign(kit, wang, "notice", school["class_notice"], f"tap-{n:04d}-of-eight"), range(8)
            )
        )
    assert len(answers) == 1 and len(_rows(kit, "family_messages")) == 1
    assert signs == {family.Delivery("notice", school["class_notice"])} and len(_rows(kit, "family_signs")) == 1
    # a client id already used for the message answers as the message did, whatever else the delivery says
    assert family.sign(kit, wang, "handin", school["handins"][wang["id"]], "phone-outbox-0001") == answers.pop()
    assert len(_rows(kit, "family_signs")) == 1


def test_family_made_at_is_clamped_to_the_thing_and_the_arrival(kit, school):
    wang = school["wang"]
    notice = kit.notices.notice(school["class_notice"])
    created = dt.datetime.fromisoformat(notice["created_at"])
    arrived = created + dt.timedelta(hours=5)
    family.sign(kit, wang, "notice", notice["id"], "before-it-existed", "2001-01-01T00:00:00Z", now=arrived)
    [row] = _rows(kit, "family_signs")
    assert row["made_at"] == notice["created_at"] and row["arrived_at"] == arrived.strftime("%Y-%m-%dT%H:%M:%SZ")
    # a naive time is the kit's wall time (Asia/Shanghai): 10:00 there is 02:00 UTC
    handin = school["handins"][wang["id"]]
    family.sign(kit, wang, "handin", handin, "naive-wall-time", "2999-01-01T10:00:00", now=arrived)
    assert _rows(kit, "family_signs")[1]["made_at"] == arrived.strftime("%Y-%m-%dT%H:%M:%SZ")
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    family.send_message(kit, wang, school["a"]["class"], "好的", "inside-window", "2026-12-07T18:30:00", now=now)
    assert _rows(kit, "family_messages")[0]["made_at"] == "2026-12-07T10:30:00Z"
    assert family.clamped_made_at(kit, "", now - dt.timedelta(days=1), now) == "2026-12-07T12:00:00Z"


def test_family_only_the_childs_own_marked_homework_and_notices(kit, school):
    wang, li, a = school["wang"], school["li"], school["a"]
    redo = lessons.create(kit.people, kit.lessons, school["teacher"], a["class"], "再写一次", "", True, "", [])
    lessons.hand_in(kit, wang, redo, "还没批改", [])
    [waiting] = kit.lessons.handins_of(redo, wang["id"])
    for what, thing in (
        ("handin", waiting["id"]),  # handed in, not marked yet
        ("handin", school["handins"][li["id"]]),  # the other child's
        ("notice", school["notices"][li["id"]]),  # to the other child alone
        ("notice", school["class_notice"] + 100),
    ):
        with pytest.raises(NotVisibleError) as refused:
            family.sign(kit, wang, what, thing, "a-valid-client-id")
        assert refused.value.code == "family.not_found"
    with pytest.raises(BadRequestError):
        family.sign(kit, wang, "notice", school["class_notice"], "short")
    with pytest.raises(NotVisibleError):
        family.send_message(kit, wang, school["ids"]["b"]["class"], "别的班", "a-valid-client-id")
    with pytest.raises(AccessDeniedError):  # a teacher is not a child
        family.parent_page(kit, school["teacher"])
    assert _rows(kit, "family_signs") == [] and _rows(kit, "family_messages") == []
    page = family.parent_page(kit, wang)
    assert [h["handin"]["id"] for h in page["homework"]] == [waiting["id"], school["handins"][wang["id"]]]
    assert {n["id"] for n in page["notices"]} == {school["class_notice"], school["notices"][wang["id"]]}


def test_family_rows_stay_when_the_child_leaves_or_the_class_is_archived(kit, school):
    wang, teacher, class_id = school["wang"], school["teacher"], school["a"]["class"]
    family.sign(kit, wang, "notice", school["class_notice"], "sign-before-leaving")
    family.send_message(kit, wang, class_id, "谢谢老师", "message-before-leaving")
    assert family.class_counts(kit, teacher, class_id) == {wang["id"]: {"messages": 1, "signs": 1}}
    found = family.child_page(kit, teacher, class_id, wang["id"])
    assert [s["new"] for s in found["signs"]] == [True] and found["messages"][0]["body"] == "谢谢老师"
    assert family.class_counts(kit, teacher, class_id) == {wang["id"]: {"messages": 1, "signs": 0}}
    assert housekeeping.student_removal(kit.people, teacher, class_id, wang["id"])["counts"]["family"] == 2
    housekeeping.remove_student(kit.people, teacher, class_id, wang["id"])
    assert len(_rows(kit, "family_signs")) == len(_rows(kit, "family_messages")) == 1  # kept, as hand-ins are
    with pytest.raises(NotVisibleError):  # the child's page leaves with the child, as the housekeeping page does
        family.child_page(kit, teacher, class_id, wang["id"])
    assert housekeeping.class_removal(kit.people, teacher, class_id)["counts"]["family"] == 2  # the page says they stay
    housekeeping.remove_class(kit.people, teacher, class_id)
    assert len(_rows(kit, "family_signs")) == len(_rows(kit, "family_messages")) == 1
