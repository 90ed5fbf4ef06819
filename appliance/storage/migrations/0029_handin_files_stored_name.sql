-- A waiting hand-in photo, once made small, is found by its file name (storage/lessons.photo_made): an index, not a
-- scan of every hand-in file of the kit while the writer's lock is held.
CREATE INDEX handin_files_stored_name ON handin_files(stored_name);
