-- "Opened" is decided from the learning records themselves (issue 19, the SD card; docs/learning-space.md "Where
-- the window is kept"). A student's "opened" statement carries `opened_key`, a 63-bit number made from its activity IRI
-- (storage/learning_records.py, `opened_key`; NULL for every other statement), and learning_records_account now
-- carries that column too: whether the student opened it within the window is read from their last half hour of
-- index entries, no row. The `record_opens` table (0014) kept one more row per student and activity, keyed so
-- that each article a class opened rewrote a different page of it: about a third of what a class's reading wrote
-- to the card. Statements made before this migration carry no key: an article opened again within 30 minutes of
-- the upgrade is recorded once more.
ALTER TABLE learning_records ADD COLUMN opened_key INTEGER;
DROP INDEX learning_records_account;
CREATE INDEX learning_records_account ON learning_records(account_id, created_at, opened_key);
DROP TABLE record_opens;
