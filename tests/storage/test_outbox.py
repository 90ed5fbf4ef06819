"""The outbox table and its sequence counter on a real SQLite file."""

from __future__ import annotations

import pytest

from appliance.storage import outbox
from appliance.storage.database import Database


def _stored(sequence: int, kind: str = "heartbeat", day: str = "2026-03-02") -> outbox.Stored:
    return outbox.Stored(
        sequence,
        "kit-1",
        f"00000000-0000-4000-8000-{sequence:012d}",
        kind,
        f"{day}T08:00:00Z",
        day,
        b"payload",
        "signature",
    )


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "kit.sqlite3")
    database.migrate()
    yield database
    database.close()


def test_outbox_sequence_never_repeats_after_rollback_delete_or_reopen(db, tmp_path):
    with db.transaction() as conn:
        first = outbox.next_sequence(conn, "kit-1")
        outbox.add(conn, _stored(first))
    with pytest.raises(RuntimeError), db.transaction() as conn:  # a crash before commit stores nothing
        outbox.add(conn, _stored(outbox.next_sequence(conn, "kit-1")))
        raise RuntimeError("power cut")
    assert [s.sequence for s in outbox.Outbox(db).all()] == [1]
    outbox.Outbox(db).delivered(first)  # an empty outbox does not restart the count
    db.close()
    reopened = Database(tmp_path / "kit.sqlite3")
    with reopened.transaction() as conn:
        assert outbox.next_sequence(conn, "kit-1") == 2
        assert outbox.next_sequence(conn, "kit-2") == 1  # per kit id
    reopened.close()


def test_outbox_delivers_oldest_first_skipping_parked(db):
    with db.transaction() as conn:
        for sequence, kind in ((1, "heartbeat"), (2, "alert"), (3, "records")):
            outbox.add(conn, _stored(sequence, kind))
    box = outbox.Outbox(db)
    box.refused(2, "HTTP 400 report.malformed")
    assert box.next_deliverable(0).sequence == 1 and box.next_deliverable(1).sequence == 3
    assert box.parked() == [(2, "alert", "HTTP 400 report.malformed")]
    assert box.depth() == 3 and box.depth_by_kind() == {"alert": 1, "heartbeat": 1, "records": 1}
    assert box.unpark_all() == 1 and box.next_deliverable(1).sequence == 2


def test_outbox_summaries_beyond_keeps_the_newest(db):
    with db.transaction() as conn:
        for sequence in range(1, 6):
            outbox.add(conn, _stored(sequence, "daily_summary", f"2026-03-0{sequence}"))
        assert outbox.summaries_beyond(conn, 3) == [2, 1]
