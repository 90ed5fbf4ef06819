-- Failed sign-ins, per account and per client address, so guessing is slowed across all web workers.
CREATE TABLE signin_failures (
    subject TEXT NOT NULL,      -- 'account:<username>' or 'client:<address>'
    failed_at REAL NOT NULL     -- seconds since the epoch
);
CREATE INDEX signin_failures_subject ON signin_failures(subject, failed_at);
