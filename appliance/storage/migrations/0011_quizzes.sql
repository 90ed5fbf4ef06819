-- Quizzes teachers write on the kit for a class, and students' attempts (issue 4, phase 2b).
-- A question's kind-specific parts (options, right answer, tolerance) are JSON checked by
-- services/quiz_grading.check_question before they are stored.

CREATE TABLE quizzes (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    attempts_allowed INTEGER NOT NULL CHECK (attempts_allowed BETWEEN 1 AND 20),
    due_at TEXT,                       -- ISO 8601 UTC, or NULL for no due date
    pass_mark REAL NOT NULL DEFAULT 0.6 CHECK (pass_mark BETWEEN 0 AND 1),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX quizzes_class ON quizzes(class_id);

CREATE TABLE quiz_questions (
    quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,         -- 0-based, the order students see
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    body TEXT NOT NULL,                -- JSON: options, answer, tolerance, points
    PRIMARY KEY (quiz_id, position)
);

-- One row per attempt; `number` counts a student's attempts at a quiz (the limit is checked in the
-- same BEGIN IMMEDIATE transaction that inserts, so two phones cannot both take the last attempt).
CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY,
    quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    handed_in_at TEXT,                 -- NULL while open; set once (a second hand-in changes nothing)
    score REAL,
    out_of REAL,
    UNIQUE (quiz_id, account_id, number)
);
CREATE INDEX quiz_attempts_account ON quiz_attempts(account_id, quiz_id);

CREATE TABLE quiz_answers (
    attempt_id INTEGER NOT NULL REFERENCES quiz_attempts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    given TEXT NOT NULL,               -- JSON of what the form sent
    understood TEXT NOT NULL,          -- what grading understood (an option's text, a number)
    score REAL NOT NULL,
    correct INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, position)
);
