"""`tpkit provision` and `tpkit firstboot` as a technician and systemd run them: real subprocesses, a real
FAT disk image (truncate, sfdisk, mkfs.vfat, mtools), a real web server started on what first boot wrote."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib

import httpx
import pytest

from tests.conftest import free_port
from tests.provisioning_kit import ADMIN_PASSWORD, PASSPHRASE, fake_machine, kit_toml
from tests.test_cli import STOP_TIMEOUT_S, _wait_for

FLAGS = [
    "--kit-id",
    "gx-0007",
    "--school-name",
    "Hill School",
    "--wifi-ssid",
    "Class 1",
    "--wifi-passphrase",
    PASSPHRASE,
    "--wifi-country",
    "CN",
    "--admin-password",
    ADMIN_PASSWORD,
    "--time-zone",
    "Asia/Shanghai",
]
CSV_HEADER = (
    "kit_id,school_name,network_mode,wifi_ssid,wifi_passphrase,wifi_country,admin_password,hub_url,enrolment_token\n"
)


def tpkit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_provision_boot_dir_writes_a_file_firstboot_accepts(tmp_path):
    (tmp_path / "boot").mkdir()
    result = tpkit("provision", "--boot-dir", str(tmp_path / "boot"), *FLAGS)
    assert result.returncode == 0, result.stderr
    written = tomllib.loads((tmp_path / "boot/kit.toml").read_text())
    assert written["kit_id"] == "gx-0007" and written["wifi"]["passphrase"] == PASSPHRASE
    assert "max_clients" not in written["wifi"], "a Pi's own radio unless the technician says otherwise"
    assert written["admin"]["password_hash"].startswith("$argon2id$") and ADMIN_PASSWORD not in str(written)
    path, _ = fake_machine(tmp_path / "machine")
    applied = tpkit(
        "firstboot",
        "--boot-dir",
        str(tmp_path / "boot"),
        "--root",
        str(tmp_path / "root"),
        "--data-dir",
        str(tmp_path / "data"),
        env={"PATH": path},
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "[✓] secrets removed from" in applied.stdout and "[✗]" not in applied.stdout


def test_cli_provision_csv_out_writes_one_checked_file_per_school(tmp_path):
    schools = tmp_path / "schools.csv"
    schools.write_text(
        CSV_HEADER + f"gx-0001,Hill School,ap,Hill 1,{PASSPHRASE},CN,{ADMIN_PASSWORD},,\n"
        f"gx-0002,River School,ethernet,,,,{ADMIN_PASSWORD},https://hub.example/,tok-0123456789abcdef\n"
    )
    result = tpkit("provision", "--csv", str(schools), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gx-0001", "gx-0002"]
    river = tomllib.loads((tmp_path / "out/gx-0002/kit.toml").read_text())
    assert river["network_mode"] == "ethernet" and river["hub"]["enrolment_token"] == "tok-0123456789abcdef"


def test_cli_provision_wifi_max_clients_is_written_as_a_number_and_checked(tmp_path):
    (tmp_path / "boot").mkdir()
    result = tpkit("provision", "--boot-dir", str(tmp_path / "boot"), *FLAGS, "--wifi-max-clients", "40")
    assert result.returncode == 0, result.stderr
    assert tomllib.loads((tmp_path / "boot/kit.toml").read_text())["wifi"]["max_clients"] == 40
    refused = tpkit("provision", "--boot-dir", str(tmp_path / "other"), *FLAGS, "--wifi-max-clients", "many")
    assert refused.returncode == 1 and "wifi.max_clients" in refused.stderr and "whole number" in refused.stderr


def test_cli_provision_wifi_security_is_written_and_checked(tmp_path):
    (tmp_path / "boot").mkdir()
    result = tpkit("provision", "--boot-dir", str(tmp_path / "boot"), *FLAGS, "--wifi-security", "wpa2-wpa3")
    assert result.returncode == 0, result.stderr
    assert tomllib.loads((tmp_path / "boot/kit.toml").read_text())["wifi"]["security"] == "wpa2-wpa3"
    refused = tpkit("provision", "--boot-dir", str(tmp_path / "other"), *FLAGS, "--wifi-security", "wep")
    assert refused.returncode == 1 and "wifi.security" in refused.stderr and '"wpa2-wpa3"' in refused.stderr


def test_cli_provision_csv_names_every_bad_value_and_writes_nothing(tmp_path):
    schools = tmp_path / "schools.csv"
    schools.write_text(
        CSV_HEADER + f"gx-0001,Hill School,ap,Hill 1,short,CN,{ADMIN_PASSWORD},,\ngx-0001,,wifi,,,,,ftp://hub,\n"
    )
    result = tpkit("provision", "--csv", str(schools), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    for part in (
        "row 2",
        "wifi.passphrase",
        "row 3",
        "school_name",
        "network_mode",
        "hub.url",
        "admin_password",
        "'gx-0001' appears 2 times",
        "Fix:",
    ):
        assert part in result.stderr, part
    assert "short" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("sfdisk", "mkfs.vfat", "mcopy", "mtype")),
    reason="needs fdisk, dosfstools and mtools (./build.sh test installs them)",
)
def test_cli_provision_image_writes_into_the_fat_partition(tmp_path):
    image = tmp_path / "kit.img"
    subprocess.run(["truncate", "-s", "48M", str(image)], check=True)
    layout = "label: dos\nstart=8192, size=65536, type=c\ntype=83\n"
    subprocess.run(["sfdisk", "-q", str(image)], input=layout, text=True, check=True)
    subprocess.run(["mkfs.vfat", "--offset", "8192", str(image), str(65536 // 2)], check=True, capture_output=True)
    result = tpkit("provision", "--image", str(image), *FLAGS)
    assert result.returncode == 0, result.stderr
    assert "FAT partition at byte 4194304" in result.stdout
    copied = subprocess.run(
        ["mtype", "-i", f"{image}@@4194304", "::kit.toml"],
        capture_output=True,
        text=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
        check=True,
    ).stdout
    assert tomllib.loads(copied)["school_name"] == "Hill School"
    not_an_image = tmp_path / "kit.img.xz"
    not_an_image.write_bytes(b"\xfd7zXZ\x00" + bytes(4096))
    refused = tpkit("provision", "--image", str(not_an_image), *FLAGS)
    assert refused.returncode == 1
    assert "does not contain a recognized partition table" in refused.stderr and "Fix: Decompress" in refused.stderr
    no_fat = tmp_path / "linux.img"
    subprocess.run(["truncate", "-s", "8M", str(no_fat)], check=True)
    subprocess.run(["sfdisk", "-q", str(no_fat)], input="label: dos\ntype=83\n", text=True, check=True)
    refused = tpkit("provision", "--image", str(no_fat), *FLAGS)
    assert refused.returncode == 1 and "has no FAT partition (partition types: 83)" in refused.stderr


def test_cli_web_server_starts_and_shows_the_problems_of_a_broken_kit_toml(tmp_path):
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot/kit.toml").write_text(
        kit_toml(time_zone='time_zone = "Mars/Olympus"', default_language='web_workers = "many"')
    )
    path, _ = fake_machine(tmp_path / "machine")
    folders = ["--data-dir", str(tmp_path / "data")]
    applied = tpkit(
        "firstboot",
        "--boot-dir",
        str(tmp_path / "boot"),
        "--root",
        str(tmp_path / "root"),
        *folders,
        env={"PATH": path},
    )
    assert applied.returncode == 1
    assert "[✗] time_zone in" in applied.stdout and "Mars/Olympus" in applied.stdout
    assert "2 problem(s)" in applied.stdout and "Fix:" in applied.stdout
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "appliance", "serve", "--port", str(port), *folders],
        env={**os.environ, "TPKIT_CONFIG": str(tmp_path / "root/etc/tpkit/kit.toml")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert "Shuangxi Teaching Point" in http.get("/").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/admin/signin").text).group(1)
            signed = http.post("/admin/signin", data={"csrf": csrf, "username": "admin", "password": ADMIN_PASSWORD})
            assert signed.status_code == 303
            page = html.unescape(http.get("/admin?lang=en").text)
        assert "Provisioning (kit.toml)" in page and "Mars/Olympus" in page and "web_workers = 'many'" in page
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=STOP_TIMEOUT_S)
    assert "One-time administrator password" not in output, "the provisioned password is the administrator's"
