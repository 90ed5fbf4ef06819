"""The running kit: settings, paths, database and library assembled once at start-up.

Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import logging

from appliance.config import Settings
from appliance.content.library import Library, LibraryScanner
from appliance.paths import Paths
from appliance.storage.accounts import Accounts
from appliance.storage.book_checks import BookChecks
from appliance.storage.database import Database

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Kit:
    """Everything a request or a command needs; built by `open_kit`, closed by `close`."""

    settings: Settings
    paths: Paths
    db: Database
    accounts: Accounts
    library: Library
    scanner: LibraryScanner | None = None

    def start_scanner(self) -> None:
        """Watch the content folder for added and removed books (the web server does this)."""
        if self.scanner is None:
            self.scanner = LibraryScanner(self.library, self.settings.library_scan_interval_s)
            self.scanner.start()

    def close(self) -> None:
        if self.scanner is not None:
            self.scanner.stop()
        self.db.close()


def open_kit(settings: Settings) -> Kit:
    """Create folders, migrate the database and load the library (small books checked now)."""
    paths = Paths.from_settings(settings)
    paths.ensure()
    db = Database(paths.database)
    db.migrate()
    library = Library(paths.content_dir, BookChecks(db))
    library.refresh()
    return Kit(settings=settings, paths=paths, db=db, accounts=Accounts(db), library=library)
