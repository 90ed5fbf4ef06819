"""The kit.toml format: every check, writing one, and taking the secrets out of one."""

from __future__ import annotations

import tomllib

from appliance.services.device import kit_toml as provisioning
from appliance.services.device.firstboot import Outcome, _remove_secrets
from tests.provisioning_kit import PASSPHRASE, kit_toml


def _check(text: str) -> provisioning.KitFile:
    return provisioning.check(tomllib.loads(text), "/boot/firmware/kit.toml")


def test_provisioning_complete_file_has_no_problems():
    kit = _check(kit_toml())
    assert kit.problems == []
    assert (kit.kit_id, kit.wifi_ssid, kit.wifi_passphrase, kit.network_mode) == (
        "gx-0042",
        "双溪教学点",
        PASSPHRASE,
        "ap",
    )
    assert kit.settings == {"default_language": "zh"}


def test_provisioning_missing_values_are_named_with_an_example():
    kit = _check('network_mode = "ap"\n')
    text = "\n".join(kit.problems)
    assert "kit_id in /boot/firmware/kit.toml is missing" in text and 'e.g. kit_id = "gx-0042"' in text
    assert "school_name" in text and "wifi.ssid" in text and "wifi.country" in text
    assert _check('kit_id = "a"\nschool_name = "b"\nnetwork_mode = "ethernet"\n').problems == []


def test_provisioning_wifi_limits_are_the_standards():
    too_long = _check(kit_toml(ssid='ssid = "' + "教" * 11 + '"'))  # 33 bytes in UTF-8
    assert any("33 bytes long" in p for p in too_long.problems)
    hex_psk = _check(kit_toml(passphrase='passphrase = "' + "ab" * 32 + '"'))
    assert hex_psk.problems == [] and hex_psk.wifi_passphrase == "ab" * 32
    assert any("wifi.passphrase" in p for p in _check(kit_toml(passphrase='passphrase = "x" ')).problems)
    assert _check(kit_toml(country='country = "CN"\nmax_clients = 40')).wifi_max_clients == 40
    for bad in ("0", "242", '"40"', "true", "2.5"):
        kit = _check(kit_toml(country=f'country = "CN"\nmax_clients = {bad}'))
        assert kit.wifi_max_clients is None
        assert any("wifi.max_clients" in p and "whole number from 1 to 241" in p for p in kit.problems), bad


def test_provisioning_wifi_security_is_wpa2_unless_kit_toml_asks_for_wpa3_with_a_passphrase():
    assert _check(kit_toml()).wifi_security is None, "WPA2 unless the technician says otherwise"
    for security in ("wpa2", "wpa2-wpa3", "wpa3"):
        kit = _check(kit_toml(country=f'country = "CN"\nsecurity = "{security}"'))
        assert kit.problems == [] and kit.wifi_security == security
    for bad in ('"WPA3"', '"wep"', "3"):
        kit = _check(kit_toml(country=f'country = "CN"\nsecurity = {bad}'))
        assert kit.wifi_security is None
        assert any("wifi.security" in p and '"wpa2-wpa3"' in p for p in kit.problems), bad
    hex_key = _check(
        kit_toml(passphrase='passphrase = "' + "ab" * 32 + '"', country='country = "CN"\nsecurity = "wpa3"')
    )
    assert hex_key.wifi_security is None, "SAE cannot use a 64-digit key: the Wi-Fi stays WPA2"
    assert any("64-digit key" in p and "stays WPA2" in p for p in hex_key.problems)
    written = tomllib.loads(provisioning.render({"kit_id": "a", "wifi_ssid": "s", "wifi_security": "wpa2-wpa3"}))
    assert written["wifi"]["security"] == "wpa2-wpa3"


def test_provisioning_unknown_keys_and_owned_settings_are_problems():
    kit = _check(kit_toml(head='colour = "blue"\n[wifi2]\nx = 1', default_language='kit_id = "other"\nprot = 80'))
    text = "\n".join(kit.problems)
    assert "colour in" in text and "wifi2 in" in text
    assert (
        "settings.kit_id" in text
        and "prot (from /boot/firmware/kit.toml key settings.prot) is not a tpkit setting" in text
    )


def test_provisioning_render_round_trips_and_quotes_safely():
    values = {
        "kit_id": "gx-1",
        "school_name": 'The "Hill" School\\',
        "network_mode": "ethernet",
        "trusted_content_keys": ["RWQ" + "A" * 53],
        "settings": {"default_language": "zh"},
    }
    data = tomllib.loads(provisioning.render(values))
    assert data["school_name"] == 'The "Hill" School\\' and data["settings"] == {"default_language": "zh"}
    assert provisioning.check(data, "x").problems == []


def test_provisioning_secrets_are_removed_line_by_line_keeping_comments(tmp_path):
    boot = tmp_path / "kit.toml"
    boot.write_text(kit_toml())
    outcome = Outcome(boot_file=boot)
    _remove_secrets(boot, tomllib.loads(boot.read_text()), outcome)
    left = boot.read_text()
    assert not provisioning.has_secrets(tomllib.loads(left))
    assert "# passphrase: moved onto the kit by tpkit firstboot on" in left and "# the classroom network" in left
    assert outcome.applied == [f"secrets removed from {boot}"]


def test_provisioning_secret_on_several_lines_falls_back_to_a_rewrite(tmp_path):
    boot = tmp_path / "kit.toml"
    boot.write_text(kit_toml(passphrase=f'passphrase = """\n{PASSPHRASE}"""'))
    data = tomllib.loads(boot.read_text())
    _remove_secrets(boot, data, Outcome(boot_file=boot))
    left = tomllib.loads(boot.read_text())
    assert PASSPHRASE not in boot.read_text() and not provisioning.has_secrets(left)
    assert left["wifi"] == {"ssid": "双溪教学点", "country": "CN"} and left["kit_id"] == "gx-0042"


def test_provisioning_tables_of_the_wrong_shape_are_problems_not_crashes():
    kit = _check('kit_id = "a"\nschool_name = "b"\nwifi = "open"\nadmin = 3\nnetwork_mode = "mesh"\n')
    text = "\n".join(kit.problems)
    assert "wifi in" in text and "must be a table ([wifi])" in text and "admin in" in text
    assert "network_mode" in text and kit.network_mode is None


def test_provisioning_time_zone_on_a_laptop_without_a_time_zone_database(tmp_path):
    import zoneinfo

    zoneinfo.reset_tzpath([str(tmp_path / "no-tzdata")])
    try:
        assert _check(kit_toml(time_zone='time_zone = "Asia/Shanghai"')).problems == []
        assert any("time_zone" in p for p in _check(kit_toml(time_zone='time_zone = "../etc/passwd"')).problems)
    finally:
        zoneinfo.reset_tzpath()
    assert any("Mars/Olympus" in p for p in _check(kit_toml(time_zone='time_zone = "Mars/Olympus"')).problems)
