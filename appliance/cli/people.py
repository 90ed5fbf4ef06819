"""`tpkit people import|add-teacher|reset-password`: classes and staff accounts from the kit's console, also while
the web service runs (SQLite in WAL mode: the command's write waits its turn behind the server's).

`reset-password` is the way back in when the administrator's password is lost (docs/field-guide.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.common import add_setting_flags
from appliance.config import Settings

AS_KIT_USER = (
    "On a kit, run it as the web service's user: sudo -u tpkit TPKIT_CONFIG=/etc/tpkit/kit.toml tpkit people ..."
)


def add_parsers(commands) -> None:
    people = commands.add_parser(
        "people", help="import classes, add a teacher, reset a lost password (docs/learning-space.md)"
    )
    actions = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    importer = actions.add_parser(
        "import",
        help="import a class CSV (with --class) or a OneRoster 1.1 set (a folder or .zip)",
        epilog="A class CSV has a header line with `name` and optionally `student_number` and `pin`; PINs not in "
        "the file are made and printed once. Nothing is imported when any line is wrong. Exit 1 then.",
    )
    importer.add_argument("source", type=Path, metavar="FILE_OR_DIR", help="class .csv, or OneRoster folder or .zip")
    importer.add_argument("--class", dest="class_name", help="class to import a .csv into (created if missing)")
    importer.add_argument("--teacher", default="", help="user name of the class's teacher (with --class)")
    add_setting_flags(importer, ("data_dir", "pin_digits"))
    teacher = actions.add_parser(
        "add-teacher",
        help="add a teacher and print a one-time password (changed at the first sign-in)",
        epilog="User names are 2 to 32 letters (Chinese characters too), digits, dots, dashes or underscores, "
        f"kept in lower case. Exit 1 when the name is taken or not allowed. {AS_KIT_USER}",
    )
    teacher.add_argument("username", metavar="NAME", help="the user name the teacher signs in with, e.g. li.wei")
    teacher.add_argument(
        "--display-name", metavar="TEXT", help="the name pages show, e.g. 李老师 (default: the user name)"
    )
    add_setting_flags(teacher, ("data_dir",))
    reset = actions.add_parser(
        "reset-password",
        help="print a new one-time password for a teacher or the administrator (a lost password)",
        epilog="The old password stops working at once and every session of the account ends; the new one must be "
        "changed at the next sign-in. Works while tpkit-web runs; nothing else in the database changes. "
        f"Exit 1 when no teacher or administrator has that user name. {AS_KIT_USER}",
    )
    reset.add_argument("username", metavar="NAME", help="the account's user name, e.g. admin")
    add_setting_flags(reset, ("data_dir",))


def add_teacher(settings: Settings, username: str, display_name: str | None) -> int:
    """Add a teacher with a one-time password and print it once."""
    from appliance.services.kit import open_kit
    from appliance.services.people import access, auth

    kit = open_kit(settings, with_library=False)
    try:
        password = auth.one_time_password()
        name = access.check_username(username)
        access.create_teacher(kit.people, access.CONSOLE, display_name or username, name, password)
    finally:
        kit.close()
    print(
        f"[✓] Teacher {name!r} added."
        + (f" (typed {username!r}: user names are kept in lower case)" if name != username.strip() else "")
    )
    _print_one_time(name, password)
    return 0


def reset_password(settings: Settings, username: str) -> int:
    """Give a teacher or administrator a new one-time password and print it once."""
    from appliance.services.kit import open_kit
    from appliance.services.people import auth

    kit = open_kit(settings, with_library=False)
    try:
        password = auth.reset_at_console(kit.accounts, kit.signin_failures, username)
        account = kit.accounts.by_username(auth.normal_username(username))
    finally:
        kit.close()
    assert account is not None  # reset_at_console found it
    print(f"[✓] New one-time password for {account['role']} {account['username']!r}; the old one no longer works.")
    _print_one_time(account["username"], password)
    return 0


def _print_one_time(username: str, password: str) -> None:
    print(f"[i] One-time password (user {username!r}): {password}")
    print("    It is shown only now. Sign in at http://<the kit>/admin/signin and choose your own password.")


def people_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a class CSV or a OneRoster set as the console operator; print the PIN sheet once."""
    from appliance.services.kit import open_kit
    from appliance.services.people import class_roster, oneroster
    from appliance.services.people.access import CONSOLE
    from appliance.services.people.roster_reading import read_set

    kit = open_kit(settings)
    try:
        if args.class_name:
            result = class_roster.import_file(
                kit.people,
                CONSOLE,
                args.source.read_bytes(),
                args.source.name,
                args.class_name,
                args.teacher,
                settings.pin_digits,
            )
        elif args.source.suffix.lower() in (".csv", ".xlsx", ".xls"):
            print("[✗] A class list needs --class NAME.\n    Fix: tpkit people import FILE.csv --class 'Grade 3 A'")
            return 1
        else:
            result = oneroster.import_set(kit.people, CONSOLE, read_set(args.source, oneroster.FILES))
    finally:
        kit.close()
    if args.class_name:
        print(f"[✓] Class {result.class_name!r}: {result.added} student(s) added, {result.updated} updated")
        if result.ignored:
            print("[i] Columns not imported (not kept): " + ", ".join(result.ignored))
        if result.pins:
            print("[i] PINs (shown only now; hand each child their own):")
            for name, number, pin in result.pins:
                print(f"    {pin}  {name}" + (f"  ({number})" if number else ""))
    else:
        print("[✓] OneRoster set imported: " + ", ".join(f"{count} {what}" for what, count in result.counts.items()))
        print("    Students have no PIN yet: each teacher gives PINs on their class page (/teach).")
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.people_command == "add-teacher":
        return add_teacher(settings, args.username, args.display_name)
    if args.people_command == "reset-password":
        return reset_password(settings, args.username)
    return people_import(settings, args)
