"""Choosing the hub's database from the settings: PostgreSQL when hub_database_url is set, else SQLite.

Must not import web or cli.
"""

from __future__ import annotations

from pathlib import Path

from appliance.hub.settings import HubSettings
from appliance.hub.storage.database import SqliteHub


def database_path(settings: HubSettings) -> Path:
    return settings.hub_data_dir / "hub.sqlite3"


def open_database(settings: HubSettings):
    """The hub's database (not yet migrated: `database.migrate` does that)."""
    if settings.hub_database_url:
        from appliance.hub.storage.postgres import PostgresHub

        return PostgresHub(settings.hub_database_url, settings.hub_database_pool_size)
    return SqliteHub(database_path(settings), settings.hub_database_pool_size)
