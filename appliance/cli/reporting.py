"""`tpkit report`: one reporting cycle, the kit's key, the outbox's status, reports onto a stick."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance import strict_json
from appliance.cli.common import add_setting_flags, print_error
from appliance.config import Settings


def add_parsers(commands) -> None:
    report = commands.add_parser(
        "report",
        help="queue a signed heartbeat and deliver the outbox to the county hub (one cycle)",
        description="One reporting cycle: health snapshot, heartbeat and alerts into the outbox, old heartbeats "
        'folded into daily summaries, then delivery to hub_url (docs/health.md, "Reporting").',
        epilog="Exit status: 0 when everything deliverable was delivered (or there was nothing to send, or no "
        "hub_url), 1 when delivery failed, waits for its back-off, or the hub parked a report.",
    )
    add_setting_flags(report, ("data_dir", "content_dir", "host", "port", "ap_interface", "hub_url", "hub_enrol_token"))
    what = report.add_mutually_exclusive_group()
    what.add_argument(
        "--show-key",
        action="store_true",
        help="print the kit's public key line (what a technician registers at the hub) and exit",
    )
    what.add_argument(
        "--status",
        action="store_true",
        help="print the outbox (reports per kind, parked ones and why), back-off, enrolment and the "
        "hub's desired configuration; send nothing",
    )
    what.add_argument(
        "--to",
        type=Path,
        metavar="PATH",
        help="queue a heartbeat, then write every report in the outbox to PATH/tpkit-reports/ (a USB "
        "stick) for `tpkit hub import`; they stay queued until the hub acknowledges them over HTTP",
    )
    report.add_argument("--json", action="store_true", help="with --status: print it as JSON")
    report.add_argument("--retry-now", action="store_true", help="ignore the back-off and try the hub now")
    report.add_argument(
        "--retry-parked",
        action="store_true",
        help="make reports the hub refused deliverable again (after an upgrade), then run the cycle",
    )


def report(settings: Settings, args: argparse.Namespace) -> int:
    """Run `tpkit report` (one cycle, --show-key, --status or --to PATH); exit 1 when delivery failed."""
    from appliance.services.kit import open_kit
    from appliance.services.reporting import cycle as report_cycle, kit_key, stick_reports

    kit = open_kit(settings, with_library=False)  # the snapshot comes from the web server when it runs
    try:
        if args.show_key:
            print(kit_key.ensure(kit.paths).public.line)
            return 0
        if args.status:
            return _report_status(report_cycle.status(kit), args.json)
        if args.to:  # the stick carries the kit's state as of now: a heartbeat first, no delivery
            report_cycle.run(kit, ask_web=True, deliver=False)
            count = stick_reports.export(kit, args.to)
            print(
                f"[✓] {count} report(s) written to {args.to / 'tpkit-reports' / settings.kit_id} and synced to the "
                "stick, with the kit's key (kit.pub).\n    They stay in the outbox until the hub acknowledges them "
                "(safe: the hub stores each report once). At the hub: tpkit hub import <stick folder>; a hub that "
                "does not know this kit yet prints the command that registers it with kit.pub."
            )
            return 0
        if args.retry_parked:
            print(f"[i] {kit.outbox.unpark_all()} parked report(s) made deliverable again")
        return _report_cycle(report_cycle.run(kit, retry_now=args.retry_now, ask_web=True), settings)
    finally:
        kit.close()


def _report_cycle(cycle, settings: Settings) -> int:
    sent = cycle.delivery
    print(
        f"[✓] Queued a heartbeat (status {cycle.status})"
        + (f" and {cycle.alerts} alert(s)" if cycle.alerts else "")
        + (f"; folded {cycle.folded} old heartbeat(s) into daily summaries" if cycle.folded else "")
        + (f"; {cycle.records} learning record(s)" if cycle.records else "")
    )
    if sent.no_hub:
        print(
            "[i] hub_url is not set: reports wait in the outbox.\n    To deliver: set hub_url (and hub_enrol_token) "
            "in /etc/tpkit/kit.toml, or carry them on a stick: tpkit report --to /media/usb"
        )
        return 0
    if sent.delivered:
        print(f"[✓] Delivered {sent.delivered} report(s) to {settings.hub_url}")
    if sent.config is not None and sent.config.refused is not None:
        print_error(sent.config.refused)  # the journal of tpkit-report says why the county's settings are not used
        print(
            "    In force: "
            + (
                f"hub version {sent.config.version}"
                if sent.config.version is not None
                else "this kit's own settings (kit.toml)"
            )
        )
    elif sent.config is not None and sent.config.changed:
        print(
            f"[✓] Applied the county's configuration version {sent.config.version}: in force for the next sync "
            "(tpkit sync --plan shows it)"
            if sent.config.version is not None
            else "[✓] The county set no configuration: this kit's own settings (kit.toml) are in force"
        )
    for sequence, reason in sent.parked:
        print(
            f"[✗] The hub refused report {sequence}: {reason}. It is parked (kept, not retried).\n"
            "    Fix: upgrade tpkit to the hub's version, then run: tpkit report --retry-parked"
        )
    if sent.error is not None:
        print_error(sent.error)
        return 1
    if not sent.parked:
        print("[✓] Nothing left to send." if sent.delivered or sent.enrolled else "[✓] Nothing to send.")
    return 1 if sent.parked else 0


def _report_status(state: dict, as_json: bool) -> int:
    if as_json:
        print(strict_json.dumps(state, ensure_ascii=False, indent=2))
        return 0
    depth = ", ".join(f"{count} {kind}" for kind, count in state["outbox"].items()) or "empty"
    print(f"tpkit report status of {state['kit_id']}")
    print(
        f"[i] hub: {state['hub_url'] or 'not set (hub_url)'}; enrolled: "
        + (f"yes, {state['enrolled_at']}" if state["enrolled"] else "no")
    )
    print(f"[i] outbox: {depth}" + (f" ({state['exported']} written to a stick)" if state["exported"] else ""))
    for parked in state["parked"]:
        print(
            f"[✗] parked {parked['kind']} {parked['sequence']}: {parked['reason']}\n"
            "    Fix: upgrade tpkit to the hub's version, then run: tpkit report --retry-parked"
        )
    if state["last_error"]:
        print(
            f"[✗] last attempt {state['last_attempt_at']}: {state['last_error']} "
            f"({state['failures']} failure(s) in a row)"
        )
    print(f"[i] next attempt: {state['next_attempt_at']}; last delivery: {state['last_delivered_at'] or 'never'}")
    config = state["desired_config"]
    print(
        "[i] desired configuration from the hub: "
        + (
            strict_json.dumps(config, ensure_ascii=False, sort_keys=True)
            + f" (received {state['desired_config_received_at']})"
            if config
            else "none"
        )
    )
    applied = state["config"]
    print(
        "[i] in force: "
        + (
            f"hub version {applied['applied_version']} (applied {applied['applied_at']})"
            if applied["applied_version"] is not None
            else "this kit's own settings (kit.toml)"
        )
    )
    if applied["refused"]:
        print(
            f"[✗] {applied['refused']}\n    Fix: correct it on the hub; the kit applies the next version it receives."
        )
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    return report(settings, args)
