-- Technicians' failed sign-ins per account and per client address, so guessing is slowed across every
-- worker and hub process (services.auth's throttle, as on the kit). failed_at is Unix seconds.
CREATE TABLE signin_failures (
    subject TEXT NOT NULL,
    failed_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX signin_failures_subject ON signin_failures (subject, failed_at)
