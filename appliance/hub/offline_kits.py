"""A kit that never gets online: registered with the key line its USB stick carries (no token, no HTTP), and its
stick imported, with the command to run for a kit the hub does not know yet (docs/reporting.md).

Must not import web or cli.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shlex
from pathlib import Path

from appliance.edges import minisign
from appliance.errors import ConfigError, HubError
from appliance.hub import enrolment, ingest
from appliance.hub.storage import kits as stored_kits
from appliance.protocol import report_file

# What `tpkit report --show-key` prints: the base64 of "Ed", the key id and the key (42 bytes, 56 characters).
KEY_LINE = re.compile(r"^RW[QRST][A-Za-z0-9+/]{53}$")


def key_line(text: str, where: str) -> str:
    """The key line `tpkit report --show-key` printed (surrounding blanks and the final newline allowed); anything
    else is refused with what a key line looks like and where to get one."""
    line = text.strip()
    key = None
    if KEY_LINE.match(line):
        with contextlib.suppress(ConfigError):
            key = minisign.parse_public_key(line, where)
    if key is None:
        first = line.splitlines()[0] if line else ""
        raise HubError(
            f"{where} is not a kit's key line ("
            + (repr(first[:60]) + ("…" if len(line) > 60 else "") if first else "it is empty")
            + ").",
            code="hub.invalid",
            cause="A kit's key line is the one line `tpkit report --show-key` prints on the kit: 56 letters, "
            "digits, '+' and '/', starting with RW.",
            fix="Give the kit.pub that `tpkit report --to` wrote beside the kit's reports on the stick "
            "(tpkit-reports/<kit_id>/kit.pub) with --public-key-file, or run `tpkit report --show-key` on the kit "
            "and pass the line it prints with --public-key.",
        )
    return key.line


def read_key_file(path: Path) -> str:
    """The text of a key file (a kit.pub from a stick); HubError saying where to find one when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(4096).decode("utf-8", errors="replace")
    except OSError as exc:
        raise HubError(
            f"The key file {path} cannot be read: {exc.strerror or exc}.",
            code="hub.invalid",
            fix="Give the kit.pub beside the kit's reports on the stick (tpkit-reports/<kit_id>/kit.pub), "
            "or pass the line `tpkit report --show-key` prints on the kit with --public-key.",
        ) from exc


def register_with_key(
    db, kit_id: str, school: str, district: str, location: str, key_text: str, now: float, where: str, replace=False
) -> str:
    """Register `kit_id` as enrolled with the key line `key_text` (or give a registered kit without a key that key);
    what was done: "registered", "key set", "unchanged" (already enrolled with this key) or "key replaced" (only
    with `replace`: a kit whose SD card was replaced; another key is refused otherwise)."""
    enrolment.check_kit_id(kit_id)
    enrolment.check_labels(school, district)
    line = key_line(key_text, where)
    with db.transaction() as tx:
        if stored_kits.add_enrolled(tx, kit_id, school, district, location, now, line):
            return "registered"
        current = stored_kits.key_line_in(tx, kit_id)
        if current == line:
            return "unchanged"
        if current and not replace:
            raise HubError(
                f"The kit {kit_id} is registered with another key.",
                code="hub.kit_exists",
                status=409,
                cause="Its SD card was replaced (a new card makes a new key), or this key is another kit's.",
                fix="If the kit's card was replaced, run the same command with --replace-key: its reports signed "
                "with the old key are no longer accepted.",
            )
        stored_kits.set_key(tx, kit_id, school, district, location, line, now)
    return "key replaced" if current else "key set"


@dataclasses.dataclass(frozen=True)
class Unregistered:
    """A kit on the stick that the hub does not know, or knows without a key: its reports were not imported."""

    kit_id: str
    reports: int
    key_file: Path | None  # its kit.pub on the stick (an absolute path: the command works from anywhere), if any
    school: str | None  # the labels the hub has for it, when it is registered
    district: str | None

    def command(self, hub_flags: str = "") -> str:
        """The `tpkit hub kit add` command that registers it with the key on the stick."""
        labels = (
            f"--school {shlex.quote(self.school)} --district {shlex.quote(self.district)}"
            if self.school is not None and self.district is not None
            else "--school SCHOOL --district DISTRICT"
        )
        key = (
            f"--public-key-file {shlex.quote(str(self.key_file))}"
            if self.key_file is not None
            else "--public-key KEY_LINE"
        )
        return f"tpkit hub kit add {self.kit_id} {labels} {key}{hub_flags}"


def import_stick(db, folder: Path, now: float) -> tuple[dict[str, list], list[Unregistered]]:
    """`ingest.import_bundle`, with the reports of kits the hub has no key for taken out of "refused": one
    Unregistered per such kit, with its key file on the stick and its labels if the hub has them."""
    result = ingest.import_bundle(db, folder, now)
    waiting: dict[str, int] = {}
    refused = []
    for path, error in result["refused"]:
        if getattr(error, "code", "") == "hub.unknown_kit" and path.parent.name not in ("", report_file.BUNDLE_FOLDER):
            waiting[path.parent.name] = waiting.get(path.parent.name, 0) + 1
        else:
            refused.append((path, error))
    result["refused"] = refused
    unregistered = []
    for kit_id, count in sorted(waiting.items()):
        key_file = folder.absolute() / report_file.BUNDLE_FOLDER / kit_id / report_file.BUNDLE_KEY_FILE
        known = stored_kits.labels(db, kit_id)
        unregistered.append(
            Unregistered(
                kit_id,
                count,
                key_file if key_file.is_file() else None,
                known["school"] if known else None,
                known["district"] if known else None,
            )
        )
    return result, unregistered
