"""The audit's checks against a real kit: SQLite on a temp folder, files chmod'ed for real, a fake machine root
(/run/systemd, /etc) and fake `systemd-analyze` and `nft` first on PATH (the process edge, nothing else mocked)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from appliance.services.kit import open_kit
from appliance.services.library import approval
from appliance.services.people import access as people, auth
from appliance.services.reporting import kit_key
from appliance.services.security import audit, books, file_modes, roles, units, wifi
from appliance.services.security.findings import Finding, Machine
from appliance.services.sync import stick_import
from tests.conftest import make_book
from tests.machine import fake_commands
from tests.roster_data import CONSOLE, two_classes

SCORES = {
    "tpkit-web.service": 1.8,
    "tpkit-panel.service": 1.3,
    "tpkit-sync.service": 1.5,
    "tpkit-report.service": 1.7,
    "tpkit-mirror.service": 1.3,
    "tpkit-usb-import@sda1.service": 2.2,
    "tpkit-firstboot.service": 2.5,
}


def _analyze(scores: dict[str, float]) -> str:
    """A fake `systemd-analyze security UNIT…`: the real one's closing line for each unit it knows, exit 1 if any
    is unknown (as systemd does for a unit that is not loaded)."""
    cases = "".join(
        f'    {unit}) echo "→ Overall exposure level for {unit}: {score} OK :-)";;\n' for unit, score in scores.items()
    )
    return f'status=0\nfor unit in "$@"; do\n  case "$unit" in\n{cases}    -*|security) ;;\n    *) status=1;;\n  esac\ndone\nexit $status'


@pytest.fixture
def kit(settings):
    """A kit opened, and written to, with the umask every `tpkit` command that keeps people's data sets (0027)."""
    loose = os.umask(0o027)
    kit = open_kit(settings, with_library=False)
    yield kit
    kit.close()
    os.umask(loose)


def _machine(tmp_path: Path, *, booted: bool = True, commands: dict[str, str] | None = None) -> Machine:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    if booted:
        (root / "run/systemd/system").mkdir(parents=True, exist_ok=True)
    return Machine(root=root, path=fake_commands(tmp_path / "bin", commands or {}))


def _keys(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.key, f.level) for f in findings]


def test_audit_units_within_the_bar_are_ok_with_every_score_listed(kit, tmp_path):
    machine = _machine(tmp_path, commands={"systemd-analyze": _analyze(SCORES)})
    [found] = units.exposure(kit, machine)
    assert (found.key, found.level, found.values["highest"]) == ("audit.units.ok", "ok", 2.5)
    assert dict(found.rows) == {unit: f"{score:.1f}" for unit, score in SCORES.items()}


def test_audit_units_above_2_5_are_a_problem_naming_them(kit, tmp_path):
    machine = _machine(tmp_path, commands={"systemd-analyze": _analyze({**SCORES, "tpkit-panel.service": 6.7})})
    [found] = units.exposure(kit, machine)
    assert (found.key, found.level) == ("audit.units.exposed", "problem")
    assert found.values["units"] == "tpkit-panel.service 6.7"


def test_audit_units_outside_systemd_is_a_warning_not_an_error(kit, tmp_path):
    """`./build.sh run` on a laptop: no /run/systemd/system, so the units' limits do not apply."""
    machine = _machine(tmp_path, booted=False, commands={"systemd-analyze": _analyze(SCORES)})
    assert _keys(units.exposure(kit, machine)) == [("audit.units.not_systemd", "warning")]


def test_audit_units_unknown_or_unscored_are_warnings(kit, tmp_path):
    assert _keys(units.exposure(kit, _machine(tmp_path / "none"))) == [("audit.units.unknown", "warning")]
    partial = {k: v for k, v in SCORES.items() if k != "tpkit-mirror.service"}
    [found] = units.exposure(kit, _machine(tmp_path / "partial", commands={"systemd-analyze": _analyze(partial)}))
    assert (found.key, found.level, found.values["units"]) == (
        "audit.units.unscored",
        "warning",
        "tpkit-mirror.service",
    )
    assert ("tpkit-mirror.service", "?") in found.rows


def test_audit_firewall_loaded_missing_or_unknown(kit, tmp_path):
    loaded = _machine(tmp_path / "a", commands={"nft": 'echo "table inet filter"; echo "table inet tpkit"'})
    assert _keys(units.firewall(kit, loaded)) == [("audit.firewall.ok", "ok")]
    other = _machine(tmp_path / "b", commands={"nft": 'echo "table inet filter"'})
    assert _keys(units.firewall(kit, other)) == [("audit.firewall.missing", "warning")]
    (other.root / "etc/nftables.conf").write_text("table inet tpkit\ndelete table inet tpkit\n")
    assert _keys(units.firewall(kit, other)) == [("audit.firewall.not_loaded", "problem")]
    refused = _machine(tmp_path / "c", commands={"nft": 'echo "Operation not permitted" >&2; exit 1'})
    assert _keys(units.firewall(kit, refused)) == [("audit.firewall.unknown", "warning")]


def test_audit_files_private_after_a_start_with_umask_0027(kit, tmp_path):
    kit_key.ensure(kit.paths)
    assert _keys(file_modes.check(kit, _machine(tmp_path))) == [("audit.files.ok", "ok")]


def test_audit_files_readable_by_others_are_a_problem_listing_each(kit, tmp_path):
    kit_key.ensure(kit.paths)
    handin = kit.paths.uploads_dir / "handins" / "7" / "photo.jpg"
    handin.parent.mkdir(parents=True, exist_ok=True)
    handin.write_bytes(b"\xff\xd8")
    kept = kit.paths.data_dir.with_name(kit.paths.data_dir.name + ".replaced-20261201T0800")
    kept.mkdir(mode=0o750)
    (kept / "tpkit.sqlite3").write_bytes(b"old")
    for path, mode in (
        (kit.paths.database, 0o644),
        (handin, 0o604),
        (kit.paths.keys_dir / "kit.key", 0o640),  # group may read: too much for a secret
        (kept / "tpkit.sqlite3", 0o644),
    ):
        path.chmod(mode)
    (kit.paths.keys_dir / "kit.pub").chmod(0o640)  # the public key may be read by the kit's group
    [found] = file_modes.check(kit, _machine(tmp_path))
    assert (found.key, found.level, found.values["count"]) == ("audit.files.readable", "problem", 4)
    assert {(Path(path).name, mode) for path, mode, _ in found.rows} == {
        ("tpkit.sqlite3", "0644"),
        ("photo.jpg", "0604"),
        ("kit.key", "0640"),
    }
    assert str(kept / "tpkit.sqlite3") in [row[0] for row in found.rows]


def test_audit_files_first_boot_secrets_must_be_root_only(kit, tmp_path):
    machine = _machine(tmp_path)
    secrets = machine.root / file_modes.SECRETS_FILE
    secrets.parent.mkdir(parents=True)
    secrets.write_text('wifi_passphrase = "x"\n')
    secrets.chmod(0o600)
    assert _keys(file_modes.check(kit, machine)) == [("audit.files.ok", "ok")]
    secrets.chmod(0o644)
    [found] = file_modes.check(kit, machine)
    assert found.rows == ((str(secrets), "0644", found.rows[0][2]),)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")
def test_audit_files_owned_by_another_user_are_a_problem(kit, tmp_path):
    os.chown(kit.paths.database, 65534, 65534)  # nobody: as after a `sudo tpkit …` run as the wrong user
    [found] = file_modes.check(kit, _machine(tmp_path))
    assert (found.key, found.level) == ("audit.files.owner", "problem")
    assert [row[0] for row in found.rows] == [str(kit.paths.database)]


def test_audit_roles_lists_staff_and_classes_and_flags_first_passwords(kit, tmp_path):
    ids = two_classes(kit)  # teachers t-a and t-b, still on the administrator's first password
    password = auth.ensure_first_admin(kit.accounts)
    auth.sign_in(kit.accounts, "t-a", "password-a-123")
    people.create_teacher(kit.people, CONSOLE, "No Password Yet", "t-c", "a first password")
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, kit.accounts.by_username("t-c")["id"], password_hash="!")
    found = {f.key: f for f in roles.check(kit, _machine(tmp_path))}
    assert found["audit.roles.admins"].rows == (("admin", "", roles.NOT_SEEN),)
    teachers = {row[0]: row for row in found["audit.roles.teachers"].rows}
    assert teachers["t-a"][2].endswith("UTC") and teachers["t-b"][2] == roles.NOT_SEEN
    assert found["audit.roles.classes"].rows == (("Class A", "2"), ("Class B", "1"))
    assert (found["audit.roles.admin_first_password"].level, found["audit.roles.admin_first_password"].rows) == (
        "problem",
        (("admin",),),
    )
    assert found["audit.roles.teacher_first_password"].level == "warning"
    assert found["audit.roles.no_password"].rows == (("t-c",),)
    assert ids and password


def test_audit_roles_more_than_two_administrators_is_a_warning(kit, tmp_path):
    auth.ensure_first_admin(kit.accounts)
    for name in ("head", "deputy"):
        kit.accounts.create(name, "admin", auth.hash_password("a long password"), must_change_password=False)
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, kit.accounts.by_username("admin")["id"], must_change_password=0)
    assert _keys(roles.check(kit, _machine(tmp_path))) == [
        ("audit.roles.many_admins", "warning"),
        ("audit.roles.teachers", "ok"),
        ("audit.roles.classes", "ok"),
    ]


def test_audit_throttles_show_paused_classes_locked_pins_and_waiting_staff(kit, tmp_path):
    machine = _machine(tmp_path)
    assert _keys(roles.throttles(kit, machine)) == [("audit.signin.ok", "ok")]
    ids = two_classes(kit)
    now = time.time()
    a = ids["a"]
    # as auth.sign_in_pin counts them: the class's wrong PINs (many devices), one pupil's, one teacher's name's
    kit.signin_failures.add([f"pin-class:{a['class']}"] * (auth.PIN_CLASS_THROTTLE.free + 1), now, now - 3600)
    kit.signin_failures.add([f"pin:{a['students'][0]}"] * auth.PIN_THROTTLE.lock_after, now, now - 3600)
    kit.signin_failures.add(["account:t-b"] * (auth.PASSWORD_ACCOUNT_THROTTLE.free + 1), now, now - 3600)
    found = {f.key: f for f in roles.throttles(kit, machine, now + 1)}
    assert found["audit.signin.classes_paused"].rows == (("Class A", str(auth.PIN_CLASS_THROTTLE.free + 1)),)
    assert found["audit.signin.pins_locked"].values == {"count": 1}
    assert [row[0] for row in found["audit.signin.staff_waiting"].rows] == ["t-b"]
    assert {f.level for f in found.values()} == {"warning"}


HOSTAPD = "interface=wlan0\nssid2=6b6974\nwpa=2\nwpa_key_mgmt=WPA-PSK\n{psk}\nap_isolate=1\n"


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        (None, None, ("audit.wifi.none", "ok")),
        (HOSTAPD.format(psk="wpa_passphrase=blue kites over the river"), 0o600, ("audit.wifi.ok", "ok")),
        (HOSTAPD.format(psk="wpa_psk=" + "ab" * 32), 0o600, ("audit.wifi.ok", "ok")),
        (HOSTAPD.format(psk="wpa_passphrase=12345678"), 0o600, ("audit.wifi.weak", "warning")),
        (HOSTAPD.format(psk="wpa_passphrase=shortpw1"), 0o600, ("audit.wifi.weak", "warning")),
        ("interface=wlan0\nssid2=6b6974\n", 0o600, ("audit.wifi.open", "problem")),
        (HOSTAPD.format(psk="wpa_passphrase=blue kites over the river"), 0o644, ("audit.wifi.readable", "problem")),
    ],
    ids=["none", "ok", "hex_psk", "digits", "short", "open", "readable"],
)
def test_audit_wifi(kit, tmp_path, text, mode, expected):
    machine = _machine(tmp_path)
    if text is not None:
        conf = machine.root / wifi.HOSTAPD
        conf.parent.mkdir(parents=True)
        conf.write_text(text)
        conf.chmod(mode)
    assert _keys(wifi.check(kit, machine)) == [expected]


def test_audit_run_takes_any_tuple_of_checks_and_reports_the_gravest_level(kit, tmp_path):
    """Any tuple of check functions; the kit's own is audit.CHECKS."""

    def books_waiting(kit, machine):
        return [Finding("books", "audit.books.waiting", "warning", {"count": 2, "replacing": 0})]

    result = audit.run(kit, _machine(tmp_path), checks=(books_waiting, roles.throttles))
    assert (_keys(result.findings), result.level, result.problems) == (
        [("audit.books.waiting", "warning"), ("audit.signin.ok", "ok")],
        "warning",
        0,
    )
    auth.ensure_first_admin(kit.accounts)
    full = audit.run(kit, _machine(tmp_path / "full"))
    assert full.level == "problem" and full.problems >= 1
    assert [check.__module__.rsplit(".", 1)[1] for check in audit.CHECKS] == [
        "units",
        "units",
        "file_modes",
        "roles",
        "roles",
        "wifi",
        "books",
    ]


def test_audit_books_waiting_for_approval_are_a_warning_until_someone_decides(kit, settings, tmp_path):
    """A stick's loose book waits (services/library/approval.py): the audit names it, and what it would replace;
    enabled, the finding is ok again."""
    assert _keys(books.check(kit, _machine(tmp_path))) == [("audit.books.none_waiting", "ok")]
    stick = tmp_path / "stick"
    make_book(stick, "pupil_book")
    report = stick_import.import_folder(settings, kit.db, stick, source="/dev/sdz1")
    assert report.ok, report.local
    [finding] = books.check(kit, _machine(tmp_path))
    assert (finding.key, finding.level, finding.values) == (
        "audit.books.waiting",
        "warning",
        {"count": 1, "replacing": 0},
    )
    assert finding.rows[0][2] == "/dev/sdz1"
    [waiting] = approval.waiting_books(kit.db, kit.paths)
    approval.enable(settings, kit.db, CONSOLE, waiting.id)
    assert _keys(books.check(kit, _machine(tmp_path))) == [("audit.books.none_waiting", "ok")]
