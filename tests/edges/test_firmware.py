"""vcgencmd through a fake executable on PATH: decoded throttling bits, temperature, and its absence."""

from __future__ import annotations

import time

from appliance.edges import commands, firmware
from tests.machine import SICK_COMMANDS, fake_commands


def test_firmware_decodes_every_throttled_bit():
    decoded = firmware.decode_throttled(0x50005)
    assert decoded["now"] == {"under_voltage": True, "freq_capped": False, "throttled": True, "soft_temp_limit": False}
    assert decoded["since_boot"] == {
        "under_voltage": True,
        "freq_capped": False,
        "throttled": True,
        "soft_temp_limit": False,
    }
    everything = firmware.decode_throttled(0xF000F)
    assert all(everything["now"].values()) and all(everything["since_boot"].values())
    assert not any(firmware.decode_throttled(0)["since_boot"].values())


def test_firmware_reads_fake_vcgencmd(tmp_path):
    path = fake_commands(tmp_path / "bin", SICK_COMMANDS)
    assert firmware.read_throttled(path)["now"]["under_voltage"] is True
    assert firmware.read_temperature_c(path) == 81.5


def test_firmware_missing_or_failing_vcgencmd_is_none(tmp_path):
    empty = fake_commands(tmp_path / "empty", {})
    assert firmware.read_throttled(empty) is None and firmware.read_temperature_c(empty) is None
    failing = fake_commands(tmp_path / "failing", {"vcgencmd": "echo 'VCHI initialization failed' >&2; exit 1"})
    assert firmware.read_throttled(failing) is None and firmware.read_temperature_c(failing) is None


def test_firmware_reads_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_commands(tmp_path / "bin", SICK_COMMANDS))
    assert firmware.read_temperature_c() == 81.5


def test_commands_hanging_command_is_none_within_its_timeout(tmp_path):
    path = fake_commands(tmp_path / "bin", {"vcgencmd": "while :; do :; done"})
    started = time.monotonic()
    assert commands.run(["vcgencmd", "get_throttled"], path=path, timeout_s=0.3) is None
    assert time.monotonic() - started < 2
