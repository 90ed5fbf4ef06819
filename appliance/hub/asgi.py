"""Entry point of each hub worker process when `tpkit hub serve` runs several (`hub_workers` > 1).

The parent migrates the database and hands the hub's settings over as TPKIT_* variables. Only uvicorn imports this
module (by name).
"""

from __future__ import annotations

import logging

from appliance.edges import commands
from appliance.hub.app import Hub, create_app
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage.backend import open_database


def app_from_environment() -> Hub:
    commands.end_with_parent()  # a kill -9 of `tpkit hub serve` must not leave this worker serving
    settings = load_hub_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return create_app(settings, open_database(settings))
