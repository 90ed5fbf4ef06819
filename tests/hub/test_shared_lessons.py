"""Shared lessons arriving at the hub (docs/shared-lessons.md) on both backends: parts in any order and resent, a
tampered part, another kit claiming a share, and the share states every reply carries."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import time
import uuid

from appliance.hub import shares
from appliance.hub.storage import shares as stored_shares
from appliance.protocol import shared_lesson
from tests.hub.conftest import enrol_kit, lesson_body, send_lesson, signed

REPORTS = "/api/v1/reports"
PDF = os.urandom(2 * shared_lesson.PART_BYTES + 1000)  # three parts


def _post(hub_client):
    def post(payload, headers):
        response = hub_client.post(REPORTS, content=payload, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    return post


def _parts(share_id: str, data: bytes = PDF, version: int = 1) -> list[dict]:
    return list(shared_lesson.cut(share_id, version, 0, data))


def test_shares_a_lesson_with_a_three_part_file_out_of_order_and_resent(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now, school="山村小学", district="北区")
    share_id, post = str(uuid.uuid4()), _post(hub_client)
    body = lesson_body(share_id, {"练习单.pdf": PDF})
    parts = _parts(share_id)
    assert len(parts) == 3
    sequence = 1
    for part in (parts[2], parts[0]):  # two parts before the lesson, the last one first
        reply = post(*signed(secret, "kit-1", sequence, part, kind="lesson_file", made_at=clock.now)[1:])
        assert reply["status"] == "accepted" and reply["shares"] == []
        sequence += 1
    reply = post(*signed(secret, "kit-1", sequence, body, kind="lesson", made_at=clock.now)[1:])
    assert reply["shares"] == []  # still one part missing: nothing to tell yet
    assert shares.one(hub_db, share_id)["state"] == "receiving"
    resent = post(*signed(secret, "kit-1", sequence + 1, parts[0], kind="lesson_file", made_at=clock.now)[1:])
    assert resent["shares"] == []
    last = post(*signed(secret, "kit-1", sequence + 2, parts[1], kind="lesson_file", made_at=clock.now)[1:])
    assert [(s["share_id"], s["version"], s["state"]) for s in last["shares"]] == [(share_id, 1, "submitted")]
    stored = shares.file_data(shares.one(hub_db, share_id), 0, hub_db)
    assert bytes(stored["data"]) == PDF and stored["name"] == "练习单.pdf"
    share = shares.one(hub_db, share_id)
    assert (share["school"], share["district"], share["author"], share["unit"]) == ("山村小学", "北区", "王老师", 2)
    assert hub_db.query("SELECT count(*) AS n FROM share_parts")[0]["n"] == 0  # parts dropped once assembled
    again = post(*signed(secret, "kit-1", sequence + 3, parts[2], kind="lesson_file", made_at=clock.now)[1:])
    assert again["shares"][0]["state"] == "submitted"  # a part sent after assembly changes nothing


def test_shares_a_tampered_part_makes_the_share_broken(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    share_id, post = str(uuid.uuid4()), _post(hub_client)
    tampered = bytearray(PDF)
    tampered[shared_lesson.PART_BYTES + 5] ^= 0xFF  # the kit signed it, but its bytes are not the file it described
    body = lesson_body(share_id, {"练习单.pdf": PDF})
    replies = send_lesson(post, secret, "kit-1", 1, body, {"练习单.pdf": bytes(tampered)}, clock.now)
    broken = replies[-1]["shares"][0]
    assert broken["state"] == "broken" and "练习单.pdf" in broken["comment"]
    assert shares.file_data(shares.one(hub_db, share_id), 0, hub_db) is None


def test_shares_another_kit_cannot_touch_a_share(hub_db, hub_client, clock):
    secret_1 = enrol_kit(hub_db, "kit-1", clock.now)
    secret_2 = enrol_kit(hub_db, "kit-2", clock.now)
    share_id, post = str(uuid.uuid4()), _post(hub_client)
    send_lesson(
        post, secret_1, "kit-1", 1, lesson_body(share_id, {"a.pdf": b"%PDF-1"}), {"a.pdf": b"%PDF-1"}, clock.now
    )
    for kind, body in (
        ("lesson", lesson_body(share_id, {}, version=2, title="别人的课")),
        ("lesson_file", _parts(share_id, version=2)[0]),
    ):
        _, payload, headers = signed(secret_2, "kit-2", 1, body, kind=kind, made_at=clock.now)
        refused = hub_client.post(REPORTS, content=payload, headers=headers)
        assert refused.status_code == 400 and refused.json()["code"] == "report.share_not_yours", refused.text
    share = shares.one(hub_db, share_id)
    assert (share["version"], share["title"], share["kit_id"]) == (1, "两位数加两位数", "kit-1")
    assert hub_db.query("SELECT count(*) AS n FROM reports WHERE kit_id = 'kit-2'")[0]["n"] == 0


def test_shares_a_malformed_lesson_is_refused_before_anything_is_stored(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    body = lesson_body(str(uuid.uuid4()), {"a.pdf": b"x"})
    body["files"][0]["sha256"] = hashlib.sha256(b"x").hexdigest().upper()
    _, payload, headers = signed(secret, "kit-1", 1, body, kind="lesson", made_at=clock.now)
    refused = hub_client.post(REPORTS, content=payload, headers=headers)
    assert refused.status_code == 400 and refused.json()["code"] == "report.malformed"
    assert "sha256" in refused.json()["message"]


def test_shares_the_reply_tells_the_newest_states_of_the_last_30_days(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    enrol_kit(hub_db, "kit-2", clock.now)
    post, sequence, ids = _post(hub_client), 1, []
    start = clock.now
    for n in range(53):
        share_id = str(uuid.uuid4())
        ids.append(share_id)
        clock.now = start + n * 60
        send_lesson(post, secret, "kit-1", sequence, lesson_body(share_id, {}), {}, clock.now)
        sequence += 1
    shares.review(hub_db, ids[0], 1, False, "请补充练习答案。", "李老师", clock.now + 60)
    clock.now += 120
    reply = post(*signed(secret, "kit-1", sequence, made_at=clock.now)[1:])  # any report: a heartbeat
    told = reply["shares"]
    assert len(told) == shared_lesson.MAX_STATES_IN_REPLY
    assert told[0] == {
        "share_id": ids[0],
        "version": 1,
        "state": "returned",
        "comment": "请补充练习答案。",
        "reviewer": "李老师",
        "at": told[0]["at"],
    }
    assert [s["share_id"] for s in told[1:4]] == [ids[52], ids[51], ids[50]]
    assert shared_lesson.check_states(told) == told  # what the kit keeps
    clock.now = start + 31 * 86400  # a month later: nothing changed in the last 30 days
    assert post(*signed(secret, "kit-1", sequence + 1, made_at=clock.now)[1:])["shares"] == []


def test_shares_parts_that_never_complete_cannot_fill_the_hub(hub_db, hub_client, clock, monkeypatch):
    # The real bound is 100 MB (640 parts); two parts' worth makes the same point in a test's time.
    monkeypatch.setattr(shares, "MAX_WAITING_BYTES", 2 * shared_lesson.PART_BYTES)
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    share_id, post = str(uuid.uuid4()), _post(hub_client)
    first, second, third = _parts(share_id)  # no lesson ever comes for them
    for sequence, part in enumerate((first, second), start=1):
        post(*signed(secret, "kit-1", sequence, part, kind="lesson_file", made_at=clock.now)[1:])
    _, payload, headers = signed(secret, "kit-1", 3, third, kind="lesson_file", made_at=clock.now)
    refused = hub_client.post(REPORTS, content=payload, headers=headers)
    assert refused.status_code == 413 and refused.json()["code"] == "report.too_many_parts"
    small = {"练习单.pdf": b"%PDF-1.4 one page"}  # the teacher shares again: the waiting parts of version 1 go
    reply = send_lesson(post, secret, "kit-1", 4, lesson_body(share_id, small, version=2), small, clock.now)[-1]
    assert reply["shares"][0]["state"] == "submitted"


def test_shares_the_last_two_parts_stored_at_once_are_assembled(hub_db, hub_client, clock):
    """Two transactions store the last two parts of a file at the same time (two report groups in flight): the
    second waits for the first (the share's row lock; SQLite's one writer), then sees its part and assembles."""
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    share_id, post = str(uuid.uuid4()), _post(hub_client)
    first, second, third = _parts(share_id)
    post(*signed(secret, "kit-1", 1, lesson_body(share_id, {"练习单.pdf": PDF}), kind="lesson", made_at=clock.now)[1:])
    post(*signed(secret, "kit-1", 2, first, kind="lesson_file", made_at=clock.now)[1:])
    last = [
        signed(secret, "kit-1", 3 + n, part, kind="lesson_file", made_at=clock.now)[0]
        for n, part in enumerate((second, third))
    ]

    def store(report) -> None:
        with hub_db.transaction() as tx:
            shares.receive(tx, report, stored_shares.kit_place(tx, "kit-1"), clock.now)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with hub_db.transaction() as tx:
            shares.receive(tx, last[0], stored_shares.kit_place(tx, "kit-1"), clock.now)
            other = pool.submit(store, last[1])
            time.sleep(0.5)  # the other transaction has reached the share by now (it is waiting, or done without us)
        other.result(timeout=20)
    assert shares.one(hub_db, share_id)["state"] == "submitted"
