-- A student's bookmarks and notes on "My space", and picture codes instead of PINs (issue 4, learning-space gaps).

-- An article of a book the student bookmarked; its title as the book gave it when bookmarked.
CREATE TABLE bookmarks (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    book TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, book, path)
);

-- One short note per student and subject: a lesson (lesson_id, book = path = '') or an article (lesson_id 0).
-- No foreign key on lesson_id: an archived lesson keeps its notes, and 0 stands for "an article".
CREATE TABLE notes (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    lesson_id INTEGER NOT NULL DEFAULT 0,
    book TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, lesson_id, book, path)
);

-- How the class's students sign in: a PIN on the keypad, or three pictures out of a grid. Both are hashed with
-- argon2id in accounts.password_hash; a picture code is stored as its picture numbers, e.g. '3-11-7'.
ALTER TABLE classes ADD COLUMN signin_kind TEXT NOT NULL DEFAULT 'pin' CHECK (signin_kind IN ('pin', 'pictures'));

-- My space lists the articles a student opened from the library (their learning records) newest first.
CREATE INDEX learning_records_account ON learning_records(account_id, created_at);
