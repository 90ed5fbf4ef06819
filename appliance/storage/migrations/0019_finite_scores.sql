-- Non-finite numbers repaired (issue 14, hostile input): a teacher could grade a hand-in "inf" or "1e999"; the
-- score was stored as infinity and its learning record as JSON with `Infinity`, which is not JSON, so SQLite's
-- JSON functions answered "malformed JSON" and the student's My space failed for good, `tpkit records export`
-- wrote invalid JSON and the hub's LRS refused the batch. Forms now refuse such numbers (typed_numbers.py) and JSON
-- is written with allow_nan=False (strict_json.py); this repairs what was stored before. (SQLite stores a NaN as
-- NULL, so only the two infinities can be in a REAL column; 9e999 is how SQL spells infinity.)

-- A hand-in graded with an infinite score or maximum goes back to "handed in", ungraded: the teacher grades it again.
UPDATE handins SET score = NULL, out_of = NULL, state = 'handed_in', graded_at = NULL
    WHERE score IN (9e999, -9e999) OR out_of IN (9e999, -9e999);

UPDATE quiz_attempts SET score = NULL, out_of = NULL
    WHERE score IN (9e999, -9e999) OR out_of IN (9e999, -9e999);
UPDATE quiz_answers SET score = 0 WHERE score IN (9e999, -9e999);

-- A learning record holding Infinity or NaN loses its score (an xAPI score needs numbers), keeps the rest.
UPDATE learning_records
    SET statement = json_remove(
        replace(replace(replace(statement, ': -Infinity', ': null'), ': Infinity', ': null'), ': NaN', ': null'),
        '$.result.score'
    )
    WHERE NOT json_valid(statement)
      AND json_valid(
        replace(replace(replace(statement, ': -Infinity', ': null'), ': Infinity', ': null'), ': NaN', ': null')
      );
