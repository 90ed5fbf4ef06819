"""The settings spec: precedence, every problem reported at once, unknown keys warned."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import SPEC, load_settings
from appliance.errors import ConfigError


def test_config_defaults_and_derived_content_dir(tmp_path):
    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path)})
    assert settings.port == 8080
    assert settings.content_dir == tmp_path / "content"
    assert settings.sources["port"] == "default"
    assert settings.sources["content_dir"] == "derived from data_dir"


def test_config_precedence_file_then_environment_then_flags(tmp_path):
    config = tmp_path / "kit.toml"
    config.write_text('port = 9000\nschool_name = "File School"\nhost = "0.0.0.0"\n')
    settings = load_settings(
        config, environ={"TPKIT_PORT": "9100", "TPKIT_SCHOOL_NAME": "Env School"}, overrides={"port": "9200"}
    )
    assert (settings.port, settings.school_name, settings.host) == (9200, "Env School", "0.0.0.0")
    assert settings.sources["port"] == "command-line flag --port"
    assert settings.sources["school_name"] == "environment variable TPKIT_SCHOOL_NAME"
    assert settings.sources["host"] == f"{config} key host"


def test_config_reports_every_problem_with_its_source(tmp_path):
    config = tmp_path / "kit.toml"
    config.write_text('port = "eighty"\ndefault_language = "fr"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"TPKIT_LIBRARY_SCAN_INTERVAL_S": "-1"})
    text = str(caught.value)
    assert "3 setting(s)" in text
    assert f"port = 'eighty' (from {config} key port)" in text
    assert "default_language = 'fr'" in text and "must be one of en, zh" in text
    assert "environment variable TPKIT_LIBRARY_SCAN_INTERVAL_S" in text
    assert caught.value.fix


def test_config_unknown_keys_and_variables_are_warned_not_fatal(tmp_path):
    config = tmp_path / "kit.toml"
    config.write_text("prot = 80\n")
    settings = load_settings(config, environ={"TPKIT_COLOUR": "blue", "PATH": "/bin"})
    assert any("'prot'" in w for w in settings.warnings)
    assert any("TPKIT_COLOUR" in w for w in settings.warnings)
    assert len(settings.warnings) == 2


def test_config_bad_toml_and_missing_file_name_the_file(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 3\n")
    with pytest.raises(ConfigError, match="broken.toml is not valid TOML"):
        load_settings(broken, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_config_file_from_environment_variable(tmp_path):
    config = tmp_path / "kit.toml"
    config.write_text("port = 8123\n")
    assert load_settings(environ={"TPKIT_CONFIG": str(config)}).port == 8123


def test_config_every_setting_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "settings.md").read_text()
    kit_part = doc.split("## The county hub's settings")[0]  # the hub's own table is held by tests/hub/test_settings.py
    missing = [s.name for s in SPEC if f"`{s.name}`" not in kit_part or f"TPKIT_{s.name.upper()}" not in kit_part]
    assert missing == [], f"document these settings in docs/settings.md: {missing}"


def test_config_booleans_and_mdns_interfaces_are_checked(tmp_path):
    config = tmp_path / "kit.toml"
    config.write_text("mdns_enabled = false\n")
    assert load_settings(config, environ={}).mdns_enabled is False
    assert load_settings(environ={"TPKIT_MDNS_ENABLED": "Yes"}).mdns_enabled is True
    assert (
        load_settings(environ={"TPKIT_MDNS_INTERFACES": "10.0.0.1, 127.0.0.1"}).mdns_interfaces == "10.0.0.1, 127.0.0.1"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"TPKIT_MDNS_ENABLED": "maybe", "TPKIT_MDNS_INTERFACES": "wlan0", "TPKIT_PORT": "true"})
    text = str(caught.value)
    assert "3 setting(s)" in text and "is not true or false" in text and "'wlan0' is not one" in text


def test_config_panel_pins_must_differ_and_shutdown_hold_be_longer(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"TPKIT_PANEL_LED_SYNC_PIN": "17", "TPKIT_PANEL_HOLD_SHUTDOWN_S": "2"})
    text = str(caught.value)
    assert "2 setting(s)" in text
    assert "panel_led_sync_pin = 17 (from environment variable TPKIT_PANEL_LED_SYNC_PIN)" in text
    assert "same pin as panel_led_serving_pin" in text and "must be longer than panel_hold_state_s" in text


def test_config_unset_buzzer_survives_the_worker_environment():
    from appliance.config import as_environment

    settings = load_settings(environ={})
    assert settings.panel_buzzer_pin is None
    assert load_settings(environ=as_environment(settings)) == settings


def test_config_worker_processes_keep_where_each_setting_came_from(tmp_path):
    """`tpkit serve` hands its settings to worker processes through the environment; the admin page in a worker
    must still say kit.toml or the flag, not "environment variable"."""
    from appliance.config import as_environment

    kit_toml = tmp_path / "kit.toml"
    kit_toml.write_text('sync_windows = "Sat-Sun"\n')
    parent = load_settings(config_file=kit_toml, environ={}, overrides={"sync_rate_cap_kbps": 300})
    worker = load_settings(environ=as_environment(parent))
    assert worker.sync_windows == "Sat-Sun" and worker.sync_rate_cap_kbps == 300
    assert worker.sources["sync_windows"] == f"{kit_toml} key sync_windows"
    assert worker.sources["sync_rate_cap_kbps"] == "command-line flag --sync-rate-cap-kbps"
    assert worker.sources["sync_channels"] == "default" and worker.warnings == ()


def test_config_time_zone_default_file_and_kit_table(tmp_path):
    assert load_settings(environ={}, overrides={"data_dir": str(tmp_path)}).time_zone == "Asia/Shanghai"
    config = tmp_path / "kit.toml"
    config.write_text('school_name = "Hill School"\n[kit]\ntime_zone = "Asia/Urumqi"\n')
    settings = load_settings(config, environ={})
    assert settings.time_zone == "Asia/Urumqi" and settings.school_name == "Hill School"
    assert settings.sources["time_zone"] == f"{config} key kit.time_zone"
    assert settings.warnings == ()


def test_config_time_zone_unknown_is_refused_with_the_fix(tmp_path):
    config = tmp_path / "kit.toml"
    config.write_text('time_zone = "Beijing"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert f"time_zone = 'Beijing' (from {config} key time_zone) is not a time zone name" in caught.value.message
    assert "Asia/Shanghai" in caught.value.message and "timedatectl list-timezones" in caught.value.message
