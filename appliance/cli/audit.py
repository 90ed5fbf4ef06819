"""`tpkit audit`: the kit's security posture (services/security/), each finding with its level and fix."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from appliance import strict_json
from appliance.cli.common import add_setting_flags
from appliance.config import Settings

MARKS = {"ok": "[✓]", "warning": "[i]", "problem": "[✗]"}


def add_parsers(commands) -> None:
    audit = commands.add_parser(
        "audit",
        help="check the kit's security posture: units' exposure, file modes, roles, sign-in throttles, firewall, Wi-Fi",
        epilog="Exit status: 0 when nothing is a problem (warnings allowed), 1 when something is. Run it with sudo "
        "on a kit to read what only root may (the firewall, the Wi-Fi passphrase). See docs/security.md.",
    )
    audit.add_argument("--json", action="store_true", help="print the findings as JSON (as /admin/security shows)")
    add_setting_flags(audit, ("data_dir", "content_dir"))


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Print every finding (readable, or JSON); exit 1 when one is a problem."""
    from appliance.services.kit import open_kit
    from appliance.services.security import audit
    from appliance.web.i18n import MESSAGES

    with keeping_owner(settings.data_dir):  # given back before the files are checked
        kit = open_kit(settings, with_library=False)
    try:
        result = audit.run(kit)  # as whoever ran it: root may read the firewall and the Wi-Fi passphrase
    finally:
        with keeping_owner(settings.data_dir):
            kit.close()
    if args.json:
        summary = {"kit_id": settings.kit_id, "level": result.level, "problems": result.problems}
        findings = [_as_json(finding, MESSAGES.text) for finding in result.findings]
        print(strict_json.dumps({**summary, "findings": findings}, ensure_ascii=False, indent=2))
        return 1 if result.problems else 0
    print(
        f"tpkit audit — security posture of kit {settings.kit_id} ({settings.school_name}), data in {kit.paths.data_dir}"
    )
    for finding in result.findings:
        print(f"{MARKS[finding.level]} {finding.topic}: {MESSAGES.text('en', finding.key, **finding.values)}")
        for row in finding.rows:
            print("      " + "  ".join(row))
        if finding.level != "ok":
            print(f"    Fix: {MESSAGES.text('en', finding.key + '.fix', **finding.values)}")
    warnings = sum(1 for finding in result.findings if finding.level == "warning")
    if result.problems:
        print(f"[✗] {result.problems} problem(s), {warnings} warning(s); each fix is printed under it.")
        return 1
    print(f"[✓] No problem found ({warnings} warning(s)).")
    return 0


def _as_json(finding, text) -> dict:
    """A finding as `--json` prints it: its English sentence and fix beside the key and values they come from."""
    return {
        "topic": finding.topic,
        "level": finding.level,
        "key": finding.key,
        "message": text("en", finding.key, **finding.values),
        "fix": text("en", f"{finding.key}.fix", **finding.values),
        "values": dict(finding.values),
        "rows": [list(row) for row in finding.rows],
    }


@contextlib.contextmanager
def keeping_owner(folder: Path) -> Iterator[None]:
    """Under `sudo`, give what the block made in the data folder to the folder's owner (tpkit on a kit): a database
    or a folder the kit makes on start, left to root, could not be written by the web server, which runs as tpkit.
    Unchanged when not root, or when the folder is root's or not there yet."""
    try:
        owner = folder.stat()
    except OSError:
        owner = None
    if os.geteuid() != 0 or owner is None or owner.st_uid == 0:
        yield
        return
    before = set(_entries(folder))
    try:
        yield
    finally:
        for path in set(_entries(folder)) - before:
            with contextlib.suppress(FileNotFoundError):  # a database's -wal, gone when the kit closed it
                os.lchown(path, owner.st_uid, owner.st_gid)


def _entries(folder: Path) -> Iterator[str]:
    for parent, names, files in os.walk(folder):
        for name in names + files:
            yield os.path.join(parent, name)
