"""A USB stick that tries to enrol a kit at the county hub (issue 20, item 7).

Who: anyone who hands the county technician a stick (a kit's, or one made to look like it): `tpkit report --to`
now writes the kit's key line (kit.pub) beside its reports, and `tpkit hub import` prints the command that
registers a kit it does not know with that key. With what: reports signed with the attacker's own key, filed under
a registered kit's id with the attacker's kit.pub; a kit folder whose name is a shell command; a stick mounted at a
path with quotes and spaces, so that the printed command would run something else when pasted.
What stops them: the hub never takes a key from a stick by itself: import stores nothing for a kit it has no key
for and registers nothing; only a technician's `tpkit hub kit add … --public-key-file` does, for a kit that has no
key yet; a kit registered with a key keeps it (its stick's reports signed otherwise are `report.bad_signature`, and
no command is printed for it); another key replaces it only with `--replace-key`. Folder names are kit ids
(`report.malformed` otherwise) and every path in the printed command is quoted (shlex).
"""

from __future__ import annotations

import shlex

from appliance.edges import minisign
from appliance.hub import enrolment
from appliance.protocol import report_file
from tests.hub.conftest import clock, enrol_kit, hub_db, hub_settings, signed, stored_reports  # noqa: F401
from tests.hub.test_cli_hub import tpkit as hub


def _stick_for(stick, secret, kit_id: str, now: float) -> None:
    report, payload, _ = signed(secret, kit_id, 1, made_at=now)
    path, sig_path = report_file.bundle_paths(stick, report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    sig_path.write_text(report_file.sign(secret, report, payload))
    (path.parent / report_file.BUNDLE_KEY_FILE).write_text(secret.public.line + "\n")


def test_a_stick_cannot_enrol_or_re_key_a_kit_by_itself(hub_settings, hub_db, clock, tmp_path):  # noqa: F811
    real = enrol_kit(hub_db, "gx-0001", clock.now)
    attacker = minisign.generate()
    stick = tmp_path / "it's a stick; touch pwned"
    _stick_for(stick, attacker, "gx-0001", clock.now)  # a registered kit's id, the attacker's key
    _stick_for(stick, attacker, "gx-0666", clock.now)  # an unknown kit
    bad = stick / report_file.BUNDLE_FOLDER / "$(touch pwned)"
    bad.mkdir()
    (bad / f"{1:012d}-x.json.gz").write_bytes(b"x")
    (bad / f"{1:012d}-x.json.gz.minisig").write_text("x")
    done = hub("import", str(stick), settings=hub_settings)
    assert done.returncode == 1
    assert "report.bad_signature" in done.stdout and "report.malformed" in done.stdout
    assert "kit add gx-0001" not in done.stdout  # a kit with a key is never offered another one
    (command,) = [line.split("Fix: ", 1)[1] for line in done.stdout.splitlines() if "Fix: tpkit hub kit add" in line]
    words = shlex.split(command)
    assert words[words.index("--public-key-file") + 1] == str(
        stick / report_file.BUNDLE_FOLDER / "gx-0666" / report_file.BUNDLE_KEY_FILE
    )
    assert not (tmp_path / "pwned").exists() and stored_reports(hub_db) == 0
    assert enrolment.public_line(hub_db, "gx-0001") == real.public.line
    assert hub_db.query("SELECT kit_id FROM kits ORDER BY kit_id") == [{"kit_id": "gx-0001"}]
