-- A picture in a quiz question (issue 16, "Quizzes in minutes"): the teacher's upload, scaled down without its
-- metadata (edges/images), a file under uploads/quiz_pictures/ written completely before this row is committed. A
-- question names its picture by id in its JSON body (quiz_questions.body "picture"); the row says whose class may
-- see it (its teachers, and its students through a quiz of that class). Kept when a quiz is archived, like answers.
CREATE TABLE quiz_pictures (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    stored_name TEXT NOT NULL UNIQUE,  -- file name under uploads/quiz_pictures/
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX quiz_pictures_class ON quiz_pictures(class_id);
