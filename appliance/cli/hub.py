"""`tpkit hub …`: the county hub (serve, register kits, import sticks, forward records, technicians).

Builds the hub's own settings (hub/settings.py: hub.toml, TPKIT_HUB_*, flags), never the kit's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from appliance import __version__, strict_json
from appliance.cli import county_lessons
from appliance.cli.common import require_free_port, run_server
from appliance.hub import alert_rules
from appliance.hub.settings import HUB_SPEC, HubSettings, load_hub_settings


def add_parsers(commands) -> None:
    _add_hub_commands(commands.add_parser("hub", help="the county hub: serve, register kits, import USB reports"))


HUB_SETTINGS = ("hub_data_dir", "hub_database_url", "log_level")


def add_setting_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """--config and a flag for each named hub setting (as cli.common does for the kit's)."""
    parser.add_argument(
        "--config",
        type=Path,
        help="the hub's TOML settings file (default: $TPKIT_CONFIG, else none; "
        "the hub's units set /etc/tpkit/hub.toml)",
    )
    for setting in HUB_SPEC:
        if setting.name in names:
            parser.add_argument(f"--{setting.name.replace('_', '-')}", dest=setting.name, help=setting.help)


def settings_from(args: argparse.Namespace) -> HubSettings:
    overrides = {s.name: getattr(args, s.name, None) for s in HUB_SPEC}
    settings = load_hub_settings(args.config, overrides=overrides)
    for warning in settings.warnings:
        print(f"[i] {warning}", file=sys.stderr)
    return settings


def _add_hub_commands(hub: argparse.ArgumentParser) -> None:
    actions = hub.add_subparsers(dest="hub_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="run the hub: kits' API, /metrics and the technicians' dashboard")
    add_setting_flags(
        serve, HUB_SETTINGS + ("hub_host", "hub_port", "hub_workers", "hub_threads", "hub_database_pool_size")
    )
    kit = actions.add_parser("kit", help="register kits and set their desired configuration")
    kit_actions = kit.add_subparsers(dest="kit_command", metavar="KIT_ACTION", required=True)
    add = kit_actions.add_parser("add", help="register a kit and print its one-time enrolment token")
    add.add_argument("kit_id", help="the kit's id (its kit_id setting), e.g. gs-0042")
    add.add_argument("--school", required=True, help="school name, as the dashboard shows it")
    add.add_argument("--district", required=True, help="district, for filters and metrics labels")
    add.add_argument("--location", default="", help="where the kit is (free text)")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--new-token", action="store_true", help="issue a new token for a registered kit (re-enrolment)")
    how.add_argument(
        "--public-key",
        metavar="LINE",
        help="register the kit already enrolled with this key (no token): the line `tpkit report --show-key` "
        "prints on the kit; for a kit that never gets online",
    )
    how.add_argument(
        "--public-key-file",
        type=Path,
        metavar="FILE",
        help="the same from a file: the kit.pub that `tpkit report --to` writes beside the kit's reports "
        "(tpkit-reports/<kit_id>/kit.pub on the stick)",
    )
    add.add_argument(
        "--replace-key",
        action="store_true",
        help="with --public-key(-file): replace the key of a kit registered with another one (its SD card was "
        "replaced)",
    )
    many = kit_actions.add_parser(
        "add-many",
        help="register every kit of the county's schools CSV and write the provisioning CSV with their tokens",
        description="Reads SCHOOLS.csv (UTF-8, with or without a byte-order mark; the columns of `tpkit provision "
        "--csv` plus district and location; kit_id, school_name and district required), checks every row "
        "(nothing is stored if any is bad), registers every kit in one transaction and writes OUT.csv: the same "
        "rows with enrolment_token filled in, for `tpkit provision --csv OUT.csv` (docs/provisioning.md).",
    )
    many.add_argument("schools_csv", type=Path, metavar="SCHOOLS.csv", help="the county's schools sheet")
    many.add_argument(
        "--provisioning-csv",
        type=Path,
        required=True,
        metavar="OUT.csv",
        help="where to write the sheet with the tokens (mode 600: it holds secrets)",
    )
    many.add_argument(
        "--new-tokens",
        action="store_true",
        help="give kits that are registered already a new token (the old one stops working) instead of refusing",
    )
    config = kit_actions.add_parser("config", help="set a kit's desired configuration (a new version each time)")
    config.add_argument("kit_id")
    config.add_argument("--sync-channels", help="comma-separated channel names, e.g. primary-zh")
    config.add_argument("--sync-windows", help='e.g. "Mon-Fri 16:00-07:00, Sat-Sun"')
    config.add_argument(
        "--sync-rate-cap-kbps",
        type=int,
        help="the kit's sync rate cap in KiB/s (its sync_rate_cap_kbps, rsync --bwlimit)",
    )
    config.add_argument(
        "--sync-rate-cap-percent",
        type=int,
        help="upper bound on the kit's sync rate as a share "
        "(0-100) of its measured uplink; with --sync-rate-cap-kbps the lower wins",
    )
    config.add_argument(
        "--sync-month-budget-mb", type=int, help="MiB the kit may sync per calendar month (its sync_month_budget_mb)"
    )
    listing = kit_actions.add_parser("list", help="list registered kits with status and alerts")
    imports = actions.add_parser(
        "import",
        help="ingest the reports on a USB stick (tpkit report --to)",
        epilog="Exit status: 0 when no report was refused, 1 otherwise.",
    )
    imports.add_argument("path", type=Path, help="the folder that contains tpkit-reports/")
    technician = actions.add_parser(
        "technician", help="add a technician or a reviewer of shared lessons (or set a password)"
    )
    technician.add_argument(
        "words", nargs="+", metavar="[add] USERNAME", help="the account's user name (`add` may come before it)"
    )
    technician.add_argument(
        "--role",
        choices=("technician", "reviewer"),
        help="technician (the fleet; a new account's default) or reviewer (教研员: reviews the lessons teachers "
        "share, and sees nothing else); default: unchanged for an existing account",
    )
    forward = actions.add_parser(
        "forward",
        help="send queued learning records to the xAPI LRS (hub_lrs_url)",
        epilog="Exit status: 0 when nothing due is left, 1 when the LRS failed or refused.",
    )
    forward.add_argument("--status", action="store_true", help="only count what is queued, forwarded and failing")
    prune = actions.add_parser(
        "prune",
        help="fold reports older than hub_keep_reports_days into daily rows and "
        "delete them; delete daily rows older than hub_keep_daily_days (run daily by a timer)",
        description="Deletes in batches of short transactions, so the hub keeps accepting "
        "reports meanwhile; on PostgreSQL it first creates the days ahead and drops each whole old day "
        "(docs/hub.md, Retention). Alert reports, kits and enrolment are never pruned.",
    )
    add_setting_flags(prune, HUB_SETTINGS + ("hub_keep_reports_days", "hub_keep_daily_days", "hub_keep_forwarded_days"))
    notify = actions.add_parser(
        "notify",
        help="one alert sweep: open, raise and close alert episodes, then send what opened and what was resolved "
        "by webhook and e-mail (run every minute by a timer)",
        description="Reads the kits that are not ok now, keeps each alert as an episode (alert_states) and tells the "
        "county's group robot (hub_notify_webhook_url) and mailbox (hub_notify_smtp) what opened and what was "
        "resolved since the last sweep; what a channel could not send is sent at the next sweep.",
        epilog="Exit status: 0 when every channel sent what it had, 1 when one failed (it is retried next time).",
    )
    add_setting_flags(
        notify,
        HUB_SETTINGS
        + (
            "hub_silent_after_h",
            "hub_old_content_days",
            "hub_time_zone",
            "hub_notify_webhook_url",
            "hub_notify_language",
            "hub_notify_smtp",
            "hub_notify_mail_from",
            "hub_notify_mail_to",
        ),
    )
    rules = actions.add_parser(
        "alert-rules",
        help="print Prometheus alerting rules for the kits' alerts, with this hub's thresholds",
        description="The rules read /metrics and fire for the same kits as the dashboard's alerts "
        "(hub_silent_after_h, hub_old_content_days); save them where Prometheus' rule_files point, "
        "e.g. tpkit hub alert-rules > /etc/prometheus/tpkit-hub.rules.yml",
    )
    add_setting_flags(rules, ("hub_silent_after_h", "hub_old_content_days", "log_level"))
    certs = actions.add_parser(
        "certs",
        help="the kits' HTTPS certificates: list them, write pending requests, import issued chains",
        description="Kits send a certificate request for <kit_id>.<tls_domain> in their reports; --pending writes "
        "them for the county's ACME client (DNS-01), --import keeps the chains it issued, and each kit gets its own "
        "in its next report's reply (docs/provisioning.md).",
        epilog="Exit status: 0 when every file was imported, 1 otherwise.",
    )
    certs.add_argument("--pending", type=Path, metavar="DIR", help="write each pending request to DIR/<kit_id>.csr")
    certs.add_argument(
        "--import", dest="chains", type=Path, nargs="+", metavar="PEM", help="import issued chains (fullchain .pem)"
    )
    county_lessons.add_parser(actions, lambda parser: add_setting_flags(parser, HUB_SETTINGS))
    for action in (config, listing, imports, technician, certs):
        add_setting_flags(action, HUB_SETTINGS)
    for action in (add, many):
        add_setting_flags(action, HUB_SETTINGS + ("hub_token_lifetime_h",))
    add_setting_flags(forward, HUB_SETTINGS + ("hub_lrs_url", "hub_lrs_auth"))


def _open_hub(settings: HubSettings):
    from appliance.hub import ingest
    from appliance.hub.storage.backend import open_database
    from appliance.hub.storage.database import migrate

    db = open_database(settings)
    migrate(db)
    ingest.refresh_latest(db)
    return db


def hub_serve(settings: HubSettings) -> int:
    """Migrate the hub's database, print the first technician's password once, and serve until SIGTERM/SIGINT."""
    import time

    from appliance.hub import technicians
    from appliance.hub.app import create_app

    require_free_port(settings.hub_host, settings.hub_port, "--hub-port")  # before a one-time password is printed
    db = _open_hub(settings)
    password = technicians.ensure_first(db, time.time())
    where = "PostgreSQL" if settings.hub_database_url else f"SQLite {settings.hub_data_dir / 'hub.sqlite3'}"
    url = f"http://{settings.hub_host}:{settings.hub_port}/"
    print(f"[✓] tpkit hub {__version__} serving on {url} ({where}, {settings.hub_workers} worker(s))", flush=True)
    if password:
        print(f"[i] One-time technician password (user '{technicians.FIRST_USERNAME}'): {password}")
        print(f"    It is shown only now; sign in at {url}signin and choose your own.", flush=True)
    return run_server(
        settings,
        host=settings.hub_host,
        port=settings.hub_port,
        workers=settings.hub_workers,
        make_app=lambda: create_app(settings, db),
        factory="appliance.hub.asgi:app_from_environment",
        close=db.close,
    )


def hub_kit(settings: HubSettings, args: argparse.Namespace) -> int:
    """`tpkit hub kit add|add-many|config|list`."""
    import time

    from appliance.hub import configs, enrolment, fleet

    db = _open_hub(settings)
    try:
        if args.kit_command == "add-many":
            return _add_many(db, settings, args)
        if args.kit_command == "add" and (args.public_key is not None or args.public_key_file is not None):
            return _add_with_key(db, args)
        if args.kit_command == "add":
            if args.replace_key:
                print("[✗] --replace-key goes with --public-key or --public-key-file.\n    Fix: add one of them.")
                return 1
            token = enrolment.register(
                db,
                args.kit_id,
                args.school,
                args.district,
                args.location,
                time.time(),
                settings.hub_token_lifetime_h,
                new_token=args.new_token,
            )
            print(
                f"[✓] Kit {args.kit_id} registered ({args.school}, {args.district}). One-time enrolment token "
                f"(valid {settings.hub_token_lifetime_h:g} h, shown only now):"
            )
            print(token)
            return 0
        if args.kit_command == "config":
            changes = {
                "sync_windows": args.sync_windows,
                "sync_rate_cap_kbps": args.sync_rate_cap_kbps,
                "sync_rate_cap_percent": args.sync_rate_cap_percent,
                "sync_month_budget_mb": args.sync_month_budget_mb,
                "sync_channels": None
                if args.sync_channels is None
                else [c.strip() for c in args.sync_channels.split(",") if c.strip()],
            }
            config = configs.set_config(
                db, args.kit_id, {k: v for k, v in changes.items() if v is not None}, time.time(), "cli"
            )
            print(
                f"[✓] Kit {args.kit_id}: desired configuration version {config['version']}: "
                + strict_json.dumps({k: v for k, v in config.items() if k != "version"}, ensure_ascii=False)
            )
            return 0
        for kit in fleet.kits(
            db,
            time.time(),
            settings.hub_silent_after_h,
            sort="kit_id",
            old_content_days=settings.hub_old_content_days,
        ):
            print(
                f"{kit.kit_id:<20} {kit.status:<8} {kit.school} / {kit.district}  last heard "
                f"{kit.last_seen or 'never'}  {', '.join(a.code for a in kit.alerts)}"
            )
        return 0
    finally:
        db.close()


def _add_with_key(db, args: argparse.Namespace) -> int:
    """`tpkit hub kit add KIT --public-key LINE | --public-key-file FILE [--replace-key]`."""
    import time

    from appliance.hub import offline_kits

    if args.public_key_file is not None:
        text, where = offline_kits.read_key_file(args.public_key_file), str(args.public_key_file)
    else:
        text, where = args.public_key, "The --public-key value"
    done = offline_kits.register_with_key(
        db, args.kit_id, args.school, args.district, args.location, text, time.time(), where, replace=args.replace_key
    )
    said = {
        "registered": f"registered ({args.school}, {args.district}) and enrolled with its key",
        "key set": f"enrolled with its key ({args.school}, {args.district})",
        "unchanged": "is enrolled with this key already; nothing changed",
        "key replaced": f"now enrolled with the new key ({args.school}, {args.district}); reports signed with the "
        "old key are no longer accepted",
    }[done]
    print(f"[✓] Kit {args.kit_id} {said}. Import its stick: tpkit hub import <stick folder>")
    return 0


def _add_many(db, settings: HubSettings, args: argparse.Namespace) -> int:
    """`tpkit hub kit add-many SCHOOLS.csv --provisioning-csv OUT.csv [--new-tokens]`."""
    import datetime as dt
    import time

    from appliance.hub import bulk_registration

    started, now = time.monotonic(), time.time()
    expires = dt.datetime.fromtimestamp(now + settings.hub_token_lifetime_h * 3600, dt.timezone.utc)
    done = bulk_registration.add_many(
        db,
        args.schools_csv,
        args.provisioning_csv,
        now,
        settings.hub_token_lifetime_h,
        new_tokens=args.new_tokens,
    )
    print(
        f"[✓] {done.registered} kit(s) registered"
        + (f", {done.renewed} given a new token" if done.renewed else "")
        + f" in {time.monotonic() - started:.2f} s. Their tokens are in {args.provisioning_csv}, valid "
        f"{settings.hub_token_lifetime_h:g} h (until {expires:%Y-%m-%d %H:%M} UTC): a kit must first reach the "
        "hub before then (else: --new-tokens; a kit that never gets online is registered from its stick).\n"
        f"    Next: tpkit provision --csv {args.provisioning_csv} --out <folder> (the sheet holds secrets: delete "
        "it once the cards are written)."
    )
    return 0


def hub_prune(settings: HubSettings) -> int:
    """`tpkit hub prune`: apply the retention settings once."""
    import time

    from appliance.hub import lrs_forwarding, retention

    db = _open_hub(settings)
    try:
        done = retention.prune(db, time.time(), settings.hub_keep_reports_days, settings.hub_keep_daily_days)
        forwarded = lrs_forwarding.prune_forwarded(db, time.time(), settings.hub_keep_forwarded_days)
    finally:
        db.close()
    keep = (
        f"older than {settings.hub_keep_reports_days} days"
        if settings.hub_keep_reports_days
        else "none (hub_keep_reports_days = 0 keeps them)"
    )
    print(
        f"[✓] Pruned {done.reports} report(s) {keep}, folded into {done.days_folded} kit-day row(s); deleted "
        f"{done.days_deleted} kit-day row(s)"
        + (f" older than {settings.hub_keep_daily_days} days" if settings.hub_keep_daily_days else "")
        + f" ({done.batches} batch(es)"
        + (f", {done.partitions} whole day(s) dropped" if done.partitions else "")
        + "). Alerts and enrolment are kept."
    )
    print(lrs_forwarding.pruned_line(forwarded, settings.hub_keep_forwarded_days))
    return 0


def hub_import(settings: HubSettings, args: argparse.Namespace) -> int:
    """Ingest a USB stick's reports; print each refusal with its fix, and for each kit the hub has no key for, the
    command that registers it with the key on the stick; exit 1 when any was refused or not imported."""
    import shlex
    import time

    from appliance.hub import offline_kits

    db = _open_hub(settings)
    try:
        result, unregistered = offline_kits.import_stick(db, args.path, time.time())
    finally:
        db.close()
    for report_path, error in result["refused"]:
        print(f"[✗] {report_path}: {error.code}: {error.message}\n    Fix: {error.fix}")
    # The printed command must reach the same hub: the flags that chose it (never the database URL: a password)
    same_hub = "".join(
        f" --{name.replace('_', '-')} {shlex.quote(str(Path(getattr(args, name)).absolute()))}"
        for name in ("config", "hub_data_dir")
        if getattr(args, name, None)
    )
    for kit in unregistered:
        print(
            f"[✗] Kit {kit.kit_id} is not "
            + ("enrolled (the hub has no key for it)" if kit.school is not None else "registered on this hub")
            + f": its {kit.reports} report(s) were not imported.\n"
            + (
                f"    Its key is on the stick: {kit.key_file}"
                if kit.key_file is not None
                else "    The stick has no kit.pub for it (an older tpkit wrote the stick): run "
                "`tpkit report --show-key` on the kit for its key line"
            )
            + ("" if kit.school is not None else "; put the kit's school and district in place of SCHOOL and DISTRICT")
            + f".\n    Fix: {kit.command(same_hub)}\n    then import again: tpkit hub import "
            f"{shlex.quote(str(args.path.absolute()))}{same_hub}"
        )
    waiting = sum(kit.reports for kit in unregistered)
    print(
        f"[{'✓' if not result['refused'] and not waiting else '✗'}] {len(result['accepted'])} accepted, "
        f"{len(result['duplicate'])} already stored, {len(result['refused'])} refused"
        + (f", {waiting} not imported (their kit has no key on this hub)" if waiting else "")
    )
    return 1 if result["refused"] or waiting else 0


def hub_forward(settings: HubSettings, only_status: bool) -> int:
    """Forward due learning records to the LRS, or count them; exit 1 when the LRS failed or refused any."""
    import time

    from appliance.hub import lrs_forwarding

    db = _open_hub(settings)
    try:
        if not only_status and settings.hub_lrs_url:
            done = lrs_forwarding.forward(db, settings.hub_lrs_url, time.time(), auth=settings.hub_lrs_auth)
        counts = lrs_forwarding.status(db)
    finally:
        db.close()
    if only_status or not settings.hub_lrs_url:
        print(
            f"[i] learning records: {counts['queued']} queued, {counts['forwarded']} forwarded, "
            f"{counts['waiting']} waiting ({counts['failing']} after an error)"
        )
        if not settings.hub_lrs_url and not only_status:
            print(
                "[i] hub_lrs_url is not set: records are kept on the hub.\n    Fix: set hub_lrs_url (docs/settings.md)."
            )
        return 0
    print(
        f"[{'✓' if not done.error else '✗'}] {done.forwarded} forwarded, {done.conflicts} conflicting, "
        f"{done.parked} refused, {done.backed_off} to retry later; {counts['waiting']} still waiting"
    )
    if done.error:
        print(
            f"    Last error: {done.error}\n    Fix: check hub_lrs_url and hub_lrs_auth, and that the LRS is up; "
            'refused batches are kept (see docs/hub.md, "xAPI").'
        )
        return 1
    return 0


def hub_notify(settings: HubSettings) -> int:
    """`tpkit hub notify`: one sweep and its messages; exit 1 when a channel failed (it is retried next time)."""
    import time

    from appliance.hub import notify

    db = _open_hub(settings)
    try:
        swept, sent = notify.run(db, settings, time.time())
    finally:
        db.close()
    print(f"[✓] Alerts: {swept.opened} opened, {swept.raised} worse, {swept.closed} resolved.")
    if not sent:
        print(
            "[i] No channel is set: nobody is told.\n    Fix: set hub_notify_webhook_url or hub_notify_smtp and "
            'hub_notify_mail_to (docs/hub.md, "Alerts that tell people").'
        )
    for channel in sent:
        if channel.busy:
            print(f"[i] {channel.channel}: another tpkit hub notify is sending (another hub machine?): left to it.")
        elif channel.error:
            print(
                f"[✗] {channel.channel}: not sent, retried at the next sweep: {channel.error}\n    Fix: "
                + (
                    "check hub_notify_webhook_url (the robot's URL with its key) and that the hub reaches it."
                    if channel.channel == "webhook"
                    else "check hub_notify_smtp, hub_notify_smtp_user and hub_notify_smtp_password, and that the "
                    "relay is up."
                )
            )
        else:
            print(f"[✓] {channel.channel}: {channel.openings} new and {channel.resolutions} resolved alert(s) sent.")
    return 1 if any(channel.error for channel in sent) else 0


def hub_certs(settings: HubSettings, args: argparse.Namespace) -> int:
    """List the kits' certificates, write pending requests (--pending), import issued chains (--import)."""
    import time

    from appliance.errors import CertificateError
    from appliance.hub import certificates
    from appliance.hub.storage import certificates as stored

    failed = 0
    db = _open_hub(settings)
    try:
        for path in args.chains or ():
            try:
                kit_id, chain = certificates.import_chain(db, path.read_bytes(), time.time())
            except (OSError, CertificateError) as exc:
                failed += 1
                fix = exc.fix if isinstance(exc, CertificateError) else "Give the path of a readable .pem file."
                print(f"[✗] {path}: {getattr(exc, 'message', exc)}\n    Fix: {fix}")
                continue
            print(
                f"[✓] {path}: kit {kit_id} ({', '.join(chain.names)}, until {chain.not_after:%Y-%m-%d}), sent in its next reply"
            )
        if args.pending:
            written = certificates.write_pending(db, args.pending)
            for kit_id, name, path in written:
                print(f"[i] {path}: {name} (kit {kit_id})")
            print(f"[✓] {len(written)} pending request(s) written to {args.pending}")
        if not args.pending and not args.chains:
            for row in stored.listing(db):
                state = f"issued until {row['not_after']}" if row["chain"] else "pending"
                print(f"{row['kit_id']}\t{row['name']}\t{state}")
    finally:
        db.close()
    return 1 if failed else 0


def hub_technician(settings: HubSettings, username: str, role: str | None) -> int:
    """Add a technician or a reviewer with a password typed twice (or set an existing one's password and role)."""
    import getpass
    import time

    from appliance.hub import technicians

    password = getpass.getpass("New password (at least 10 characters): ")
    if len(password) < 10 or password != getpass.getpass("Again: "):
        print("[✗] The passwords differ or are shorter than 10 characters.\n    Fix: run the command again.")
        return 1
    db = _open_hub(settings)
    try:
        technicians.add(db, username, password, time.time(), role)
    finally:
        db.close()
    print(f"[✓] {'Reviewer' if role == 'reviewer' else 'Account'} {username} can sign in.")
    return 0


def run(args: argparse.Namespace) -> int:
    """Build the hub's settings from the arguments and run the command (cli.main shows a TpkitError's fix)."""
    settings = settings_from(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return _run(settings, args)


def _run(settings: HubSettings, args: argparse.Namespace) -> int:
    if args.hub_command == "serve":
        return hub_serve(settings)
    if args.hub_command == "kit":
        return hub_kit(settings, args)
    if args.hub_command == "import":
        return hub_import(settings, args)
    if args.hub_command == "forward":
        return hub_forward(settings, args.status)
    if args.hub_command == "prune":
        return hub_prune(settings)
    if args.hub_command == "notify":
        return hub_notify(settings)
    if args.hub_command == "certs":
        return hub_certs(settings, args)
    if args.hub_command == "lessons":
        return county_lessons.run(settings, args, _open_hub)
    if args.hub_command == "alert-rules":
        sys.stdout.write(alert_rules.render(settings.hub_silent_after_h, settings.hub_old_content_days))
        return 0
    words = args.words[1:] if args.words[0] == "add" and len(args.words) == 2 else args.words
    return hub_technician(settings, " ".join(words), args.role)
