"""`tpkit firstboot`'s work: a real boot folder, a temporary root, a real SQLite database, and fake
timedatectl/findmnt/growpart/resize2fs first on PATH."""

from __future__ import annotations

import stat
import tomllib

import pytest

from appliance.config import load_settings
from appliance.services.device import firstboot
from appliance.services.people.auth import sign_in
from appliance.storage.accounts import Accounts
from appliance.storage.database import Database
from appliance.storage.provisioning_runs import ProvisioningRuns
from tests.provisioning_kit import ADMIN_PASSWORD, PASSPHRASE, TOKEN, fake_machine, kit_toml


@pytest.fixture
def machine(tmp_path, monkeypatch):
    path, calls = fake_machine(tmp_path / "machine")
    monkeypatch.setenv("PATH", path)
    (tmp_path / "boot").mkdir()
    return calls


def _run(tmp_path, text: str | None = None):
    if text is not None:
        (tmp_path / "boot" / "kit.toml").write_text(text)
    return firstboot.run(tmp_path / "boot", tmp_path / "root", {"data_dir": str(tmp_path / "data")})


def _database(tmp_path) -> Database:
    db = Database(tmp_path / "data" / "tpkit.sqlite3")
    db.migrate()
    return db


def test_firstboot_applies_everything_and_removes_the_secrets(tmp_path, machine):
    (tmp_path / "root/etc/ssh").mkdir(parents=True)
    outcome = _run(tmp_path, kit_toml())
    assert outcome.problems == []
    settings = load_settings(tmp_path / "root/etc/tpkit/kit.toml", environ={})
    assert (settings.kit_id, settings.school_name, settings.default_language) == (
        "gx-0042",
        "Shuangxi Teaching Point",
        "zh",
    )
    assert settings.hub_url == "https://hub.county.example/"
    assert settings.wifi_name == "双溪教学点"  # printed on the sign-in cards
    assert settings.sources["time_zone"].endswith("kit.toml key time_zone")  # pages show times in the system's zone
    hostapd = tmp_path / "root/etc/hostapd/hostapd.conf"
    assert f"wpa_passphrase={PASSPHRASE}\n" in hostapd.read_text() and "country_code=CN" in hostapd.read_text()
    assert f"ssid2={'双溪教学点'.encode().hex()}" in hostapd.read_text()
    assert stat.S_IMODE(hostapd.stat().st_mode) == 0o600
    dnsmasq = (tmp_path / "root/etc/dnsmasq.d/tpkit.conf").read_text()
    assert "address=/kit/192.168.4.1" in dnsmasq and "/captive.apple.com/" in dnsmasq
    assert (tmp_path / "data/keys/enrolment-token").read_text() == TOKEN + "\n"
    assert machine.read_text().splitlines() == [
        "timedatectl set-timezone Asia/Shanghai",
        f"findmnt --noheadings --output SOURCE --target {tmp_path / 'data'}",
        "growpart /dev/mmcblk0 3",
        "resize2fs /dev/mmcblk0p3",
        f"ssh-keygen -A -f {tmp_path / 'root'}",
    ]
    db = _database(tmp_path)
    try:
        assert sign_in(Accounts(db), "admin", ADMIN_PASSWORD)
        assert Accounts(db).by_username("admin")["must_change_password"] == 0
    finally:
        db.close()
    left = (tmp_path / "boot/kit.toml").read_text()
    for secret in (PASSPHRASE, TOKEN, "$argon2id$"):
        assert secret not in left
    assert "# written by a county technician" in left and "# the classroom network" in left
    assert tomllib.loads(left)["wifi"] == {"ssid": "双溪教学点", "country": "CN"}
    assert not list((tmp_path / "boot").glob(".*tmp"))


def test_firstboot_later_boots_reapply_non_secret_changes_and_keep_the_passphrase(tmp_path, machine):
    _run(tmp_path, kit_toml())
    left = (tmp_path / "boot/kit.toml").read_text()
    machine.write_text("")
    outcome = _run(tmp_path, left.replace("Shuangxi", "Hill").replace('"CN"', '"NP"'))
    assert outcome.problems == []
    assert load_settings(tmp_path / "root/etc/tpkit/kit.toml", environ={}).school_name == "Hill Teaching Point"
    hostapd = (tmp_path / "root/etc/hostapd/hostapd.conf").read_text()
    assert "country_code=NP" in hostapd and f"wpa_passphrase={PASSPHRASE}" in hostapd
    assert "\nmax_num_sta=24\n" in hostapd, "a Pi's own radio: 24 phones unless kit.toml says otherwise"
    _run(tmp_path, left.replace('country = "CN"', 'country = "CN"\nmax_clients = 40'))
    hostapd = (tmp_path / "root/etc/hostapd/hostapd.conf").read_text()
    assert "\nmax_num_sta=40\n" in hostapd, "a USB adapter's class: kit.toml's [wifi] max_clients"
    assert "\nwpa_key_mgmt=WPA-PSK\n" in hostapd and "ieee80211w" not in hostapd, "WPA2 unless kit.toml asks"
    _run(tmp_path, left.replace('country = "CN"', 'country = "CN"\nsecurity = "wpa2-wpa3"'))
    hostapd = (tmp_path / "root/etc/hostapd/hostapd.conf").read_text()
    assert "\nwpa_key_mgmt=WPA-PSK SAE\nieee80211w=1\nsae_require_mfp=1\n" in hostapd
    assert f"wpa_passphrase={PASSPHRASE}" in hostapd, "SAE takes the passphrase kept from the first boot"
    _run(tmp_path, left.replace('country = "CN"', 'country = "CN"\nsecurity = "wpa3"'))
    hostapd = (tmp_path / "root/etc/hostapd/hostapd.conf").read_text()
    assert "\nwpa_key_mgmt=SAE\nieee80211w=2\n" in hostapd and "WPA-PSK" not in hostapd
    assert "growpart" not in machine.read_text(), "the partition is grown at the first boot only"
    db = _database(tmp_path)
    try:
        assert ProvisioningRuns(db).count() == 5
    finally:
        db.close()


def test_firstboot_reports_every_bad_value_applies_the_rest_and_stores_them(tmp_path, machine):
    broken = kit_toml(
        kit_id='kit_id = "GX 42"',
        time_zone='time_zone = "Mars/Olympus"',
        passphrase='passphrase = "short"',
        country='country = "china"',
        default_language='default_language = "fr"\nport = "eighty"',
        password_hash='password_hash = "hunter2"',
    )
    outcome = _run(tmp_path, broken)
    text = "\n".join(outcome.problems)
    assert len(outcome.problems) == 7, text
    for part in (
        "kit_id in",
        "'GX 42'",
        "Mars/Olympus",
        "wifi.passphrase in",
        "8 to 63",
        "wifi.country",
        "'china'",
        "default_language = 'fr'",
        "port = 'eighty'",
        "admin.password_hash",
        "not an argon2id hash",
    ):
        assert part in text, part
    assert "short" not in text, "a secret is never quoted"
    settings = load_settings(tmp_path / "root/etc/tpkit/kit.toml", environ={})
    assert settings.school_name == "Shuangxi Teaching Point" and settings.kit_id == "tpkit-dev"
    assert not (tmp_path / "root/etc/hostapd/hostapd.conf").exists(), "no access point from half a Wi-Fi setting"
    assert "timedatectl" not in machine.read_text()
    assert "short" not in (tmp_path / "boot/kit.toml").read_text(), "secrets leave the card even when wrong"
    db = _database(tmp_path)
    try:
        run = ProvisioningRuns(db).latest()
        assert run.problems == tuple(outcome.problems) and run.boot_file == str(tmp_path / "boot/kit.toml")
        assert Accounts(db).count("admin") == 0
    finally:
        db.close()


def test_firstboot_unreadable_file_keeps_the_old_settings(tmp_path, machine):
    _run(tmp_path, kit_toml())
    before = (tmp_path / "root/etc/tpkit/kit.toml").read_text()
    outcome = _run(tmp_path, 'kit_id = "gx-0042"\nschool_name = \n')
    assert len(outcome.problems) == 1 and "is not valid TOML" in outcome.problems[0]
    assert (tmp_path / "root/etc/tpkit/kit.toml").read_text() == before


def test_firstboot_ethernet_mode_removes_the_access_point(tmp_path, machine):
    _run(tmp_path, kit_toml())
    outcome = _run(
        tmp_path, kit_toml(network_mode='network_mode = "ethernet"', wifi="", ssid="", passphrase="", country="")
    )
    assert outcome.problems == []
    assert not (tmp_path / "root/etc/hostapd/hostapd.conf").exists()
    assert not (tmp_path / "root/etc/dnsmasq.d/tpkit.conf").exists()
    assert "DHCP=yes" in (tmp_path / "root/etc/systemd/network/20-tpkit-uplink.network").read_text()
    assert load_settings(tmp_path / "root/etc/tpkit/kit.toml", environ={}).wifi_name == ""  # no Wi-Fi of its own


def test_firstboot_failing_tools_are_problems_not_crashes(tmp_path, monkeypatch):
    path, calls = fake_machine(tmp_path / "machine", growpart_exit=1)
    monkeypatch.setenv("PATH", path)
    (tmp_path / "boot").mkdir()
    outcome = _run(tmp_path, kit_toml())
    assert outcome.problems == [] and "already fills /dev/mmcblk0" in " ".join(outcome.applied)
    (tmp_path / "machine/bin/timedatectl").write_text("#!/bin/sh\necho 'Failed to connect to bus' >&2\nexit 1\n")
    outcome = _run(tmp_path, kit_toml())
    assert len(outcome.problems) == 1 and "Failed to connect to bus" in outcome.problems[0]


def test_firstboot_a_file_it_cannot_write_is_a_problem_and_the_rest_still_runs(tmp_path, machine):
    (tmp_path / "root/etc/hostapd").mkdir(parents=True)
    (tmp_path / "root/etc/hostapd/hostapd.conf").mkdir()  # a folder where the file must go: rename fails
    outcome = _run(tmp_path, kit_toml())
    assert len(outcome.problems) == 1 and "could not be written" in outcome.problems[0]
    assert "growpart /dev/mmcblk0 3" in machine.read_text()
    assert "secrets removed from" in " ".join(outcome.applied)


def test_firstboot_classroom_dns_answers_the_kit_s_county_name_with_the_classroom_address(tmp_path, machine):
    """Issue 18: with tls_domain, phones on the classroom Wi-Fi resolve <kit_id>.<tls_domain> (the name on the kit's
    HTTPS certificate) to the kit; without it, no such line."""
    outcome = _run(tmp_path, kit_toml(default_language='default_language = "zh"\ntls_domain = "kits.county.example"'))
    assert outcome.problems == []
    dnsmasq = (tmp_path / "root/etc/dnsmasq.d/tpkit.conf").read_text()
    assert "\naddress=/gx-0042.kits.county.example/192.168.4.1\n" in dnsmasq
    assert load_settings(tmp_path / "root/etc/tpkit/kit.toml", environ={}).tls_domain == "kits.county.example"
    _run(tmp_path, kit_toml())
    assert "kits.county.example" not in (tmp_path / "root/etc/dnsmasq.d/tpkit.conf").read_text()


def test_firstboot_wpa3_later_with_a_64_digit_key_kept_from_before_stays_wpa2_and_says_why(tmp_path, machine):
    key = "ab" * 32
    _run(tmp_path, kit_toml(passphrase=f'passphrase = "{key}"'))
    left = (tmp_path / "boot/kit.toml").read_text()
    assert key not in left, "the key was taken off the card"
    outcome = _run(tmp_path, left.replace('country = "CN"', 'country = "CN"\nsecurity = "wpa3"'))
    assert any("wifi.security" in p and "64-digit key" in p and "stays WPA2" in p for p in outcome.problems)
    hostapd = (tmp_path / "root/etc/hostapd/hostapd.conf").read_text()
    assert "\nwpa_key_mgmt=WPA-PSK\n" in hostapd and f"wpa_psk={key}" in hostapd and "ieee80211w" not in hostapd
