"""SQLite storage on real files: WAL, numbered migrations, one writer, read-only readers."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading

import pytest

from appliance.storage import learning_records
from appliance.storage.book_checks import BookChecks
from appliance.storage.database import Database, _migrations


def test_database_migrates_to_latest_and_is_idempotent(tmp_path, caplog):
    caplog.set_level("INFO")
    db = Database(tmp_path / "kit.sqlite3")
    latest = _migrations()[-1][0]
    assert db.migrate() == latest
    assert "migration 0001 accounts" in caplog.text
    caplog.clear()
    assert db.migrate() == latest
    assert "migration" not in caplog.text
    assert db.read().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.read().execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.close()


def test_database_migrations_are_numbered_without_gaps():
    # A gap would let a database migrated by one build skip a migration merged later under a lower number.
    numbers = [number for number, _, _ in _migrations()]
    assert numbers == list(range(1, len(numbers) + 1)), numbers


def test_database_readers_cannot_write(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.read().execute("DELETE FROM accounts")
    db.close()


def test_database_transaction_rolls_back_on_error(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    checks = BookChecks(db)
    with pytest.raises(RuntimeError):
        with db.transaction() as conn:
            conn.execute("INSERT INTO book_checks (path, size_bytes, mtime_ns, ok) VALUES ('a', 1, 1, 1)")
            raise RuntimeError("power cut simulation")
    assert checks.get("a", 1, 1) is None
    db.close()


def test_database_concurrent_writers_are_serialised(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    checks = BookChecks(db)

    def write(worker: int) -> None:
        for i in range(50):
            checks.put(f"w{worker}-{i}", i, i, True, "")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.read().execute("SELECT count(*) FROM book_checks").fetchone()[0] == 200
    db.close()


def test_book_checks_remember_results_per_file_version(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    checks = BookChecks(db)
    checks.put("/c/a.zim", 10, 111, False, "checksum mismatch")
    assert checks.get("/c/a.zim", 10, 111) == (False, "checksum mismatch")
    assert checks.get("/c/a.zim", 10, 222) is None
    db.close()


def test_database_a_made_photo_is_found_by_its_name_through_an_index(tmp_path):
    """storage/lessons.photo_made runs with the writer's lock held, once per hand-in photo: never a scan of every
    hand-in file the kit has kept."""
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    plan = db.read().execute(
        "EXPLAIN QUERY PLAN UPDATE handin_files SET size_bytes = 1, sha256 = '' WHERE stored_name = ?", ("a.jpg",)
    )
    assert any("USING INDEX handin_files_stored_name" in row[-1] for row in plan.fetchall())
    db.close()


def test_database_migration_30_lets_a_sync_run_end_partial_and_keeps_the_runs(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate(upto=29)
    with db.transaction() as conn:
        for outcome in ("ok", "failed", "interrupted"):
            conn.execute(
                "INSERT INTO sync_runs (started_at, outcome, uplink_bytes_per_s) VALUES ('t', ?, 5)", (outcome,)
            )
        conn.execute("DELETE FROM sync_runs WHERE id = 3")  # the counter, not the highest row, gives the next id
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO sync_runs (started_at, outcome) VALUES ('t', 'partial')")
    db.migrate()
    with db.transaction() as conn:
        conn.execute("INSERT INTO sync_runs (started_at, outcome) VALUES ('t', 'partial')")
    rows = db.read().execute("SELECT id, outcome, uplink_bytes_per_s FROM sync_runs ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(1, "ok", 5.0), (2, "failed", 5.0), (4, "partial", None)]
    db.close()


def test_database_migration_36_keys_no_old_statement_and_drops_record_opens(tmp_path):
    """0036: "opened" is decided from learning_records; statements made before carry no key, the rows stay."""
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate(upto=35)
    now = dt.datetime.now(dt.timezone.utc)

    def statement(n: int, verb: str, minutes_ago: int) -> tuple[str, str, str]:
        when = (now - dt.timedelta(minutes=minutes_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        made = {"verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"}, "object": {"id": f"https://k/a/{n}"}}
        return (f"id-{n}", json.dumps(made), when)

    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO learning_records (id, statement, created_at) VALUES (?, ?, ?)",
            [statement(1, "experienced", 10), statement(2, "experienced", 120), statement(3, "answered", 10)],
        )
        conn.execute("INSERT INTO accounts (id, username, role, password_hash) VALUES (1, 'anna', 'student', 'x')")
        conn.execute("INSERT INTO record_opens (account_id, activity, recorded_at) VALUES (1, 'https://k/a/1', 1.0)")
    db.migrate()
    rows = db.read().execute("SELECT id, opened_key FROM learning_records ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("id-1", None), ("id-2", None), ("id-3", None)]
    assert db.read().execute("SELECT count(*) FROM sqlite_schema WHERE name = 'record_opens'").fetchone()[0] == 0
    db.close()


def test_database_an_open_is_looked_up_through_the_account_index(tmp_path):
    """Every signed-in pupil's article asks whether it was opened within the window: the index alone, no row read."""
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    plan = db.read().execute(f"EXPLAIN QUERY PLAN {learning_records.OPENED_WITHIN}", (1, "a", "b", 7))
    assert any("USING COVERING INDEX learning_records_account" in row[-1] for row in plan.fetchall())
    db.close()
