"""The running kit: settings, paths, database and library assembled once at start-up. Every command and process
opens the kit here: `open_kit` (everything), `open_store` (the database and paths only), `kit_paths`.

Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.config import Settings
from appliance.paths import Paths
from appliance.services.device.readings import Readings
from appliance.services.learning import clock, records, uploads
from appliance.services.learning.open_batch import OpenBatch
from appliance.storage.accounts import Accounts
from appliance.storage.book_checks import BookChecks
from appliance.storage.boots import Boots
from appliance.storage.comment_bank import CommentBank
from appliance.storage.database import Database
from appliance.storage.family import Family
from appliance.storage.learning_records import LearningRecords
from appliance.storage.lessons import Lessons
from appliance.storage.notebook import Notebook
from appliance.storage.notices import Notices
from appliance.storage.outbox import Outbox
from appliance.storage.people import People
from appliance.storage.provisioning_runs import ProvisioningRuns
from appliance.storage.quizzes import Quizzes
from appliance.storage.signin_failures import SigninFailures
from appliance.storage.uplink_state import UplinkState

if TYPE_CHECKING:  # libzim is imported only by commands that open the library (tpkit report may not need it)
    from appliance.content.library import Library, LibraryScanner

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Kit:
    """Everything a request or a command needs; built by `open_kit`, closed by `close`."""

    settings: Settings
    paths: Paths
    db: Database
    accounts: Accounts
    library: Library | None  # None until load_library(), for commands that may not need the books
    boots: Boots
    readings: Readings
    signin_failures: SigninFailures
    outbox: Outbox
    uplink: UplinkState
    people: People
    provisioning_runs: ProvisioningRuns
    quizzes: Quizzes
    learning_records: LearningRecords
    lessons: Lessons
    notebook: Notebook
    comment_bank: CommentBank
    notices: Notices
    family: Family
    open_batch: OpenBatch  # articles opened, written in batches (services/learning/open_batch.py)
    scanner: LibraryScanner | None = None

    _check_lock: int | None = None

    def load_library(self) -> Library:
        """The library, opened (and its small books checked) on first need."""
        if self.library is None:
            from appliance.content import zimfile
            from appliance.content.library import Library
            from appliance.services.library import cache_sizes

            sizes = cache_sizes.for_kit(self.settings)
            zimfile.set_cache_sizes(sizes.cluster_bytes, sizes.dirents_per_book)  # before the books are opened
            log.info("%s", sizes.describe())
            self.library = Library(self.paths.content_dir, BookChecks(self.db), self.paths.shelf_file)
            self.library.refresh()
        return self.library

    def start_scanner(self) -> None:
        """Watch the content folder for added and removed books (the web server does this)."""
        from appliance.content.library import LibraryScanner

        if self.scanner is None:
            checker = self._claim_large_checks()
            self.scanner = LibraryScanner(
                self.library,  # type: ignore[arg-type]  # the web server loaded it
                self.settings.library_scan_interval_s,
                check_large=checker,
            )
            self.scanner.start()

    def _claim_large_checks(self) -> bool:
        """True in the one process (of several web workers) that may checksum large books: hashing a
        10 GB file twice at once would halve the SD card's speed for everyone."""
        self._check_lock = claim_once(self.paths.data_dir / "library-check.lock")
        return self._check_lock is not None

    def close(self) -> None:
        """Stop the scanner and release files; safe to call twice (the app and its owner both may)."""
        if self.scanner is not None:
            self.scanner.stop()
        if self._check_lock is not None:
            os.close(self._check_lock)
            self._check_lock = None
        self.open_batch.close()
        self.db.close()


def claim_once(lock_path: Path) -> int | None:
    """An open, exclusively locked file descriptor when no other process holds `lock_path`, else None;
    the claim lasts until the descriptor is closed (or the process ends)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def kit_paths(settings: Settings) -> Paths:
    """The kit's on-device paths for `settings`: the one place they are derived."""
    return Paths.from_settings(settings)


def open_database(paths: Paths, *, migrate: bool = True) -> Database:
    """The kit's database under `paths`, created and migrated to the current schema unless `migrate` is False (a
    backup reads the running kit's database as it is)."""
    db = Database(paths.database)
    if migrate:
        db.migrate()
    return db


@dataclasses.dataclass
class Store:
    """The light kit, for commands that need only the database (sync, stick import, first boot): no library, no
    readings, no upload sweep."""

    settings: Settings
    paths: Paths
    db: Database

    def close(self) -> None:
        self.db.close()


def open_store(settings: Settings) -> Store:
    """Create folders and open the migrated database, nothing else."""
    paths = kit_paths(settings)
    paths.ensure()
    return Store(settings=settings, paths=paths, db=open_database(paths))


def open_kit(settings: Settings, *, with_library: bool = True) -> Kit:
    """Create folders, migrate the database and (unless `with_library` is False) load the library, small
    books checked now."""
    store = open_store(settings)
    paths, db = store.paths, store.db
    for folder in ("lessons", "handins", "handin_thumbs", "handin_waiting"):
        uploads.sweep_partial(paths.uploads_dir / folder)
    readings = Readings(ap_interface=settings.ap_interface, cache_s=settings.health_cache_s)
    learning_records = LearningRecords(db)
    kit = Kit(
        settings=settings,
        paths=paths,
        db=db,
        accounts=Accounts(db),
        library=None,
        boots=Boots(db),
        readings=readings,
        signin_failures=SigninFailures(db),
        outbox=Outbox(db),
        uplink=UplinkState(db),
        people=People(db),
        provisioning_runs=ProvisioningRuns(db),
        quizzes=Quizzes(db),
        learning_records=learning_records,
        lessons=Lessons(db, wall_clock=lambda: clock.stamp(settings)[:16]),  # the kit's wall time, not the system's
        notebook=Notebook(db),
        comment_bank=CommentBank(db),
        notices=Notices(db),
        family=Family(db),
        open_batch=OpenBatch(learning_records, records.OPEN_WINDOW_S),
    )
    if with_library:
        kit.load_library()
    return kit
