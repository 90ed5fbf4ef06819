-- Marking as primary schools do (issue 16): a level grade beside (or instead of) points, and each teacher's bank of
-- common comments (常用评语).

-- A hand-in's level: excellent (优), good (良), pass (合格) or not_yet (待合格); NULL when graded by points only or
-- not graded. A graded hand-in has a level, a score, or both (services/learning/grading.py).
ALTER TABLE handins ADD COLUMN level TEXT CHECK (level IN ('excellent', 'good', 'pass', 'not_yet'));

-- A teacher's common comments, in the order added. `comment_banks` marks that the teacher's bank was started (the
-- few default comments given once), so removing every comment does not bring the defaults back.
CREATE TABLE comment_banks (
    teacher_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE
);
CREATE TABLE bank_comments (
    id INTEGER PRIMARY KEY,
    teacher_id INTEGER NOT NULL REFERENCES comment_banks(teacher_id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    UNIQUE (teacher_id, text)
);

-- A simple rubric (评分标准), optional: a homework's criteria, one per line ('' for none), and for each hand-in the
-- level given on each criterion, as a JSON list in the criteria's order (null where none was given).
ALTER TABLE lessons ADD COLUMN rubric TEXT NOT NULL DEFAULT '';
ALTER TABLE handins ADD COLUMN rubric_levels TEXT NOT NULL DEFAULT '[]';
