-- Lessons as a teacher plans them (issue 16). A lesson is a draft that children do not see until its
-- `publish_at` (ISO 8601 UTC, 'YYYY-MM-DDTHH:MM:SSZ'; NULL = a draft): the teacher publishes it now or at a time
-- in the kit's time zone (services/learning/publishing.py). Lessons made before drafts existed were visible the
-- moment they were made, so they are published at their `created_at` (kit local time, hence 'utc').
ALTER TABLE lessons ADD COLUMN publish_at TEXT;
UPDATE lessons SET publish_at = coalesce(strftime('%Y-%m-%dT%H:%M:%SZ', created_at, 'utc'), '1970-01-01T00:00:00Z');

-- A lesson item may be one of the class's quizzes (kind 'quiz', `quiz_id`). SQLite cannot change a CHECK, so the
-- table is rebuilt with its rows and ids kept (lesson_opens names items by id; no table references it by key).
CREATE TABLE lesson_items_0028 (
    id INTEGER PRIMARY KEY,
    lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('book', 'article', 'upload', 'quiz')),
    title TEXT NOT NULL,
    book TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    stored_name TEXT NOT NULL DEFAULT '',  -- file name under uploads/lessons/
    media_type TEXT NOT NULL DEFAULT '',
    size_bytes INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    quiz_id INTEGER REFERENCES quizzes(id) ON DELETE CASCADE  -- kind 'quiz' only
);
INSERT INTO lesson_items_0028 (id, lesson_id, kind, title, book, path, stored_name, media_type, size_bytes, sha256)
    SELECT id, lesson_id, kind, title, book, path, stored_name, media_type, size_bytes, sha256 FROM lesson_items;
DROP TABLE lesson_items;
ALTER TABLE lesson_items_0028 RENAME TO lesson_items;
CREATE INDEX lesson_items_lesson ON lesson_items(lesson_id);
