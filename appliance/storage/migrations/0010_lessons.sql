-- Lessons and homework (issue 4, phase 2a). A lesson belongs to one class and collects library items and the
-- teacher's uploads; homework is a lesson with `homework = 1`, which students answer with text and photos.
-- Files live under uploads/ (written with temp file + fsync + rename BEFORE their row is committed), so a row
-- never points at a file that is not complete on disk.

CREATE TABLE lessons (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    teacher_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    homework INTEGER NOT NULL DEFAULT 0,   -- 1: students hand in text and photos
    due_at TEXT,                           -- 'YYYY-MM-DD HH:MM' in the kit's local time, or NULL
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M', 'now', 'localtime'))
);
CREATE INDEX lessons_class ON lessons(class_id);

-- Assigned to some students only; no rows means the whole class.
CREATE TABLE lesson_students (
    lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (lesson_id, account_id)
);

-- A whole book (path ''), one article of a book, or an upload (a file under uploads/lessons/).
CREATE TABLE lesson_items (
    id INTEGER PRIMARY KEY,
    lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('book', 'article', 'upload')),
    title TEXT NOT NULL,
    book TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    stored_name TEXT NOT NULL DEFAULT '',  -- file name under uploads/lessons/
    media_type TEXT NOT NULL DEFAULT '',
    size_bytes INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lesson_items_lesson ON lesson_items(lesson_id);

-- What each student opened and when: the lesson itself (item_id 0) and each item; the student's history.
CREATE TABLE lesson_opens (
    lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL DEFAULT 0,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (lesson_id, account_id, item_id)
);

-- Each hand-in is a new row (a redo adds one); the newest is the one that counts.
CREATE TABLE handins (
    id INTEGER PRIMARY KEY,
    lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    body TEXT NOT NULL DEFAULT '',
    handed_at TEXT NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'handed_in' CHECK (state IN ('handed_in', 'graded', 'returned')),
    score REAL,
    out_of REAL,
    comment TEXT NOT NULL DEFAULT '',
    graded_at TEXT
);
CREATE INDEX handins_lesson_account ON handins(lesson_id, account_id);

CREATE TABLE handin_files (
    id INTEGER PRIMARY KEY,
    handin_id INTEGER NOT NULL REFERENCES handins(id) ON DELETE CASCADE,
    stored_name TEXT NOT NULL,             -- file name under uploads/handins/
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX handin_files_handin ON handin_files(handin_id);
