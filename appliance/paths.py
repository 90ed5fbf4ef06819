"""Every on-device path, derived from the data folder and the content folder in one place.

Imports only `config` and `errors`. Creating folders happens in `ensure()`, never at import.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from appliance import __version__
from appliance.config import Settings
from appliance.errors import StorageError


@dataclasses.dataclass(frozen=True)
class Paths:
    """People's data lives under `data_dir`; read-only books under `content_dir`."""

    data_dir: Path
    content_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Paths:
        return cls(settings.data_dir, settings.content_dir)

    @property
    def database(self) -> Path:
        return self.data_dir / "tpkit.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def enrolment_token(self) -> Path:
        """The hub's one-time token, mode 0600: written by `tpkit firstboot` from the card's kit.toml, read by
        `tpkit report` when the hub_enrol_token setting is empty (a secret never goes into /etc/tpkit/kit.toml)."""
        return self.keys_dir / "enrolment-token"

    @property
    def tls_dir(self) -> Path:
        """The kit's HTTPS key (0600, made on the kit, never sent anywhere), its certificate request and the
        certificate the county sent back (services/security/kit_certificate.py)."""
        return self.data_dir / "tls"

    @property
    def form_key(self) -> Path:
        """The key the web pages' CSRF tokens are made with, mode 0600, made at the web server's first start."""
        return self.keys_dir / "form-key"

    @property
    def sync_dir(self) -> Path:
        """The sync engine's own folder: lock, staging, previous versions, accepted indexes (docs/sync.md)."""
        return self.data_dir / "sync"

    @property
    def sync_staging_dir(self) -> Path:
        return self.sync_dir / "staging"

    @property
    def sync_previous_dir(self) -> Path:
        return self.sync_dir / "previous"

    @property
    def sync_accepted_dir(self) -> Path:
        return self.sync_dir / "channels"

    @property
    def mirror_dir(self) -> Path:
        """The kit's peer-mirror tree: channel folders of hard links, served read-only by tpkit-mirror.service."""
        return self.data_dir / "mirror"

    @property
    def books_waiting_dir(self) -> Path:
        """Unsigned books (loose .zim files from a USB stick) checked and kept here, never served, until a teacher or
        an administrator enables them (docs/sync.md, "Other roads in"). Beside the content folder's books on the
        same disk, so enabling one is a rename."""
        return self.data_dir / "books-waiting"

    @property
    def shelf_file(self) -> Path:
        """The names of the books a teacher took off the shelf (a JSON list): kept in the content folder, not served
        (services/library/shelf.py). Every web worker reads it at its next library scan."""
        return self.data_dir / "off-shelf.json"

    @property
    def sync_lock(self) -> Path:
        return self.sync_dir / "sync.lock"

    @property
    def template_cache_dir(self) -> Path:
        """Compiled page templates (web/pages.py): made again from the templates when missing; never backed up."""
        return self.data_dir / "cache" / "templates"

    @property
    def templates_compiled(self) -> Path:
        """Says that every page template of this version of tpkit is in template_cache_dir (web/precompile.py)."""
        return compiled_mark(self.template_cache_dir)

    def ensure(self) -> None:
        """Create the folders the kit writes to; a clear error when that is not allowed."""
        for folder in (
            self.data_dir,
            self.uploads_dir,
            self.keys_dir,
            self.content_dir,
            self.sync_staging_dir,
            self.sync_previous_dir,
            self.sync_accepted_dir,
            self.books_waiting_dir,
        ):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"Cannot create the folder {folder}: {exc.strerror}.",
                    cause="The data or content folder is on a read-only disk or owned by another user.",
                    fix=f"Set data_dir/content_dir to a writable folder, or run: sudo chown -R $USER {folder.parent}",
                ) from exc


def compiled_mark(template_cache_dir: Path) -> Path:
    """The file that says every page template of this version of tpkit was compiled into `template_cache_dir`."""
    return template_cache_dir / f".compiled-{__version__}"
