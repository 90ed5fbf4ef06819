"""The packages `tpkit sync` installed in the content folder, their previous versions and half-done switches.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import dataclasses

from appliance.storage.database import Database


@dataclasses.dataclass(frozen=True)
class Installed:
    """One row of `installed_packages` (docs/sync.md)."""

    id: str
    channel: str
    version: str
    sha256: str
    size_bytes: int
    file: str
    run_id: int | None = None
    previous_file: str | None = None
    previous_version: str | None = None
    previous_sha256: str | None = None
    previous_size_bytes: int | None = None
    held_sha256: str | None = None
    pending_action: str | None = None
    pending_version: str | None = None
    pending_sha256: str | None = None
    pending_size_bytes: int | None = None
    # Entry digests (migration 0013): how the plan knows a book rebuilt from patches, whose file hash is its own.
    digest: str | None = None
    pending_digest: str | None = None
    previous_digest: str | None = None
    held_digest: str | None = None
    patch_failed_digest: str | None = None  # a patch update to this result failed: fetch it as the full package
    # Layers over the book's file (migration 0031, docs/sync.md "Layers"): when above 0, sha256 and size_bytes are
    # the base file's own and `digest` is the book's (the last layer's result); the book is known by digest only.
    layers: int = 0


FIELDS = [f.name for f in dataclasses.fields(Installed)]


class InstalledPackages:
    """The `installed_packages` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> dict[str, Installed]:
        """Every installed package by id."""
        rows = self.db.read().execute(f"SELECT {', '.join(FIELDS)} FROM installed_packages ORDER BY id").fetchall()
        return {row["id"]: Installed(**dict(row)) for row in rows}

    def get(self, package_id: str) -> Installed | None:
        """The package with this id, or None."""
        return self.all().get(package_id)

    def put(self, row: Installed) -> None:
        """Insert or replace the row of `row.id` in one transaction."""
        values = dataclasses.astuple(row)
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO installed_packages ({', '.join(FIELDS)}) "
                f"VALUES ({', '.join('?' * len(FIELDS))})",
                values,
            )

    def delete(self, package_id: str) -> None:
        """Forget the package (after its file left the content folder)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM installed_packages WHERE id = ?", (package_id,))
