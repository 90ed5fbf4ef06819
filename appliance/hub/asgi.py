"""Entry point of each hub worker process when `tpkit hub serve` runs several (`hub_workers` > 1).

The parent migrates the database, hands the hub's settings over as TPKIT_* variables, imports this module by name
(cli/common.run_server) and forks the workers, each of which calls `app_from_environment`.
"""

from __future__ import annotations

import logging

from appliance.hub.app import Hub, create_app
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage.backend import open_database


def app_from_environment() -> Hub:
    settings = load_hub_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return create_app(settings, open_database(settings))
