"""A kit that never gets online, brought in by USB: a real kit's data folder makes reports, `tpkit report --to`
writes them and its key line to a stick, the hub refuses them with the command that registers the kit from the
stick, that command, and the import again. No network between kit and hub."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from appliance.edges import minisign
from appliance.errors import HubError
from appliance.hub import enrolment, fleet, offline_kits
from appliance.protocol import report_file
from tests.conftest import free_port
from tests.hub.conftest import enrol_kit, signed, stored_reports
from tests.hub.test_cli_hub import tpkit as hub
from tests.machine import kit_environ


def kit_report(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "report", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.fixture
def kit_env(tmp_path):
    """A kit's data folder and settings as its systemd unit gives them, with no hub_url: it never gets online."""
    return kit_environ(tmp_path, "gx-0042", free_port())


def _run_printed(command: str, settings, **replace: str) -> subprocess.CompletedProcess:
    """Run a `tpkit hub …` command as the hub printed it (placeholders replaced as a technician would)."""
    words = [replace.get(word, word) for word in shlex.split(command)]
    assert words[:2] == ["tpkit", "hub"], command
    return hub(*words[2:], settings=settings)


def test_a_kit_that_never_gets_online_is_registered_from_its_stick(hub_settings, hub_db, clock, tmp_path, kit_env):
    for _ in range(2):  # two timer runs with no hub: the reports wait in the outbox
        assert kit_report(env=kit_env).returncode == 0
    stick = tmp_path / "stick"
    stick.mkdir()
    written = kit_report("--to", str(stick), env=kit_env)
    assert written.returncode == 0 and "[✓] 3 report(s) written" in written.stdout and "kit.pub" in written.stdout
    key_file = stick / "tpkit-reports" / "gx-0042" / "kit.pub"
    assert key_file.read_text() == kit_report("--show-key", env=kit_env).stdout  # exactly what --show-key prints

    refused = hub("import", str(stick), settings=hub_settings)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Kit gx-0042 is not registered on this hub: its 3 report(s) were not imported." in refused.stdout
    assert f"Its key is on the stick: {key_file}" in refused.stdout
    assert "0 accepted, 0 already stored, 0 refused, 3 not imported" in refused.stdout
    command = next(line for line in refused.stdout.splitlines() if "Fix: tpkit hub kit add" in line)
    command = command.split("Fix: ", 1)[1]
    assert command == (
        f"tpkit hub kit add gx-0042 --school SCHOOL --district DISTRICT --public-key-file {shlex.quote(str(key_file))}"
    )
    assert stored_reports(hub_db) == 0

    added = _run_printed(command, hub_settings, SCHOOL="双溪教学点", DISTRICT="North")
    assert added.returncode == 0, added.stdout + added.stderr
    assert "[✓] Kit gx-0042 registered (双溪教学点, North) and enrolled with its key" in added.stdout
    imported = hub("import", str(stick), settings=hub_settings)
    assert imported.returncode == 0, imported.stdout
    assert "3 accepted, 0 already stored, 0 refused" in imported.stdout
    again = hub("import", str(stick), settings=hub_settings)
    assert again.returncode == 0 and "0 accepted, 3 already stored, 0 refused" in again.stdout
    (kit,) = fleet.kits(hub_db, clock.now, hub_settings.hub_silent_after_h)
    assert (kit.kit_id, kit.school, kit.district, kit.last_seen != "") == ("gx-0042", "双溪教学点", "North", True)
    assert "gx-0042" in hub("kit", "list", settings=hub_settings).stdout

    # The next trip: a report changed on the way is refused; the others stay stored once.
    assert kit_report("--to", str(stick), env=kit_env).returncode == 0
    newest = sorted((stick / "tpkit-reports" / "gx-0042").glob("*.json.gz"))[-1]
    tampered = bytearray(newest.read_bytes())
    tampered[-5] ^= 0xFF
    newest.write_bytes(bytes(tampered))
    last = hub("import", str(stick), settings=hub_settings)
    assert last.returncode == 1 and "0 accepted, 3 already stored, 1 refused" in last.stdout
    assert "report.bad_signature" in last.stdout and stored_reports(hub_db, "gx-0042") == 3


def test_import_names_the_labels_of_a_kit_registered_without_a_key(hub_settings, hub_db, clock, tmp_path):
    enrolment.register(hub_db, "gx-0007", "五一小学", "North", "", clock.now, 24)  # a token never used
    secret = minisign.generate()
    stick = tmp_path / "stick"
    report, payload, _ = signed(secret, "gx-0007", 1, made_at=clock.now)
    path, sig_path = report_file.bundle_paths(stick, report)
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    sig_path.write_text(report_file.sign(secret, report, payload))
    refused = hub("import", str(stick), settings=hub_settings)
    assert refused.returncode == 1
    assert "Kit gx-0007 is not enrolled (the hub has no key for it)" in refused.stdout
    assert "The stick has no kit.pub for it" in refused.stdout and "tpkit report --show-key" in refused.stdout
    assert "tpkit hub kit add gx-0007 --school '五一小学' --district North --public-key KEY_LINE" in refused.stdout
    added = hub(
        "kit", "add", "gx-0007", "--school", "五一小学", "--district", "North", "--public-key",
        secret.public.line, settings=hub_settings,
    )  # fmt: skip
    assert added.returncode == 0 and "enrolled with its key" in added.stdout
    assert hub("import", str(stick), settings=hub_settings).returncode == 0
    assert stored_reports(hub_db, "gx-0007") == 1


def test_register_with_key_refuses_what_is_not_a_key_line(hub_db, clock, tmp_path):
    line = minisign.generate().public.line
    pub_file = minisign.public_key_file(minisign.generate().public)  # the two-line .pub of the kit's data folder
    for text in ("", "RWQnope", line[:-1], line + "A", pub_file, "untrusted comment: x\n" + line, "RWA" + line[3:]):
        with pytest.raises(HubError) as caught:
            offline_kits.register_with_key(hub_db, "gx-1", "S", "D", "", text, clock.now, "the key")
        assert caught.value.code == "hub.invalid"
        assert "tpkit report --show-key" in caught.value.cause and "kit.pub" in caught.value.fix
    assert offline_kits.register_with_key(hub_db, "gx-1", "S", "D", "", f"  {line}\n", clock.now, "k") == "registered"
    with pytest.raises(HubError) as caught:
        offline_kits.register_with_key(hub_db, "Gx_1", "S", "D", "", line, clock.now, "the key")
    assert "lower-case" in caught.value.message
    assert enrolment.public_line(hub_db, "gx-1") == line


def test_register_with_key_replaces_a_key_only_when_told(hub_db, hub_settings, clock, tmp_path):
    old = enrol_kit(hub_db, "gx-2", clock.now, school="Hill School", district="North")
    new = minisign.generate()
    key_file = tmp_path / "kit.pub"
    key_file.write_text(new.public.line + "\n")
    args = ("kit", "add", "gx-2", "--school", "Hill School", "--district", "North", "--public-key-file", str(key_file))
    refused = hub(*args, settings=hub_settings)
    assert refused.returncode == 1 and "registered with another key" in refused.stderr
    assert "--replace-key" in refused.stderr and "SD card" in refused.stderr
    assert enrolment.public_line(hub_db, "gx-2") == old.public.line
    replaced = hub(*args, "--replace-key", settings=hub_settings)
    assert replaced.returncode == 0 and "old key are no longer accepted" in replaced.stdout
    assert enrolment.public_line(hub_db, "gx-2") == new.public.line
    assert "nothing changed" in hub(*args, settings=hub_settings).stdout
    missing = hub(*args[:-1], str(tmp_path / "nope.pub"), settings=hub_settings)
    assert missing.returncode == 1 and "cannot be read" in missing.stderr and "tpkit-reports/" in missing.stderr
    # A token issued earlier cannot bring the old key back once a key was given by hand.
    token = enrolment.register(hub_db, "gx-3", "Hill School", "North", "", clock.now, 24)
    assert offline_kits.register_with_key(hub_db, "gx-3", "Hill School", "North", "", new.public.line, clock.now, "k")
    with pytest.raises(HubError):
        enrolment.enrol(hub_db, "gx-3", token, old.public.line, clock.now)


def test_a_kit_registered_from_its_stick_that_gets_online_later_is_not_refused(hub_db, hub_client, clock):
    secret = minisign.generate()
    offline_kits.register_with_key(hub_db, "gx-5", "Hill School", "North", "", secret.public.line, clock.now, "k")
    # Its card still holds a token (from add-many, spent by the key given by hand, or never issued by this hub).
    same = {"kit_id": "gx-5", "token": "a-token-from-the-card-0000", "public_key": secret.public.line}
    assert hub_client.post("/api/v1/enrol", json=same).status_code == 200
    other = {**same, "public_key": minisign.generate().public.line}
    assert hub_client.post("/api/v1/enrol", json=other).status_code == 403
    _, payload, headers = signed(secret, "gx-5", 1, made_at=clock.now)
    assert hub_client.post("/api/v1/reports", content=payload, headers=headers).status_code == 201
