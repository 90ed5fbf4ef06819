-- Parents take part (issue 18, docs/learning-space.md "Parents"): inside the child's sign-in a parent signs (已阅) a
-- class notice or a marked homework, and leaves a short message for the teacher of one of the child's classes.
-- Every delivery carries a client_id made by the page (or the phone's outbox): the same (child, client_id) twice
-- stores once. made_at is the phone's clock clamped (services/learning/family.py), arrived_at the kit's; both UTC.
-- Like hand-ins, the rows stay when the child leaves the class or the class is archived; they go with the account.

-- One sign per (child, notice) and per (child, hand-in): exactly one of notice_id and handin_id is set.
-- seen_at: when a teacher of the class first had it on the child's page (NULL: new for the class page's count).
CREATE TABLE family_signs (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    notice_id INTEGER REFERENCES notices(id) ON DELETE CASCADE,
    handin_id INTEGER REFERENCES handins(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    made_at TEXT NOT NULL,
    arrived_at TEXT NOT NULL,
    seen_at TEXT,
    CHECK ((notice_id IS NULL) != (handin_id IS NULL)),
    UNIQUE (account_id, client_id)
);
CREATE UNIQUE INDEX family_signs_notice ON family_signs(account_id, notice_id) WHERE notice_id IS NOT NULL;
CREATE UNIQUE INDEX family_signs_handin ON family_signs(account_id, handin_id) WHERE handin_id IS NOT NULL;
CREATE INDEX family_signs_class ON family_signs(class_id, account_id);

-- A parent's short message to the class's teachers; read_at/read_by once a teacher marked it read.
CREATE TABLE family_messages (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    body TEXT NOT NULL,
    made_at TEXT NOT NULL,
    arrived_at TEXT NOT NULL,
    read_at TEXT,
    read_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    UNIQUE (account_id, client_id)
);
CREATE INDEX family_messages_class ON family_messages(class_id, account_id, id);
