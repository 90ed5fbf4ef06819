-- Phone passes (issue 18 part B, docs/learning-space.md "The lesson goes home"): a child who taps 带回家 gets a
-- random token the phone keeps; the kit keeps only its SHA-256, whose child it is, when it was made and last used,
-- when it ends and whether a teacher (or the phone's own sign-out) revoked it. All times are Unix seconds.
CREATE TABLE phone_passes (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    made_at REAL NOT NULL,
    last_used_at REAL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX phone_passes_account ON phone_passes(account_id);

-- Work made on a phone away from the kit arrives later: the phone's id for it (one delivery stores once per child),
-- when the phone says it was made (clamped to [pass made or lesson published, arrival]) and when it arrived.
ALTER TABLE handins ADD COLUMN client_id TEXT;
ALTER TABLE handins ADD COLUMN made_at TEXT;
ALTER TABLE handins ADD COLUMN arrived_at TEXT;
CREATE UNIQUE INDEX handins_client ON handins(account_id, client_id) WHERE client_id IS NOT NULL;

-- The same for a quiz's answers made on a phone: the attempt carries the phone's id for them (claimed before the
-- answers are stored, so a repeat finds it), when they were made and when they arrived.
ALTER TABLE quiz_attempts ADD COLUMN client_id TEXT;
ALTER TABLE quiz_attempts ADD COLUMN made_at TEXT;
ALTER TABLE quiz_attempts ADD COLUMN arrived_at TEXT;
CREATE UNIQUE INDEX quiz_attempts_client ON quiz_attempts(account_id, client_id) WHERE client_id IS NOT NULL;
