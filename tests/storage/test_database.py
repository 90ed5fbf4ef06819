"""SQLite storage on real files: WAL, numbered migrations, one writer, read-only readers."""

from __future__ import annotations

import sqlite3
import threading

import pytest

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
