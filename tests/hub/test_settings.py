"""The hub's own settings (hub/settings.py): apart from the kit's, from hub.toml, TPKIT_HUB_* and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import SPEC, as_environment, load_settings
from appliance.errors import ConfigError
from appliance.hub.settings import HUB_SPEC, HubSettings, load_hub_settings


def test_settings_hub_defaults_and_precedence(tmp_path):
    hub_toml = tmp_path / "hub.toml"
    hub_toml.write_text('hub_port = 9000\nhub_host = "0.0.0.0"\nlog_level = "warning"\n')
    settings = load_hub_settings(
        hub_toml, environ={"TPKIT_HUB_PORT": "9100", "TPKIT_HUB_WORKERS": "4"}, overrides={"hub_workers": "5"}
    )
    assert (settings.hub_port, settings.hub_host, settings.hub_workers) == (9100, "0.0.0.0", 5)
    assert settings.log_level == "warning" and settings.hub_data_dir == Path("/var/lib/tpkit-hub")
    assert settings.sources["hub_port"] == "environment variable TPKIT_HUB_PORT"
    assert settings.sources["hub_host"] == f"{hub_toml} key hub_host"
    assert settings.sources["hub_workers"] == "command-line flag --hub-workers"
    assert load_hub_settings(environ={"TPKIT_CONFIG": str(hub_toml)}).hub_port == 9000


def test_settings_kit_and_hub_ignore_each_others_names_and_warn_of_the_rest(tmp_path):
    shared = tmp_path / "both.toml"
    shared.write_text("port = 81\nhub_port = 9001\nprot = 1\n")
    environ = {
        "TPKIT_DATA_DIR": str(tmp_path / "kit"),
        "TPKIT_HUB_DATA_DIR": str(tmp_path / "hub"),
        "TPKIT_COLOUR": "blue",
    }
    kit = load_settings(shared, environ=environ)
    hub = load_hub_settings(shared, environ=environ)
    assert kit.port == 81 and not hasattr(kit, "hub_port") and not hasattr(kit, "hub_data_dir")
    assert hub.hub_port == 9001 and hub.hub_data_dir == tmp_path / "hub" and not hasattr(hub, "port")
    for warnings in (kit.warnings, hub.warnings):
        assert len(warnings) == 2 and any("'prot'" in w for w in warnings)
        assert any("TPKIT_COLOUR" in w for w in warnings)
    assert {s.name for s in SPEC} & {s.name for s in HUB_SPEC} == {"log_level"}
    assert all(s.name.startswith("hub_") for s in HUB_SPEC if s.name != "log_level")


def test_settings_hub_reports_every_problem_with_its_source(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_hub_settings(
            environ={"TPKIT_HUB_DATABASE_URL": "mysql://x", "TPKIT_HUB_PORT": "0", "TPKIT_HUB_LRS_URL": "ftp://lrs"}
        )
    text = str(caught.value)
    assert "3 setting(s)" in text and "environment variable TPKIT_HUB_DATABASE_URL" in text
    assert "postgresql://" in text and "between 1 and 65535" in text and "http(s)://" in text


def test_settings_hub_workers_rebuild_the_same_settings(tmp_path):
    """`tpkit hub serve` with several workers hands its settings down as TPKIT_* variables (hub/asgi.py)."""
    hub_toml = tmp_path / "hub.toml"
    hub_toml.write_text("hub_silent_after_h = 2.5\n")
    parent = load_hub_settings(hub_toml, environ={}, overrides={"hub_data_dir": str(tmp_path)})
    worker = load_hub_settings(environ=as_environment(parent))
    assert isinstance(worker, HubSettings) and worker == parent and worker.warnings == ()
    assert worker.sources["hub_silent_after_h"] == f"{hub_toml} key hub_silent_after_h"


def test_settings_every_hub_setting_is_documented():
    doc = (Path(__file__).parents[2] / "docs" / "settings.md").read_text()
    hub_part = doc.split("## The county hub's settings")[1]
    missing = [s.name for s in HUB_SPEC if f"`{s.name}`" not in hub_part or f"TPKIT_{s.name.upper()}" not in hub_part]
    assert missing == [], f'document these settings in docs/settings.md, "The county hub\'s settings": {missing}'
