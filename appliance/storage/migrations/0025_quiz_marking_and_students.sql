-- Marking quizzes after the fact, and quizzes for some students only (issue 16).
-- A question's key cannot change once students answered it (services/learning/lesson_edits.py); a teacher may
-- still accept another answer or give or take one child's credit. Every handed-in answer is then marked again from
-- what the child sent (quiz_answers.given), every attempt's score recomputed, and the change logged
-- (services/learning/quiz_remarking.py).

-- Answers accepted besides a question's key, under the key grading makes of what a child sent
-- (quiz_marking.answer_key: an option's index, indexes "0,2", "true"/"false", a short answer normalised, a number).
CREATE TABLE quiz_accepted (
    quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    answer_key TEXT NOT NULL,
    shown TEXT NOT NULL,               -- the answer as people read it (an option's text, what was typed)
    PRIMARY KEY (quiz_id, position, answer_key)
);

-- One child's answer given full credit (1) or none (0) by a teacher, whatever grading says; no row: as graded.
CREATE TABLE quiz_answer_credit (
    attempt_id INTEGER NOT NULL REFERENCES quiz_attempts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    credit INTEGER NOT NULL CHECK (credit IN (0, 1)),
    PRIMARY KEY (attempt_id, position)
);

-- Who changed the marking, when and how; the quiz's results page lists it.
CREATE TABLE quiz_marking_changes (
    id INTEGER PRIMARY KEY,
    quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    attempt_id INTEGER REFERENCES quiz_attempts(id) ON DELETE CASCADE,  -- NULL: a change for every attempt
    change TEXT NOT NULL CHECK (change IN ('accept', 'unaccept', 'credit', 'no_credit', 'as_graded')),
    answer TEXT NOT NULL DEFAULT '',   -- the answer accepted or no longer accepted, as people read it
    teacher_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    changed_at TEXT NOT NULL           -- ISO 8601 UTC
);
CREATE INDEX quiz_marking_changes_quiz ON quiz_marking_changes(quiz_id);

-- When a teacher's change last changed this answer's mark (NULL: as marked at hand-in); the child's page says so.
ALTER TABLE quiz_answers ADD COLUMN remarked_at TEXT;

-- Quizzes for some students only, as lesson_students does for lessons: no rows means the whole class.
CREATE TABLE quiz_students (
    quiz_id INTEGER NOT NULL REFERENCES quizzes(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (quiz_id, account_id)
);
