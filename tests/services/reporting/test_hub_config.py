"""The kit's side of the county's configuration: what it accepts, what it refuses and why, what is in force for
sync and where each value comes from (a real kit database; the end-to-end run is tests/hub/test_kit_config.py)."""

from __future__ import annotations

import pytest

from appliance.config import load_settings
from appliance.errors import ConfigError
from appliance.services.kit import open_kit
from appliance.services.reporting import desired_config
from appliance.services.sync.engine import Engine


@pytest.fixture
def kit(tmp_path, content_dir):
    opened = open_kit(
        load_settings(
            environ={},
            overrides={
                "data_dir": str(tmp_path / "data"),
                "content_dir": str(content_dir),
                "sync_channels": "primary-en",
                "sync_rate_cap_kbps": 100,
            },
        ),
        with_library=False,
    )
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"sync_channels": ["ok"]}, "no version number"),
        ({"version": True}, "no version number"),
        ({"version": 1, "sync_channels": "primary-zh"}, "not a list of channel names"),
        ({"version": 1, "sync_channels": ["../etc"]}, "not a list of channel names"),
        ({"version": 1, "sync_windows": "Mon-Fry"}, "sync_windows"),
        ({"version": 1, "sync_windows": "Mon 25:00-07:00"}, "not a time of day"),
        ({"version": 1, "sync_windows": 5}, "sync_windows"),
        ({"version": 1, "sync_rate_cap_kbps": -5}, "must be 0 or more"),
        ({"version": 1, "sync_month_budget_mb": "20000"}, "not a whole number"),
        ({"version": 1, "sync_month_budget_mb": 2.5}, "not a whole number"),
    ],
)
def test_check_refuses_what_the_kit_cannot_use_and_names_it(config, named):
    with pytest.raises(ConfigError, match=named) as caught:
        desired_config.check(config)
    assert caught.value.code == "config.hub_refused" and "keeps the last configuration" in caught.value.fix


def test_check_takes_set_fields_only_and_ignores_unknown_ones():
    assert desired_config.check(
        {
            "version": 3,
            "sync_channels": ["a", "b.c"],
            "sync_windows": None,
            "sync_rate_cap_kbps": 0,
            "sync_rate_cap_percent": 50,
            "sync_from_the_future": 1,
        }
    ) == {"sync_channels": "a, b.c", "sync_rate_cap_kbps": 0, "sync_rate_cap_percent": 50}


def test_apply_puts_a_good_config_in_force_keeps_it_over_a_bad_one_and_clears_on_null(kit):
    first = desired_config.apply(kit, {"version": 4, "sync_channels": ["primary-zh"], "sync_windows": "Sat-Sun"}, "t1")
    assert first == desired_config.Applied(4, True)
    assert desired_config.apply(
        kit, {"version": 4, "sync_channels": ["primary-zh"], "sync_windows": "Sat-Sun"}, "t2"
    ) == desired_config.Applied(4, False)  # the same again: nothing changes
    engine = Engine(kit.settings, kit.db)
    assert engine.settings.sync_channels == "primary-zh" and engine.subscription.channels == ("primary-zh",)
    assert engine.settings.sync_windows == "Sat-Sun" and engine.settings.sync_rate_cap_kbps == 100
    assert engine.settings.sources["sync_windows"] == "hub version 4"
    assert engine.settings.sources["sync_rate_cap_kbps"] != "hub version 4"

    refused = desired_config.apply(kit, {"version": 5, "sync_windows": "Weekends"}, "t3")
    assert refused.version == 4 and not refused.changed and refused.refused.code == "config.hub_refused"
    assert kit.uplink.read().applied_config_version == 4  # what the next report acknowledges
    status = desired_config.status(kit.settings, kit.db)
    assert status["refused_version"] == 5 and "Weekends" in status["refused"] and status["applied_version"] == 4
    assert {f["name"]: f["source"] for f in status["fields"]}["sync_channels"] == "hub version 4"

    assert desired_config.apply(kit, {"version": 6, "sync_rate_cap_kbps": 50}, "t4") == desired_config.Applied(6, True)
    status = desired_config.status(kit.settings, kit.db)
    assert status["refused"] is None and {f["name"]: f["value"] for f in status["fields"]} == {
        "sync_channels": "primary-en",
        "sync_windows": "",
        "sync_rate_cap_kbps": 50,
        "sync_rate_cap_percent": 0,
        "sync_month_budget_mb": 0,
    }
    assert desired_config.apply(kit, None, "t5") == desired_config.Applied(None, True)
    assert desired_config.in_force(kit.settings, kit.db).sync_rate_cap_kbps == 100
    assert kit.uplink.read().applied_config_version is None
