"""`tpkit channel`, `tpkit sync`, `tpkit content rollback`: signed channels and keeping the library up to date."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from appliance.cli.common import add_setting_flags, mb
from appliance.config import Settings
from appliance.errors import ChannelError


def add_parsers(commands) -> None:
    _add_channel_commands(commands.add_parser("channel", help="make keys, publish and verify signed channels"))
    sync = commands.add_parser(
        "sync",
        help="fetch the subscribed channels and update the library (docs/sync.md)",
        epilog="Exit status: 0 when the run (or plan) succeeded, 1 when it stopped; the message names the fix.",
    )
    add_setting_flags(
        sync,
        (
            "data_dir",
            "content_dir",
            "sync_source",
            "sync_channels",
            "sync_packages",
            "sync_tags",
            "disk_reserve_mb",
            "sync_rate_cap_kbps",
            "sync_rate_cap_percent",
            "sync_windows",
            "sync_month_budget_mb",
            "sync_patch_chain_max",
            "sync_layer_min_bytes",
            "sync_layers_max",
            "sync_yield_kbps",
            "sync_yield_pause_s",
            "sync_yield_resume_s",
            "uplink_interface",
            "ap_interface",
            "trusted_channel_keys",
            "log_level",
        ),
    )
    mode = sync.add_mutually_exclusive_group()
    mode.add_argument(
        "--plan",
        action="store_true",
        help="show what a run would add, update and remove, with sizes and the disk check; download nothing",
    )
    mode.add_argument("--history", action="store_true", help="list the last sync runs")
    sync.add_argument(
        "--full",
        action="append",
        default=[],
        metavar="BOOK",
        help="update BOOK by fetching its full "
        "package even when the channel offers patches (repeatable; with or without --plan)",
    )
    content = commands.add_parser("content", help="manage the books sync installed")
    actions = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    rollback = actions.add_parser(
        "rollback", help="put the previous version of BOOK back (kept until the next successful sync after its update)"
    )
    rollback.add_argument("book", help="the book's id (its file name without .zim)")
    add_setting_flags(rollback, ("data_dir", "content_dir"))


def _add_channel_commands(channel: argparse.ArgumentParser) -> None:
    actions = channel.add_subparsers(dest="channel_command", metavar="ACTION", required=True)
    keygen = actions.add_parser("keygen", help="make a minisign key pair: OUT.key (keep it offline) and OUT.pub")
    keygen.add_argument("--out", type=Path, required=True, help="path without extension, e.g. county-2026")
    publish = actions.add_parser("publish", help="index every .zim in DIR and sign the index")
    publish.add_argument("dir", type=Path, help="the channel folder")
    publish.add_argument(
        "--key", type=Path, required=True, help="secret key file (tpkit channel keygen, minisign -G -W)"
    )
    publish.add_argument("--name", required=True, help="channel name, e.g. primary-zh")
    publish.add_argument("--sequence", type=int, help="index sequence (default: the current index's + 1, else 1)")
    publish.add_argument("--expires-days", type=float, default=30, help="days until kits refuse it (default: 30)")
    publish.add_argument(
        "--previous",
        type=Path,
        metavar="PREV_DIR",
        help="folder with the full .zim files published "
        "last time: write a patch for each book whose bytes changed since (docs/channels.md)",
    )
    publish.add_argument(
        "--max-chain",
        type=int,
        default=4,
        metavar="N",
        help="patches kept per book in a row; a kit "
        "further behind fetches the full book (default: 4; 0 publishes no patches)",
    )
    diff = actions.add_parser("diff", help="list the entries added, changed and removed from OLD.zim to NEW.zim")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    apply = actions.add_parser(
        "apply", help="rebuild a book from BASE.zim and patches, checked against the publisher's"
    )
    apply.add_argument("base", type=Path, help="the book the first patch was made for")
    apply.add_argument("patches", type=Path, nargs="+", help=".zimpatch files, oldest first")
    apply.add_argument("--out", type=Path, required=True, help="where to write the rebuilt book (replaced atomically)")
    verify = actions.add_parser(
        "verify", help="check a channel's signature, expiry, paths and files; exit 1 on any fault"
    )
    verify.add_argument("dir", type=Path, help="the channel folder")
    verify.add_argument(
        "--pub",
        action="append",
        help="trusted public key: .pub file or base64 line (repeatable; default: the trusted_channel_keys setting)",
    )
    verify.add_argument("--last-sequence", type=int, help="refuse an index whose sequence is not greater")
    for action in (keygen, publish, verify, diff, apply):
        add_setting_flags(action, ("trusted_channel_keys",) if action is verify else ())


def channel(settings: Settings, args: argparse.Namespace) -> int:
    """Run `tpkit channel keygen|publish|diff|apply|verify`; exit 1 when verification fails."""
    from appliance.services.sync import channel as channels

    if args.channel_command == "keygen":
        public = channels.keygen(args.out)
        print(
            f"[✓] Secret key {args.out}.key (mode 0600: keep it offline), public key {args.out}.pub (id {public.id_hex})"
        )
        print(public.line)
        return 0
    if args.channel_command == "publish":
        index = channels.publish(
            args.dir,
            args.key,
            args.name,
            args.sequence,
            args.expires_days,
            previous_dir=args.previous,
            max_chain=args.max_chain,
        )
        patches = sum(1 for p in index.packages if p.get("kind") == "patch")
        print(
            f"[✓] Channel {index.channel!r} sequence {index.sequence}: {len(index.packages) - patches} book(s) and "
            f"{patches} patch(es), signed, expires {index.expires.isoformat()}"
        )
        return 0
    if args.channel_command == "diff":
        diff = channels.diff(args.old, args.new)
        for sign, keys in (("+", diff.added), ("~", diff.changed), ("-", diff.removed)):
            for namespace, name in keys:
                print(f"{sign} {namespace}/{name}")
        print(f"[i] {len(diff.added)} added, {len(diff.changed)} changed, {len(diff.removed)} removed")
        return 0
    if args.channel_command == "apply":
        rebuilt = channels.rebuild(args.base, args.patches, args.out)
        print(
            f"[✓] Rebuilt {rebuilt.path} ({rebuilt.entry_count} entries): equal entry for entry to the publisher's "
            f"book (digest {rebuilt.digest[:16]}…)"
        )
        return 0
    trusted = channels.trusted_keys(args.pub or settings.trusted_channel_keys)
    if not trusted:
        print("[✗] No trusted key to verify with.\n    Fix: pass --pub KEY.pub or set trusted_channel_keys.")
        return 1
    try:
        index = channels.verify_index(args.dir, trusted, args.last_sequence, check_files=True)
    except ChannelError as exc:
        print(f"[✗] {exc.code}: {exc.message}\n    Likely cause: {exc.cause}\n    Fix: {exc.fix}")
        return 1
    print(
        f"[✓] Channel {index.channel!r} sequence {index.sequence}: signature, expiry "
        f"({index.expires.isoformat()}), paths and {len(index.packages)} package file(s) check out"
    )
    return 0


def _how(step) -> str:
    how = _road(step)
    # the peer kit that served the index carries neither the patches nor the book: the plan's note says so
    return f"{how}, from sync_source (not on the peer)" if step.primary and how else how


def _road(step) -> str:
    if step.by_layer:
        return f"by {len(step.patches)} patch(es), each a layer over the book's file (it has {step.layers})"
    if step.materialises:
        return f"by {len(step.patches)} patch(es), rebuilt with its {step.layers} layers into one file"
    if step.by_patch:
        return f"by {len(step.patches)} patch(es), full book {mb(step.package['size_bytes'])}"
    if step.action == "remove":
        return ""
    return f"full package ({step.why_full})" if step.why_full else "full package"


def _print_policy(status: dict, everything: bool) -> None:
    """The county's configuration: each synced setting and where its value comes from (kit.toml, a flag, or the
    hub's version N), and a refusal that stands. `everything` False: only the refusal (a run's journal)."""
    if everything:
        for field in status["fields"]:
            print(f"[i] {field['name']:<22} = {str(field['value']) or '(empty)':<32} from {field['source']}")
    if status["refused"]:
        kept = (
            f"hub version {status['applied_version']}"
            if status["applied_version"] is not None
            else "this kit's own settings"
        )
        print(
            f"[✗] {status['refused']}\n    In force instead: {kept}. Fix: correct it on the hub; the kit applies "
            "the next version it receives (tpkit report)."
        )


def _print_plan(plan, check) -> None:
    print(f"{'action':<8} {'book':<28} {'channel':<16} {'version':<24} {'download':>10}  how")
    for step in plan.steps:
        version = f"{step.installed_version} → {step.version}" if step.action == "update" else step.version
        print(
            f"{step.action:<8} {step.package_id:<28} {step.channel:<16} {version:<24} {mb(step.size_bytes):>10}  "
            f"{_how(step)}".rstrip()
        )
    if not plan.steps:
        print("(nothing to do: the library matches the channels)")
    for note in plan.notes:  # skipped books, and where a book comes from when not from the road asked
        print(f"[i] {note}")
    print(
        f"[i] {len(plan.unchanged)} book(s) already up to date; {plan.count('add')} to add, {plan.count('update')} to "
        f"update, {plan.count('remove')} to remove; {mb(plan.download_bytes)} to download"
    )
    mark = "[✓]" if check.ok else "[✗]"
    print(
        f"{mark} disk: {mb(check.free_bytes)} free, {mb(check.needed_bytes)} needed, "
        f"{mb(check.reserve_bytes)} kept in reserve (disk_reserve_mb)"
    )


# What the progress display says for each event of the engine (services/sync/events.py)
_WORDS = {
    "index": "fetching the index of",
    "verify": "verifying",
    "rebuild": "rebuilding",
    "layer": "writing the update as layers (no rebuild) of",
    "whole": "the update by patch failed; fetching the full book of",
    "activate": "switched in",
    "failed": "not updated (the run goes on with the next book):",
    "remove": "removed",
    "yield": "people need the uplink: stopping",
    "paused": "stopped (the part downloaded is kept):",
    "resume": "uplink quiet: resuming",
    "cap": "rate cap:",
}


class _ProgressBar:
    """A plain-text progress bar: redrawn in place on a terminal, one line per 10 % step in a log."""

    WIDTH = 30

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.shown: tuple[str, int] = ("", -1)

    def __call__(self, event) -> None:
        if event.kind == "download" and event.total_bytes:
            self._bar(event)
        elif event.kind == "peer":  # peer kits found on the LAN, or one refused (docs/sync.md, "Other roads in")
            self._end_line()
            print(f"[i] {event.text}", flush=True)
        elif event.kind in _WORDS:
            self._end_line()
            print(
                f"[i] {_WORDS[event.kind]} {event.package_id or event.text} {event.text if event.package_id else ''}".rstrip(),
                flush=True,
            )

    def _bar(self, event) -> None:
        percent = min(100, event.done_bytes * 100 // event.total_bytes)
        step = percent if self.tty else percent // 10 * 10
        if (event.package_id, step) == self.shown:
            return
        self.shown = (event.package_id, step)
        filled = self.WIDTH * percent // 100
        line = (
            f"{event.package_id:<20} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}% "
            f"{mb(event.done_bytes)} of {mb(event.total_bytes)} at {event.rate_bps / 1024:.0f} KiB/s"
        )
        print(f"\r{line}" if self.tty else line, end="" if self.tty else "\n", flush=True)

    def _end_line(self) -> None:
        if self.tty and self.shown[1] >= 0:
            print()
        self.shown = ("", -1)


def _print_history(runs) -> None:
    print(f"{'run':>4} {'started':<21} {'outcome':<12} {'why':<24} {'bytes':>10} {'duration':>9} {'rate':>11}  +/~/-")
    for run in runs:
        print(
            f"{run['id']:>4} {run['started_at']:<21} {run['outcome']:<12} {run['reason']:<24} "
            f"{mb(run['bytes_received']):>10} {run['duration_s']:>8.1f}s {run['throughput_bps'] / 1024:>7.0f} KiB/s"
            f"  {run['added']}/{run['updated']}/{run['removed']}"
        )
    if not runs:
        print("(no sync has run on this kit yet)")


def _engine(settings: Settings, **options):
    from appliance.services.kit import open_store
    from appliance.services.sync.engine import Engine

    db = open_store(settings).db
    return Engine(settings, db, **options), db


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def sync(settings: Settings, plan_only: bool, history: bool, full: tuple[str, ...] = ()) -> int:
    """`tpkit sync`: run (with a progress bar), `--plan` (print the plan and disk check) or `--history`;
    `full` names books to fetch whole rather than by patch."""
    from appliance.services.reporting import desired_config

    engine, db = _engine(settings, on_event=_ProgressBar(), full_ids=frozenset(full))
    # systemd stops a unit with SIGTERM: unwind like Ctrl-C so rsync is stopped and the run recorded 'interrupted'.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if history:
            _print_history(engine.runs.recent())
            return 0
        _print_policy(desired_config.status(settings, db), everything=plan_only)
        if plan_only:
            plan, check = engine.preview()
            _print_plan(plan, check)
            return 0 if check.ok else 1
        plan, result = engine.run()
        print(
            f"[✓] Sync done: {result.added} added, {result.updated} updated, {result.removed} removed; "
            f"{mb(result.bytes_received)} received in {result.duration_s:.1f} s"
        )
        if result.detail:
            print(f"[i] {result.detail}")
        for note in plan.notes:
            print(f"[i] {note}")
        return 0
    finally:
        db.close()


def content_rollback(settings: Settings, book: str) -> int:
    """`tpkit content rollback BOOK`: put the previous version back."""
    engine, db = _engine(settings)
    try:
        row = engine.rollback(book)
    finally:
        db.close()
    print(
        f"[✓] {book} is back at version {row.version}; the library serves it within "
        f"{settings.library_scan_interval_s:g} s. Sync will not install the version rolled back from again."
    )
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "channel":
        return channel(settings, args)
    if args.command == "sync":
        return sync(settings, plan_only=args.plan, history=args.history, full=tuple(args.full))
    return content_rollback(settings, args.book)
