"""Entry point of each web worker process when `tpkit serve` runs several (`web_workers` > 1).

`tpkit serve` resolves the settings once and hands them to workers as TPKIT_* variables.
Only uvicorn imports this module (by name); nothing in the package does.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette

from appliance.config import load_settings
from appliance.edges import commands
from appliance.services import start_gate
from appliance.services.kit import open_kit
from appliance.web.app import create_app


def app_from_environment() -> Starlette:
    """Build this worker's kit and app from the environment `tpkit serve` prepared."""
    commands.end_with_parent()  # a kill -9 of `tpkit serve` must not leave this worker serving
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    start_gate.pass_gate(settings.data_dir)  # the parent prepares the kit while this process imports
    return create_app(open_kit(settings))
