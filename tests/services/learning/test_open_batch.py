"""Articles opened, written in batches (services/learning/open_batch.py): one transaction for many, the window
decided again when written, nothing lost at close, a failed write kept for the next try, a removed pupil's dropped."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

from appliance.services.learning import open_batch, records
from appliance.services.learning.open_batch import OpenBatch
from tests.roster_data import two_classes

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def class_kit(kit):
    return kit, two_classes(kit)


def _stored(kit) -> list[dict]:
    return [s for s in kit.learning_records.since(None) if s["verb"]["id"].endswith("/experienced")]


def _pages_written(kit, work) -> int:
    """Pages `work` wrote to the WAL (what reaches the SD card twice: there and at the checkpoint): the WAL emptied
    first and not checkpointed meanwhile, so its frames (a 24-byte header and a 4 KiB page each) are all `work`'s."""
    with kit.db.write() as conn:
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    work()
    wal = Path(f"{kit.db.path}-wal").stat().st_size
    return (wal - 32) // (4096 + 24)


def test_open_batch_writes_many_in_one_transaction_and_repeats_are_one(class_kit):
    kit, ids = class_kit
    anna, ben = (kit.people.person(ids["a"]["students"][n]) for n in (0, 1))
    for minute, (who, path) in enumerate([(anna, "water"), (anna, "rain"), (anna, "water"), (ben, "water")]):
        records.record_open_later(
            kit, who, "article", f"test_book/{path}", path, now=START + dt.timedelta(minutes=minute)
        )
    assert _stored(kit) == []  # waiting in the batch, nothing written yet
    assert kit.open_batch.waiting(anna["id"], records.activity(kit.settings, "article", "test_book/water"))
    assert kit.open_batch.flush() == 3  # anna's second "water" was the same open
    assert sorted(s["object"]["id"].rsplit("/", 1)[1] for s in _stored(kit)) == ["rain", "water", "water"]
    # within the window of what was written, a new open is not even kept
    records.record_open_later(kit, anna, "article", "test_book/water", "water", now=START + dt.timedelta(minutes=10))
    assert kit.open_batch.flush() == 0 and len(_stored(kit)) == 3


def test_open_batch_costs_fewer_pages_than_one_transaction_each(class_kit):
    kit, ids = class_kit
    pupils = [kit.people.person(n) for n in ids["a"]["students"]]

    def alone():
        for n in range(60):
            records.record_open(kit, pupils[n % len(pupils)], "article", f"test_book/alone{n}", "x", now=START)

    def batched():
        for n in range(60):
            records.record_open_later(kit, pupils[n % len(pupils)], "article", f"test_book/batch{n}", "x", now=START)
        assert kit.open_batch.flush() == 60

    one_each, together = _pages_written(kit, alone), _pages_written(kit, batched)
    assert together * 5 < one_each, (together, one_each)


def test_open_batch_full_or_late_is_written_by_itself_and_close_writes_the_rest(class_kit):
    kit, ids = class_kit
    pupils = [kit.people.person(n) for n in ids["a"]["students"]]
    batch = OpenBatch(kit.learning_records, records.OPEN_WINDOW_S, batch_s=0.2, most=3)
    for n in range(3):  # full: written at the third
        batch.add(
            records.make(kit, pupils[0], "opened", "article", f"b/full{n}", "x"), pupils[0]["id"], f"full{n}", 1.0
        )
    assert len(_stored(kit)) == 3
    batch.add(records.make(kit, pupils[0], "opened", "article", "b/late", "x"), pupils[0]["id"], "late", 1.0)
    deadline = time.monotonic() + 10
    while len(_stored(kit)) < 4 and time.monotonic() < deadline:  # written within batch_s by its timer
        time.sleep(0.05)
    assert len(_stored(kit)) == 4
    closing = OpenBatch(kit.learning_records, records.OPEN_WINDOW_S, batch_s=3600)
    closing.add(records.make(kit, pupils[1], "opened", "article", "b/close", "x"), pupils[1]["id"], "close", 1.0)
    closing.close()
    assert len(_stored(kit)) == 5
    closing.add(records.make(kit, pupils[1], "opened", "article", "b/after", "x"), pupils[1]["id"], "after", 1.0)
    assert closing.flush() == 0  # a closed batch takes no more


def test_open_batch_a_removed_pupil_is_dropped_and_the_others_written(class_kit):
    kit, ids = class_kit
    anna, ben = (kit.people.person(ids["a"]["students"][n]) for n in (0, 1))
    records.record_open_later(kit, anna, "article", "test_book/water", "water", now=START)
    records.record_open_later(kit, ben, "article", "test_book/water", "water", now=START)
    with kit.db.transaction() as conn:
        conn.execute("DELETE FROM accounts WHERE id = ?", (ben["id"],))
    assert kit.open_batch.flush() == 1
    assert [s["actor"]["account"]["name"] for s in _stored(kit)] == [anna["pseudonym"]]


class FailingOnce:
    """The storage seam of a batch: the first write fails as a full disk or a locked database would."""

    def __init__(self, real) -> None:
        self.real, self.failed = real, False

    def add_opens(self, opens, window_s):
        if not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.add_opens(opens, window_s)


def test_open_batch_a_failed_write_keeps_them_for_the_next_try(class_kit, caplog):
    kit, ids = class_kit
    anna = kit.people.person(ids["a"]["students"][0])
    batch = OpenBatch(FailingOnce(kit.learning_records), records.OPEN_WINDOW_S, batch_s=3600)  # type: ignore[arg-type]
    batch.add(records.make(kit, anna, "opened", "article", "b/kept", "x"), anna["id"], "kept", 1.0)
    assert batch.flush() == 0 and "not written yet" in caplog.text
    assert batch.waiting(anna["id"], "kept")
    assert batch.flush() == 1 and len(_stored(kit)) == 1
    batch.close()
    assert open_batch.BATCH_S <= 30  # the most reading a power cut may lose (docs/learning-space.md)


def test_open_batch_of_a_class_rewrites_few_pages_of_a_full_table(kit):
    """The SD card's share of a class's reading (docs/learning-space.md, "Where the window is kept"): with 4,000 opens
    already stored, a batch of 30 opens by 30 pupils appends to the table and to the indexes keyed by time (the
    time-ordered statement ids, `created_at`) and touches about one page per pupil of the account index only: 53
    pages here. Random statement ids and the `record_opens` table (before migration 0036) made it 125."""
    ids = two_classes(kit, names_a=tuple(f"Pupil {n:02d}" for n in range(40)))
    pupils = [kit.people.person(n) for n in ids["a"]["students"]]
    for n in range(4000):
        records.record_open_later(kit, pupils[n % 40], "article", f"test_book/before{n}", "x", now=START)
        if n % 200 == 199:
            kit.open_batch.flush()

    def batch():
        for n in range(30):
            records.record_open_later(kit, pupils[(n * 7) % 40], "article", f"test_book/a{n}", "x", now=START)
        assert kit.open_batch.flush() == 30

    pages = _pages_written(kit, batch)
    assert pages <= 60, pages
