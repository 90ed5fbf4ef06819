"""Applying the boot partition's kit.toml to the kit (`tpkit firstboot`, run by tpkit-firstboot.service at every
boot while the file exists): settings, administrator password, classroom network, time zone, the data
partition's size and SSH host keys (first boot only), then the secrets off the card. Every problem is collected and stored, none stops the rest.

Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.config import Settings, load_settings
from appliance.edges import machine_setup
from appliance.errors import ConfigError, SystemCommandError
from appliance.paths import Paths
from appliance.services.device import classroom_network, kit_toml as provisioning
from appliance.services.device.setup_problems import Problem, stored
from appliance.services.kit import kit_paths, open_store
from appliance.services.people import access
from appliance.services.people.auth import ADMIN_USERNAME
from appliance.storage.accounts import Accounts
from appliance.storage.database import Database
from appliance.storage.provisioning_runs import ProvisioningRuns

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

log = logging.getLogger(__name__)

SETTINGS_FILE = Path("etc/tpkit/kit.toml")  # under the root: what every tpkit unit reads (TPKIT_CONFIG)
SECRETS_FILE = Path("etc/tpkit/secrets.toml")  # under the root, mode 0600: secrets first boot took off the card


@dataclasses.dataclass
class Outcome:
    """What one run applied (one line each) and the problems it found, each with what to do (setup_problems.Problem
    lines: English text, with the key the admin page words them with in another language)."""

    boot_file: Path
    applied: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


def run(boot_dir: Path, root: Path = Path("/"), overrides: Mapping[str, Any] | None = None) -> Outcome:
    """Apply `boot_dir`/kit.toml to the system under `root`; the outcome is also stored for the admin page."""
    outcome = Outcome(boot_file=boot_dir / provisioning.BOOT_FILE_NAME)
    data, problem = provisioning.read(outcome.boot_file)
    kit = provisioning.check(data or {}, str(outcome.boot_file)) if data is not None else None
    if problem:
        outcome.problems.append(Problem(problem, "firstboot.unreadable"))
    if kit is not None:
        outcome.problems += kit.problems
        _write_settings(kit, root, outcome)
    settings = _settings(root, overrides or {}, outcome)
    db = open_store(settings).db
    try:
        runs = ProvisioningRuns(db)
        first_boot = runs.count() == 0
        if kit is not None:
            _carry_on(lambda: _apply(kit, root, settings, db, outcome), outcome)
            if first_boot:
                _carry_on(lambda: _first_boot_only(root, settings, outcome), outcome)
            _carry_on(lambda: _remove_secrets(outcome.boot_file, data, outcome), outcome)
        runs.record(str(outcome.boot_file), outcome.applied, [stored(line) for line in outcome.problems])
    finally:
        db.close()
    _hand_to_kit_user(kit_paths(settings))
    return outcome


def last_run(kit: Kit, viewer: Viewer | None):
    """The latest first-boot run (when, applied, problems) for the administrator's status page, or None."""
    access.require(viewer, "admin")
    return kit.provisioning_runs.latest()


def _carry_on(step, outcome: Outcome) -> None:
    """Run one step; a file it cannot write (a read-only or full disk) is a problem, and the next step runs."""
    try:
        step()
    except OSError as exc:
        outcome.problems.append(
            Problem(
                f"{exc.filename or 'A file'} could not be written: {exc.strerror or exc}. "
                "Fix: check the disk (df -h; dmesg) and that the kit runs first boot as root.",
                "firstboot.not_written",
                about=str(exc.filename or ""),
            )
        )


def _write_settings(kit: provisioning.KitFile, root: Path, outcome: Outcome) -> None:
    values: dict[str, Any] = {
        "kit_id": kit.kit_id,
        "school_name": kit.school_name,
        "time_zone": kit.time_zone,  # the zone pages show times in, as the system clock's (set in _apply)
        "wifi_name": kit.wifi_ssid if kit.network_mode == "ap" else None,  # for the sign-in cards
        "hub_url": kit.hub_url,
        "trusted_channel_keys": ",".join(kit.trusted_content_keys) or None,
        **kit.settings,
    }
    lines = [
        f"# Written by tpkit firstboot from {kit.source}; edit that file instead (applied at every boot).",
        "# Settings: docs/settings.md. Address and port are set by tpkit-web.service.",
    ]
    lines += [f"{name} = {provisioning.toml_value(value)}" for name, value in values.items() if value is not None]
    target = root / SETTINGS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    provisioning.write_atomically(target, "\n".join(lines) + "\n", 0o644)
    outcome.applied.append(f"settings written to {target} ({sum(v is not None for v in values.values())} values)")


def _settings(root: Path, overrides: Mapping[str, Any], outcome: Outcome) -> Settings:
    """The settings the kit will run with; a file that still fails (e.g. two panel parts on one pin) is
    reported and the defaults are used for this run."""
    path = root / SETTINGS_FILE
    try:
        return load_settings(path if path.exists() else None, environ={}, overrides=overrides)
    except ConfigError as exc:
        outcome.problems.append(Problem(f"{exc.message} Fix: {exc.fix}", "firstboot.settings_refused"))
        return load_settings(None, environ={}, overrides=overrides)


def _apply(kit: provisioning.KitFile, root: Path, settings: Settings, db: Database, outcome: Outcome) -> None:
    if kit.admin_password_hash:
        Accounts(db).provision(ADMIN_USERNAME, "admin", kit.admin_password_hash)
        outcome.applied.append(f"administrator password set for user {ADMIN_USERNAME!r}")
    if kit.enrolment_token:
        token_file = kit_paths(settings).enrolment_token
        provisioning.write_atomically(token_file, kit.enrolment_token + "\n", 0o600)
        outcome.applied.append(f"hub enrolment token kept in {token_file} (tpkit report presents it to the hub once)")
    _apply_network(kit, root, settings, outcome)
    if kit.time_zone:
        try:
            machine_setup.set_time_zone(kit.time_zone)
            outcome.applied.append(f"time zone {kit.time_zone}")
        except SystemCommandError as exc:
            outcome.problems.append(
                Problem(
                    f"time_zone {kit.time_zone!r} could not be set: {exc.message} Fix: {exc.fix}",
                    "firstboot.time_zone",
                    about=kit.time_zone,
                )
            )


def _apply_network(kit: provisioning.KitFile, root: Path, settings: Settings, outcome: Outcome) -> None:
    passphrase = kit.wifi_passphrase or _saved_secrets(root).get("wifi_passphrase")
    if kit.wifi_passphrase:
        _save_secrets(root, {**_saved_secrets(root), "wifi_passphrase": kit.wifi_passphrase})
    security = kit.wifi_security or "wpa2"
    if security != "wpa2" and passphrase and len(passphrase) == 64:
        # The key provisioned before (no passphrase on the card now) is a 64-digit WPA2 key: SAE cannot use it.
        security = "wpa2"
        outcome.problems.append(
            Problem(
                f'wifi.security in {kit.source} = "{kit.wifi_security}" needs the passphrase itself, and the one '
                "provisioned before is a 64-digit key, which only WPA2 takes: the Wi-Fi stays WPA2. Fix: put the "
                "passphrase (8 to 63 characters) in [wifi] passphrase",
                "firstboot.setting",
                about="wifi.security",
            )
        )
    classroom = classroom_network.Classroom(
        mode=kit.network_mode,  # type: ignore[arg-type]  # None: returns below
        interface=settings.ap_interface,
        kit_id=kit.kit_id or settings.kit_id,
        ssid=kit.wifi_ssid or "",
        passphrase=passphrase or "",
        country=kit.wifi_country or "",
        kit_name=f"{kit.kit_id or settings.kit_id}.{settings.tls_domain}" if settings.tls_domain else "",
        max_clients=kit.wifi_max_clients or classroom_network.MAX_CLIENTS,
        security=security,
    )
    if kit.network_mode is None:
        outcome.applied.append("classroom network left as it was (network_mode above needs fixing first)")
        return
    if kit.network_mode == "ap" and not (kit.wifi_ssid and passphrase and kit.wifi_country):
        if not passphrase and not any("wifi.passphrase" in p for p in outcome.problems):
            outcome.problems.append(
                Problem(
                    f"wifi.passphrase in {kit.source} is missing and none was provisioned before; "
                    'network_mode = "ap" needs [wifi] ssid, passphrase and country',
                    "firstboot.wifi_passphrase",
                )
            )
        outcome.applied.append("classroom network left as it was (the Wi-Fi values above need fixing first)")
        return
    written = classroom_network.apply(classroom, root)
    what = f"Wi-Fi {kit.wifi_ssid!r} on {settings.ap_interface}" if kit.network_mode == "ap" else "DHCP on Ethernet"
    outcome.applied.append(f"classroom network {kit.network_mode!r}: {what} ({len(written)} files)")


def _saved_secrets(root: Path) -> dict[str, str]:
    try:
        return tomllib.loads((root / SECRETS_FILE).read_text())
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return {}


def _save_secrets(root: Path, secrets: Mapping[str, str]) -> None:
    target = root / SECRETS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key} = {provisioning.toml_value(value)}\n" for key, value in secrets.items())
    provisioning.write_atomically(target, "# Secrets tpkit firstboot took off the boot partition.\n" + text, 0o600)


def _first_boot_only(root: Path, settings: Settings, outcome: Outcome) -> None:
    try:
        outcome.applied.append(machine_setup.grow_partition_of(settings.data_dir))
    except SystemCommandError as exc:
        outcome.problems.append(
            Problem(f"The data partition could not be grown: {exc.message} Fix: {exc.fix}", "firstboot.grow_partition")
        )
    try:
        outcome.applied.append(machine_setup.make_ssh_host_keys(root))
    except SystemCommandError as exc:
        outcome.problems.append(
            Problem(f"The SSH host keys could not be made: {exc.message} Fix: {exc.fix}", "firstboot.ssh_keys")
        )
    outcome.applied.append(make_report_key(kit_paths(settings)))


def make_report_key(paths: Paths) -> str:
    """The kit's Ed25519 report key in `paths.keys_dir` (made once, never overwritten; services.kit_key)."""
    from appliance.services.reporting import kit_key

    return f"report key {kit_key.ensure(paths).public.id_hex} in {paths.keys_dir}"


def _remove_secrets(boot_file: Path, data: Mapping[str, Any] | None, outcome: Outcome) -> None:
    if not data or not provisioning.has_secrets(data):
        return
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = provisioning.without_secrets(boot_file.read_text(), stamp)
    try:
        if provisioning.has_secrets(tomllib.loads(text)):
            raise ValueError("a secret spans several lines")
    except (tomllib.TOMLDecodeError, ValueError):
        plain = {
            t: {k: v for k, v in (data.get(t) or {}).items() if (t, k) not in provisioning.SECRETS}
            for t in provisioning.TABLES
        }
        text = provisioning.dump({**{k: v for k, v in data.items() if k not in provisioning.TABLES}, **plain})
    provisioning.write_atomically(boot_file, text, 0o644)
    outcome.applied.append(f"secrets removed from {boot_file}")


def _hand_to_kit_user(paths: Paths) -> None:
    """Give what this run (as root) created in the data folder to the folder's owner, the kit's user, so the
    web server can write its database. Nothing to do when not root (tests, a laptop)."""
    if os.geteuid() != 0:
        return
    owner = paths.data_dir.stat()
    candidates = [paths.data_dir / name for name in os.listdir(paths.data_dir)]
    candidates += [paths.keys_dir / name for name in os.listdir(paths.keys_dir)]
    for path in candidates:
        if path.lstat().st_uid == 0 and owner.st_uid != 0:
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)
