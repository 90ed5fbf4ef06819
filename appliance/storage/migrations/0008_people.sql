-- People, classes and enrolments (issue 4, phase 1). Later phases (lessons, homework, quizzes, xAPI
-- records) key on accounts.id and classes.id, and on accounts.pseudonym for anything sent upstream.

-- A display name for pages, a pseudonymous id (UUID) for learning records, the school's student number,
-- and the OneRoster sourcedId so county imports are idempotent. A password_hash of '!' means "no
-- credential yet" (argon2 refuses it): OneRoster students until a teacher gives PINs, teachers until an
-- administrator sets a password.
ALTER TABLE accounts ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN pseudonym TEXT;
ALTER TABLE accounts ADD COLUMN student_number TEXT;
ALTER TABLE accounts ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX accounts_pseudonym ON accounts(pseudonym);
CREATE UNIQUE INDEX accounts_student_number ON accounts(student_number);
CREATE UNIQUE INDEX accounts_source_id ON accounts(source_id);

-- Schools and districts from OneRoster orgs.csv; a kit made by hand has none.
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    type TEXT NOT NULL
);

CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    grade TEXT NOT NULL DEFAULT '',
    org_id INTEGER REFERENCES orgs(id) ON DELETE SET NULL,
    course TEXT NOT NULL DEFAULT '',   -- OneRoster course title, for the teacher's eye
    term TEXT NOT NULL DEFAULT '',     -- OneRoster academic session title
    source_id TEXT UNIQUE,             -- OneRoster sourcedId; NULL for classes made on the kit
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE class_teachers (
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (class_id, account_id)
);
CREATE INDEX class_teachers_account ON class_teachers(account_id);

CREATE TABLE enrolments (
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    source_id TEXT UNIQUE,             -- OneRoster enrollments.csv sourcedId
    PRIMARY KEY (class_id, account_id)
);
CREATE INDEX enrolments_account ON enrolments(account_id);
