-- Each sign-in try is counted before its password is checked, in the transaction that reads the counters, so
-- simultaneous guesses cannot all pass the throttle. A right password takes its try back by this random key.
ALTER TABLE signin_failures ADD COLUMN attempt TEXT NOT NULL DEFAULT ''
