"""`tpkit import`: books from a USB stick. A `tpkit/` folder of channels is synced like a mirror (same checks, same
atomic switch); loose `.zim` files (unsigned) are checked by libzim and wait for approval, unserved
(services/library/approval.py), until a teacher or an administrator enables them into the local channel.

docs/sync.md, "Other roads in". Must not import web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.content import zimfile
from appliance.content.channel_index import INDEX_NAME
from appliance.errors import DamagedBookError, StickError, TpkitError
from appliance.files import CHUNK_BYTES
from appliance.paths import Paths
from appliance.services.library import approval
from appliance.services.sync.engine import Engine, Event
from appliance.services.sync.plan import LOCAL_CHANNEL, MB, Plan
from appliance.services.sync.sources.stick import StickSource
from appliance.services.sync.stick_export import STICK_FOLDER
from appliance.storage.database import Database
from appliance.storage.sync_runs import RunResult


@dataclasses.dataclass(frozen=True)
class LocalBook:
    """What happened to one loose `.zim` on the stick: waiting (for approval), unchanged or refused (with why)."""

    file: str
    outcome: str
    book_id: str = ""  # the id it would be served under once enabled
    message: str = ""
    size_bytes: int = 0  # copied into the waiting folder
    why: str = ""  # a refusal's kind, for pages in every language: link, no_space, damaged, read_failed


@dataclasses.dataclass
class ImportReport:
    """The channel part (plan and run, or the error that stopped it) and each local book."""

    channels: tuple[str, ...] = ()
    skipped_channels: tuple[str, ...] = ()
    plan: Plan | None = None
    result: RunResult | None = None
    error: TpkitError | None = None
    local: list[LocalBook] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and all(book.outcome != "refused" for book in self.local)


def _stick_channels(tree: Path, subscribed: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Channel folders on the stick to sync (the subscribed ones; all when the kit subscribes to none) and the rest."""
    on_stick = sorted(
        p.name for p in tree.iterdir() if p.is_dir() and not p.is_symlink() and (p / INDEX_NAME).is_file()
    )
    chosen = tuple(n for n in on_stick if not subscribed or n in subscribed)
    return chosen, tuple(n for n in on_stick if n not in chosen)


def import_folder(
    settings: Settings,
    db: Database,
    root: Path,
    *,
    on_event: Callable[[Event], None] = lambda e: None,
    clock: Callable[[], dt.datetime] | None = None,
    source: str = "",
) -> ImportReport:
    """Import everything the stick mounted at `root` offers; a StickError when it offers nothing. `source` names
    the stick on the waiting list (its device); the folder when empty."""
    if not root.is_dir():
        raise StickError(
            f"{root} is not a folder.",
            code="stick.not_found",
            fix="Give the folder where the stick is mounted (e.g. /media/usb), or --device /dev/sdX1.",
        )
    tree = root / STICK_FOLDER
    loose = sorted(p for p in root.iterdir() if p.suffix.lower() == ".zim" and (p.is_file() or p.is_symlink()))
    has_tree = tree.is_dir() and not tree.is_symlink()
    if not has_tree and not loose:
        raise StickError(
            f"The stick at {root} has no {STICK_FOLDER}/ folder and no .zim file at its top.",
            code="stick.empty",
            cause="It is not a tpkit stick, or the books are inside a sub-folder.",
            fix=f"Put .zim files at the top of the stick, or a {STICK_FOLDER}/ folder written by "
            "`tpkit export`, and insert it again.",
        )
    options: dict[str, Any] = {"on_event": on_event, **({"clock": clock} if clock else {})}
    report = ImportReport()
    engine = Engine(settings, db, **options)
    if has_tree:
        report.channels, report.skipped_channels = _stick_channels(tree, engine.subscription.channels)
        if report.channels:
            engine = Engine(settings, db, source=StickSource(str(tree)), channels=report.channels, **options)
            try:
                report.plan, report.result = engine.run()
            except TpkitError as exc:
                report.error = exc
    if loose:
        report.local = import_local_books(engine, loose, source=source or str(root))
    return report


def import_local_books(engine: Engine, files: list[Path], source: str) -> list[LocalBook]:
    """Each file checked by libzim and kept, unserved, in the waiting folder for approval, under the sync lock;
    `source` names the stick (device or folder) for the waiting list."""
    engine.paths.ensure()
    results = []
    with engine.locked():
        approval.settle(engine.db, engine.paths)
        run_id = engine.runs.start(engine.clock().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        copied = 0
        for path in files:
            outcome = _import_one(engine, path, source)
            copied += outcome.size_bytes
            results.append(outcome)
        refused = [r for r in results if r.outcome == "refused"]
        waiting = sum(r.outcome == "waiting" for r in results)
        engine.runs.finish(
            run_id,
            engine.clock().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            RunResult(
                "failed" if refused else "ok",
                "stick.book_refused" if refused else "done",
                f"Unsigned books from a USB stick: {copied / MB:.1f} MB copied; {waiting} waiting for approval; "
                f"{len(refused)} refused.",
            ),
        )
    return results


def _copy_hashed(source: Path, target: Path, on_event: Callable[[Event], None], total: int) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
            on_event(Event("download", source.name, size, max(total, size)))  # the CLI's bar, the 内容 page's
        writer.flush()
        os.fsync(writer.fileno())
    return size, digest.hexdigest()


def _import_one(engine: Engine, path: Path, source: str) -> LocalBook:
    if path.is_symlink():
        return LocalBook(
            path.name, "refused", message="it is a link; tpkit imports only files that are on the stick", why="link"
        )
    staged = engine.paths.sync_staging_dir / LOCAL_CHANNEL / f".{path.name}"
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        free = engine.free_bytes()
        size = path.stat().st_size
        if free - size < engine.settings.disk_reserve_mb * MB:
            return LocalBook(
                path.name,
                "refused",
                message=f"it needs {size / MB:.1f} MB and the content disk has "
                f"{free / MB:.1f} MB free with {engine.settings.disk_reserve_mb} MB kept in reserve",
                why="no_space",
            )
        size, sha256 = _copy_hashed(path, staged, engine.on_event, size)
        zimfile.check_whole(staged)
        held = approval.hold(engine, staged, path, sha256, source)
        return LocalBook(path.name, held.outcome, held.book_id, held.message, size if held.outcome == "waiting" else 0)
    except DamagedBookError as exc:
        return LocalBook(
            path.name,
            "refused",
            message=f"libzim's check failed: {exc.message} (not a ZIM, or cut "
            "short when the stick was pulled out or the copy onto it stopped)",
            why="damaged",
        )
    except OSError as exc:
        return LocalBook(
            path.name,
            "refused",
            message=f"reading it failed ({exc.strerror}): was the stick pulled out?",
            why="read_failed",
        )
    finally:
        staged.unlink(missing_ok=True)


def hand_back(paths: Paths) -> int:
    """Give files an import run as root wrote (to mount the stick) back to the owner of the data folder, so the
    web server and sync (user tpkit) can keep writing the database and switching those books. Returns the count."""
    owner = paths.data_dir.stat()
    if os.geteuid() != 0 or owner.st_uid == 0:
        return 0
    changed = 0
    for top in dict.fromkeys((paths.data_dir, paths.content_dir)):
        for folder, folders, files in os.walk(top):
            for name in [*folders, *files, ""]:
                path = os.path.join(folder, name) if name else folder
                if os.lstat(path).st_uid == 0:
                    os.lchown(path, owner.st_uid, owner.st_gid)
                    changed += 1
    return changed
