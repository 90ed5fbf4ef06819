-- Class notices (通知, issue 16): a teacher's short message to a whole class or to one child, and who has read it.

-- student_id NULL: the whole class (its students at the time they look); else that one child of the class.
-- teacher_id: who wrote it (NULL once that account is removed; the notice stays for the class).
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    student_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    teacher_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX notices_class ON notices(class_id, id);

-- A child acknowledged a notice ("知道了") on My space: once, at read_at (UTC).
CREATE TABLE notice_reads (
    notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    read_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (notice_id, account_id)
) WITHOUT ROWID;
