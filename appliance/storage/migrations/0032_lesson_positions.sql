-- A lesson's place in the textbook (issue 17, "按课本找"; docs/textbook-units.md): edition → grade → volume →
-- subject → unit → lesson, each optional from the right; NULL for a lesson the teacher has not placed. The unit page
-- lists a teacher's lessons placed in that unit, so they are found by (edition, grade, volume, subject, unit).
ALTER TABLE lessons ADD COLUMN pos_edition TEXT;
ALTER TABLE lessons ADD COLUMN pos_grade INTEGER;
ALTER TABLE lessons ADD COLUMN pos_volume INTEGER;
ALTER TABLE lessons ADD COLUMN pos_subject TEXT;
ALTER TABLE lessons ADD COLUMN pos_unit INTEGER;
ALTER TABLE lessons ADD COLUMN pos_lesson INTEGER;
CREATE INDEX lessons_position ON lessons(pos_edition, pos_grade, pos_volume, pos_subject, pos_unit)
    WHERE pos_edition IS NOT NULL;
