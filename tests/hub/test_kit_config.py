"""End to end: the county sets a kit's configuration on a real hub (uvicorn on loopback, SQLite and PostgreSQL);
the real `tpkit report` gets it, checks and applies it; `tpkit sync --plan` follows the hub's channels and windows
and names where each value comes from; the next report acknowledges the version and the hub's kit page shows it
applied. A configuration the kit cannot use is refused, named, not acknowledged, and the last good one stays."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

import httpx
import pytest

from appliance.errors import HubError
from appliance.hub import configs, enrolment
from tests.conftest import free_port
from tests.hub.test_dashboard import _signed_in
from tests.machine import HEALTHY_COMMANDS, fake_commands
from tests.mirror import Mirror

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def tpkit(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


def _applied_on_hub(db, kit_id: str):
    return db.query("SELECT applied_config_version FROM kits WHERE kit_id = ?", (kit_id,))[0]["applied_config_version"]


def test_the_kit_applies_the_hubs_configuration_and_acknowledges_it(tmp_path, hub_db, hub_live, clock):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("water_en")
    mirror.publish()
    mirror.book("shui_zh", channel_name="primary-zh")
    mirror.publish("primary-zh")
    token = enrolment.register(hub_db, "kit-e2e", "Hill School", "North", "", clock.now, 24)
    # a window that cannot be open while this test runs: the day after tomorrow, in the kit's local time
    closed_day = DAYS[(dt.datetime.now().astimezone().weekday() + 2) % 7]
    configs.set_config(
        hub_db, "kit-e2e", {"sync_channels": ["primary-zh"], "sync_windows": closed_day}, clock.now, "test"
    )
    bin_dir = fake_commands(tmp_path / "bin", HEALTHY_COMMANDS)
    env = {
        "TPKIT_DATA_DIR": str(tmp_path / "data"),
        "TPKIT_KIT_ID": "kit-e2e",
        "TPKIT_PORT": str(free_port()),
        "TPKIT_HUB_URL": hub_live.url,
        "TPKIT_HUB_ENROL_TOKEN": token,
        "TPKIT_SYNC_SOURCE": str(mirror.root),
        "TPKIT_SYNC_CHANNELS": "primary-en",
        "TPKIT_TRUSTED_CHANNEL_KEYS": str(mirror.pub),
        "TPKIT_DISK_RESERVE_MB": "1",
        "TPKIT_SYNC_RATE_CAP_KBPS": "300",
        "TPKIT_LOG_LEVEL": "warning",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }

    first = tpkit("report", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Applied the county's configuration version 1" in first.stdout
    assert _applied_on_hub(hub_db, "kit-e2e") is None  # the first report was made before the kit knew version 1

    plan = tpkit("sync", "--plan", env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert re.search(r"sync_channels\s+= primary-zh\s+from hub version 1", plan.stdout)
    assert re.search(rf"sync_windows\s+= {closed_day}\s+from hub version 1", plan.stdout)
    assert re.search(r"sync_rate_cap_kbps\s+= 300\s+from environment variable TPKIT_SYNC_RATE_CAP_KBPS", plan.stdout)
    assert "add      shui_zh" in plan.stdout and "water_en" not in plan.stdout  # the hub's channel, not kit.toml's
    run = tpkit("sync", env=env)
    assert run.returncode == 1 and "sync.outside_window" not in run.stdout
    assert f"outside sync_windows = '{closed_day}', from hub version 1" in run.stderr
    assert not (tmp_path / "data" / "content" / "shui_zh.zim").exists()

    second = tpkit("report", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _applied_on_hub(hub_db, "kit-e2e") == 1  # acknowledged once applied
    client = httpx.Client(base_url=hub_live.url, timeout=20)
    _signed_in(client, hub_db, clock)
    page = client.get("/kits/kit-e2e").text
    assert "Version 1; the kit applies version 1." in page and "refused" not in page
    assert "1/1" in client.get("/").text

    # the hub refuses what the kit would refuse; an older hub (or a hand-edited row) may still send it: the kit
    # refuses it, names it, does not acknowledge it, and keeps version 1 in force
    with pytest.raises(HubError, match="Mon-Fry"):
        configs.set_config(hub_db, "kit-e2e", {"sync_windows": "Mon-Fry 16:00-07:00"}, clock.now, "test")
    bad = {**configs.current(hub_db, "kit-e2e"), "sync_windows": "Mon-Fry 16:00-07:00"}
    bad.pop("version")
    with hub_db.transaction() as tx:
        tx.execute(
            "INSERT INTO desired_configs (kit_id, version, config, set_at, set_by) VALUES (?, 2, ?, ?, ?)",
            ("kit-e2e", json.dumps(bad), clock.now, "an older hub"),
        )
    third = tpkit("report", env=env)
    assert third.returncode == 0
    assert "The county's configuration version 2 was refused" in third.stdout and "Mon-Fry" in third.stdout
    assert "In force: hub version 1" in third.stdout
    status = tpkit("report", "--status", env=env)
    assert "in force: hub version 1" in status.stdout and "version 2 was refused" in status.stdout
    plan = tpkit("sync", "--plan", env=env)
    assert re.search(rf"sync_windows\s+= {closed_day}\s+from hub version 1", plan.stdout)
    assert "version 2 was refused" in plan.stdout and "In force instead: hub version 1" in plan.stdout
    fourth = tpkit("report", env=env)
    assert fourth.returncode == 0 and _applied_on_hub(hub_db, "kit-e2e") == 1
    page = client.get("/kits/kit-e2e").text  # the technician sees why
    assert "Version 2; the kit applies version 1." in page
    assert "The kit refused version 2" in page and "Mon-Fry" in page

    # the county corrects it: version 3 is applied, the refusal is over, and kit.toml's channel is back when the
    # county clears the field (null keeps the kit's own value)
    configs.set_config(hub_db, "kit-e2e", {"sync_windows": None, "sync_channels": None}, clock.now, "test")
    fifth = tpkit("report", env=env)
    assert "Applied the county's configuration version 3" in fifth.stdout
    plan = tpkit("sync", "--plan", env=env)
    assert re.search(r"sync_channels\s+= primary-en\s+from environment variable", plan.stdout)
    assert "refused" not in plan.stdout and "add      water_en" in plan.stdout
    assert tpkit("report", env=env).returncode == 0 and _applied_on_hub(hub_db, "kit-e2e") == 3
    assert "refused" not in client.get("/kits/kit-e2e").text
    client.close()
