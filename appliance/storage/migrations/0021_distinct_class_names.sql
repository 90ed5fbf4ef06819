-- Class names read alike no more (issue 14): a teacher could reuse another teacher's class name, and /learn then
-- showed two identical buttons, so a pupil could pick the wrong class. New names are checked where they are
-- written (services/people/class_names.py: NFKC, case-folded). Classes stored before then with the same name
-- (or one differing in Latin letter case only: SQL has no NFKC) keep the oldest as it was and the others get
-- " (2)", " (3)"… in the order they were made, as a OneRoster import now names a repeated title.
CREATE TEMP TABLE class_renames AS
    SELECT c.id AS id,
           c.name || ' (' || (1 + (SELECT count(*) FROM classes o WHERE lower(trim(o.name)) = lower(trim(c.name))
                                                                 AND o.id < c.id)) || ')' AS name
    FROM classes c
    WHERE EXISTS (SELECT 1 FROM classes o WHERE lower(trim(o.name)) = lower(trim(c.name)) AND o.id < c.id);

UPDATE classes SET name = (SELECT r.name FROM class_renames r WHERE r.id = classes.id)
    WHERE id IN (SELECT id FROM class_renames);

DROP TABLE class_renames;
