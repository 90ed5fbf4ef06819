"""`tpkit hub kit add-many`: the county's schools CSV registered in one process and one transaction, and its
provisioning CSV (the same rows with each kit's token) fed to the real `tpkit provision --csv`."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
import tomllib

from appliance.edges import minisign
from appliance.hub import enrolment
from appliance.services.people.auth import hash_password
from tests.hub.conftest import enrol_kit
from tests.hub.test_cli_hub import tpkit as hub

HEADER = [
    "kit_id", "school_name", "district", "location", "time_zone", "wifi_ssid", "wifi_passphrase", "wifi_country",
    "hub_url", "admin_password_hash", "default_language",
]  # fmt: skip


def _rows(count: int, password_hash: str = "") -> list[dict[str, str]]:
    return [
        {
            "kit_id": f"gx-{n:04d}",
            "school_name": f"双溪第{n}教学点",
            "district": f"District {n % 12}",
            "location": f"村 {n}",
            "time_zone": "Asia/Shanghai",
            "wifi_ssid": f"教学点{n}",
            "wifi_passphrase": "rain on the hills",
            "wifi_country": "CN",
            "hub_url": "https://hub.county.example/",
            "admin_password_hash": password_hash,
            "default_language": "zh",
        }
        for n in range(1, count + 1)
    ]


def _write(path, rows, header=HEADER, encoding="utf-8-sig"):
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _registered(db) -> int:
    return db.query("SELECT count(*) AS n FROM kits")[0]["n"]


def test_add_many_registers_1000_kits_and_provision_writes_their_cards(hub_settings, hub_db, clock, tmp_path):
    schools = _write(tmp_path / "schools.csv", _rows(1000, hash_password("a long sentence")))  # as Excel: a BOM
    out = tmp_path / "provisioning.csv"
    started = time.monotonic()
    done = hub("kit", "add-many", str(schools), "--provisioning-csv", str(out), settings=hub_settings, timeout=300)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[✓] 1000 kit(s) registered in " in done.stdout and "tpkit provision --csv" in done.stdout
    print(f"\nadd-many, 1000 kits on {hub_db.backend}: {seconds:.2f} s for the whole process; {done.stdout.strip()}")
    assert _registered(hub_db) == 1000

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and (out.stat().st_mode & 0o777) == 0o600
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    originals = _rows(1000, rows[0]["admin_password_hash"])
    assert [{k: v for k, v in row.items() if k != "enrolment_token"} for row in rows] == originals  # kept as it was
    assert list(rows[0]) == [*HEADER, "enrolment_token"]
    tokens = {row["kit_id"]: row["enrolment_token"] for row in rows}
    assert len(set(tokens.values())) == 1000 and all(len(t) >= 16 for t in tokens.values())
    assert hub_db.query("SELECT school, district, location FROM kits WHERE kit_id = 'gx-0007'") == [
        {"school": "双溪第7教学点", "district": "District 7", "location": "村 7"}
    ]

    cards = tmp_path / "cards"
    provision = subprocess.run(
        [sys.executable, "-m", "appliance", "provision", "--csv", str(out), "--out", str(cards)],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ,
    )
    assert provision.returncode == 0, provision.stdout + provision.stderr
    assert len(list(cards.glob("*/kit.toml"))) == 1000
    card = tomllib.loads((cards / "gx-0042" / "kit.toml").read_text())
    assert card["kit_id"] == "gx-0042" and card["school_name"] == "双溪第42教学点"
    assert card["hub"] == {"url": "https://hub.county.example/", "enrolment_token": tokens["gx-0042"]}
    # What the card carries is what the hub trades for trust in the kit's key at first boot.
    assert enrolment.enrol(hub_db, "gx-0042", card["hub"]["enrolment_token"], minisign.generate().public.line, 1)[1]


def test_add_many_refuses_a_sheet_with_bad_rows_and_stores_nothing(hub_settings, hub_db, tmp_path):
    rows = _rows(5)
    rows[1]["kit_id"] = "GX_0002"  # tpkit provision refuses it, so the hub does
    rows[2]["district"] = " "
    rows[4]["kit_id"] = "gx-0001"  # twice
    schools = _write(tmp_path / "schools.csv", rows, encoding="utf-8")  # no byte-order mark
    out = tmp_path / "out.csv"
    done = hub("kit", "add-many", str(schools), "--provisioning-csv", str(out), settings=hub_settings)
    assert done.returncode == 1 and "3 problem(s); no kit was registered" in done.stderr
    assert "line 3: kit_id = 'GX_0002' must be 1-32 lower-case letters, digits and dashes" in done.stderr
    assert "line 4: district is empty: fill it in" in done.stderr
    assert "line 6: kit_id gx-0001 is on line 2 too" in done.stderr and "Fix:" in done.stderr
    assert _registered(hub_db) == 0 and not out.exists() and not list(tmp_path.glob(".out.csv*"))
    extra = _write(tmp_path / "extra.csv", _rows(1), header=[*HEADER, "notes"])
    unknown = hub("kit", "add-many", str(extra), "--provisioning-csv", str(out), settings=hub_settings)
    assert unknown.returncode == 1 and "unknown column(s) notes: tpkit provision refuses them" in unknown.stderr
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("kit_id,school_name,district\ngx-1,双溪教学点,North\n".encode("gbk"))  # Excel's plain "CSV"
    refused = hub("kit", "add-many", str(gbk), "--provisioning-csv", str(out), settings=hub_settings)
    assert refused.returncode == 1 and "CSV UTF-8" in refused.stderr and _registered(hub_db) == 0


def test_add_many_refuses_registered_kits_unless_new_tokens(hub_settings, hub_db, clock, tmp_path):
    secret = enrol_kit(hub_db, "gx-0002", clock.now)
    schools = _write(tmp_path / "schools.csv", _rows(3))
    out = tmp_path / "out.csv"
    refused = hub("kit", "add-many", str(schools), "--provisioning-csv", str(out), settings=hub_settings)
    assert refused.returncode == 1 and "line 3: kit gx-0002 is registered already" in refused.stderr
    assert "--new-tokens" in refused.stderr and _registered(hub_db) == 1 and not out.exists()
    renewed = hub(
        "kit", "add-many", str(schools), "--provisioning-csv", str(out), "--new-tokens", settings=hub_settings
    )
    assert renewed.returncode == 0 and "2 kit(s) registered, 1 given a new token" in renewed.stdout
    token = {
        r["kit_id"]: r["enrolment_token"] for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    }["gx-0002"]
    assert enrolment.enrol(hub_db, "gx-0002", token, minisign.generate().public.line, clock.now)[1] is True
    assert enrolment.public_line(hub_db, "gx-0002") != secret.public.line


def test_hub_kit_add_refuses_a_kit_id_tpkit_provision_refuses(hub_settings, hub_db):
    for kit_id in ("GX-0042", "gx_0042", "gx-0042-"):
        done = hub("kit", "add", kit_id, "--school", "Hill School", "--district", "North", settings=hub_settings)
        assert done.returncode == 1 and "lower-case letters, digits and dashes" in done.stderr
    assert _registered(hub_db) == 0
