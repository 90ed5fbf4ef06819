-- Deleting a lesson or a quiz archives it (issue 4, learning-space gaps): it leaves every list and page, and its
-- hand-ins, files, attempts and learning records stay (a teacher's slip must not erase children's work; backups
-- and the records already shipped upstream still name it). NULL = in use.
ALTER TABLE lessons ADD COLUMN archived_at TEXT;
ALTER TABLE quizzes ADD COLUMN archived_at TEXT;
-- When the quiz was last edited (NULL = never): results pages say so, since older attempts saw the older text.
ALTER TABLE quizzes ADD COLUMN edited_at TEXT;
