-- Who came today (issue 16): each student's sign-in at /learn/<class>, kept so the class page can show the last
-- sign-in per child and build the day's attendance; the teacher's corrections per class, child and day (the day
-- in the kit's time zone, YYYY-MM-DD), which win over the sign-ins of that day.
CREATE TABLE signins (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    at TEXT NOT NULL                   -- ISO 8601 UTC, e.g. 2026-12-06T00:12:00Z
);
CREATE INDEX signins_class_at ON signins(class_id, at);
CREATE INDEX signins_account_at ON signins(account_id, at);

CREATE TABLE attendance_marks (
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,                 -- YYYY-MM-DD in the kit's time zone
    present INTEGER NOT NULL CHECK (present IN (0, 1)),
    marked_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    marked_at TEXT NOT NULL,
    PRIMARY KEY (class_id, day, account_id)
);

-- A class removed on /teach is archived, not deleted: its lessons, quizzes, hand-ins and attempts stay on the kit
-- (records export, backups), and it leaves every list and the sign-in page.
ALTER TABLE classes ADD COLUMN removed_at TEXT;
