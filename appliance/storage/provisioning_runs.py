"""What each provisioning run (tpkit firstboot) applied and which problems it found.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import dataclasses
import json

from appliance import strict_json
from appliance.storage.database import Database


@dataclasses.dataclass(frozen=True)
class ProvisioningRun:
    """One run: when (UTC, ISO 8601), the file it read, what it applied and the problems it found."""

    ran_at: str
    boot_file: str
    applied: tuple[str, ...]
    problems: tuple[str, ...]


class ProvisioningRuns:
    """The `provisioning_runs` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, boot_file: str, applied: list[str], problems: list[str]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO provisioning_runs (boot_file, applied_json, problems_json) VALUES (?, ?, ?)",
                (
                    boot_file,
                    strict_json.dumps(applied, ensure_ascii=False),
                    strict_json.dumps(problems, ensure_ascii=False),
                ),
            )

    def count(self) -> int:
        return self.db.read().execute("SELECT count(*) FROM provisioning_runs").fetchone()[0]

    def latest(self) -> ProvisioningRun | None:
        """The most recent run, or None on a kit never provisioned."""
        row = self.db.read().execute("SELECT * FROM provisioning_runs ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return ProvisioningRun(
            row["ran_at"],
            row["boot_file"],
            tuple(json.loads(row["applied_json"])),
            tuple(json.loads(row["problems_json"])),
        )
