-- Books waiting for approval (issue 14, High 1): a loose .zim from a USB stick (or any other unsigned road) is
-- checked by libzim and kept in <data_dir>/books-waiting/, unserved, until a teacher or an administrator enables
-- it on /admin (or `tpkit books enable`). `wanted_id` is the id from the ZIM's Name; where it is served is decided
-- when it is enabled (a signed book keeps its id: the copy becomes <id>_local). docs/sync.md, "Other roads in".
CREATE TABLE waiting_books (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT NOT NULL UNIQUE,          -- its name in books-waiting/: <sha256>.zim
    wanted_id TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    version TEXT NOT NULL,              -- the ZIM's Date, else "local"
    size_bytes INTEGER NOT NULL,
    article_count INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,               -- where it came from: the stick's device (or the folder it was mounted at)
    original_name TEXT NOT NULL,        -- its file name on the stick
    arrived_at TEXT NOT NULL            -- UTC, ISO 8601
);
