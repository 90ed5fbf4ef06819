"""The app of each web worker process when `tpkit serve` runs several (`web_workers` > 1).

`tpkit serve` resolves the settings once and hands them down as TPKIT_* variables, imports this module by name
(cli/common.run_server: before it forks the workers, so that they start with the web pages imported) and calls
`app_from_environment` in each worker. Nothing else in the package imports it.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette

from appliance.config import load_settings
from appliance.services import start_gate
from appliance.services.kit import open_kit
from appliance.web.app import create_app


def app_from_environment() -> Starlette:
    """Build this worker's kit and app from the environment `tpkit serve` prepared."""
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    start_gate.pass_gate(settings.data_dir)  # the parent prepares the kit while its workers start
    return create_app(open_kit(settings))
