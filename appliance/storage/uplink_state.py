"""The kit's side of its hub (one row): enrolment, delivery back-off, the hub's desired configuration, and
the problems of the last heartbeat (so a new problem raises an alert once).

Must not import content, edges, services or web.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import Any

from appliance import strict_json
from appliance.storage.database import Database


@dataclasses.dataclass(frozen=True)
class UplinkRow:
    """The `uplink` row as read."""

    enrolled_hub_url: str | None
    enrolled_key_id: str | None
    enrolled_at: str | None
    refused_token_sha256: str | None
    failures: int
    next_attempt_at: float
    last_error: str
    last_attempt_at: str | None
    last_delivered_at: str | None
    desired_config: dict[str, Any] | None
    desired_config_received_at: str | None
    last_problems: dict[str, str]
    applied_config: dict[str, Any] | None = None
    applied_config_at: str | None = None
    config_refused_version: int | None = None
    config_refused: str = ""

    @property
    def applied_config_version(self) -> int | None:
        """The version of the configuration in force (what reports acknowledge), or None."""
        return self.applied_config.get("version") if self.applied_config else None


class UplinkState:
    """The `uplink` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def read(self) -> UplinkRow:
        """The current row."""
        row = dict(self.db.read().execute("SELECT * FROM uplink WHERE id = 1").fetchone())
        row.pop("id")
        row["desired_config"] = json.loads(row["desired_config"]) if row["desired_config"] else None
        row["last_problems"] = json.loads(row["last_problems"])
        row["applied_config"] = json.loads(row["applied_config"]) if row["applied_config"] else None
        return UplinkRow(**row)

    def _update(self, **values: Any) -> None:
        names = ", ".join(f"{name} = ?" for name in values)
        with self.db.transaction() as conn:
            conn.execute(f"UPDATE uplink SET {names} WHERE id = 1", tuple(values.values()))

    def enrolled(self, hub_url: str, key_id: str, when: str) -> None:
        """Remember that the hub at `hub_url` accepted this kit's key."""
        self._update(enrolled_hub_url=hub_url, enrolled_key_id=key_id, enrolled_at=when, refused_token_sha256=None)

    def forget_enrolment(self) -> None:
        """The hub no longer knows this kit's key (401): enrol again when a token is set."""
        self._update(enrolled_hub_url=None, enrolled_key_id=None, enrolled_at=None)

    def token_refused(self, token_sha256: str) -> None:
        """The hub refused this token (403): do not present it again."""
        self._update(refused_token_sha256=token_sha256)

    def failed(self, error: str, next_attempt_at: float, when: str) -> None:
        """A failed attempt: one more consecutive failure, and no attempt before `next_attempt_at`."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE uplink SET failures = failures + 1, next_attempt_at = ?, last_error = ?, "
                "last_attempt_at = ? WHERE id = 1",
                (next_attempt_at, error, when),
            )

    def succeeded(self, when: str, delivered: bool) -> None:
        """The hub answered: back-off over."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE uplink SET failures = 0, next_attempt_at = 0, last_error = '', last_attempt_at = ?, "
                "last_delivered_at = CASE WHEN ? THEN ? ELSE last_delivered_at END WHERE id = 1",
                (when, delivered, when),
            )

    def store_desired_config(self, config: dict[str, Any] | None, when: str) -> None:
        """Keep the hub's desired configuration (None: the county set none)."""
        text = None if config is None else strict_json.dumps(config, ensure_ascii=False, sort_keys=True)
        self._update(desired_config=text, desired_config_received_at=when)

    def config_applied(self, config: dict[str, Any] | None, when: str) -> None:
        """`config` (checked) is in force from now on (None: kit.toml alone); any earlier refusal is over."""
        text = None if config is None else strict_json.dumps(config, ensure_ascii=False, sort_keys=True)
        self._update(applied_config=text, applied_config_at=when, config_refused_version=None, config_refused="")

    def config_refused_now(self, version: int | None, why: str) -> None:
        """The hub's configuration `version` failed the kit's checks: say why; the applied one stays."""
        self._update(config_refused_version=version, config_refused=why)


def last_problems(conn: sqlite3.Connection) -> dict[str, str]:
    """{code: severity} of the last heartbeat stored (read inside the transaction that stores the next)."""
    return json.loads(conn.execute("SELECT last_problems FROM uplink WHERE id = 1").fetchone()[0])


def set_last_problems(conn: sqlite3.Connection, problems: dict[str, str]) -> None:
    """Remember {code: severity} of the heartbeat being stored (inside its transaction)."""
    conn.execute("UPDATE uplink SET last_problems = ? WHERE id = 1", (strict_json.dumps(problems, sort_keys=True),))
