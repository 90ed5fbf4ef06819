"""What each provisioning run (tpkit firstboot) applied and which problems it found.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from appliance import strict_json
from appliance.storage.database import Database


@dataclasses.dataclass(frozen=True)
class ProvisioningRun:
    """One run: when (UTC, ISO 8601), the file it read, what it applied and the problems it found (English lines);
    `said` has, for each problem, its message key, values and what it is about ({"key", "values", "about"}), or None for a line
    kept as text alone (services/device/setup_problems.py)."""

    ran_at: str
    boot_file: str
    applied: tuple[str, ...]
    problems: tuple[str, ...]
    said: tuple[dict[str, Any] | None, ...] = ()


class ProvisioningRuns:
    """The `provisioning_runs` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, boot_file: str, applied: list[str], problems: Sequence[str | Mapping[str, Any]]) -> None:
        """A run; each problem its English line, or {"text", "key", "values", "about"} (kept as given)."""
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
        problems = json.loads(row["problems_json"])
        return ProvisioningRun(
            row["ran_at"],
            row["boot_file"],
            tuple(json.loads(row["applied_json"])),
            tuple(p["text"] if isinstance(p, dict) else p for p in problems),
            tuple({k: v for k, v in p.items() if k != "text"} if isinstance(p, dict) else None for p in problems),
        )
