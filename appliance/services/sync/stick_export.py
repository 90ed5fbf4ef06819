"""What the kit can pass on: its channels as it received them (signed index + signature, as kept by sync) and the
books it installed from them, in a mirror's channel layout — copied onto a USB stick (`tpkit export`) or hard-linked
into the kit's own peer-mirror tree (docs/sync.md, "Other roads in"). Must not import web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.content import zimdelta, zimlayers
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, package_path
from appliance.edges import minisign, system
from appliance.errors import StickError, TpkitError
from appliance.files import CHUNK_BYTES, file_digest, fsync_path, write_atomically
from appliance.paths import Paths
from appliance.services.sync import activation, channel
from appliance.storage.installed_packages import Installed

STICK_FOLDER = "tpkit"  # on a stick, the channel folders live under <stick>/tpkit/
TEMP_PREFIX = ".tpkit-export-"  # hidden: a county rsyncd.conf and the kit's own exclude `.*`
MB = 1 << 20


@dataclasses.dataclass(frozen=True)
class KeptChannel:
    """One channel as the kit holds it: the signed pair it accepted and the installed books the index names."""

    name: str
    index_raw: bytes
    signature_raw: bytes
    sequence: int
    # (index entry with the installed file's own size and sha256, installed file): the publisher's file, or the kit's
    # rebuild of it from patches, whose entry digest is the one the signed index gives for that version
    books: tuple[tuple[dict[str, Any], Path], ...]
    left_out: tuple[tuple[dict[str, Any], str], ...] = ()  # (index entry, why) of the books the index names but not
    # ids of the books served as layers over an older file (docs/sync.md, "Layers"): their entry in `books` is the
    # index's own (the publisher's size and SHA-256); an export writes them materialised, a peer tree has no full file
    # of them (it serves their kept patches, below)
    layered: frozenset[str] = frozenset()
    # (index entry of a patch, the kept patch file): the patches the index lists that the kit applied as layers and
    # kept beside them (zimlayers.kept_patches); an export and the peer tree pass them on at their index paths
    patches: tuple[tuple[dict[str, Any], Path], ...] = ()


@dataclasses.dataclass(frozen=True)
class Exported:
    """What `tpkit export` wrote: per channel the books written and those already on the stick, and what it skipped."""

    channels: tuple[KeptChannel, ...]
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[str, ...]
    bytes_written: int
    patches: tuple[str, ...] = ()  # the kept patches written (their index paths)


def _valid_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and not name.startswith(".")


def kept_channels(
    paths: Paths,
    channels: Iterable[str],
    installed: dict[str, Installed],
    keys: list[minisign.PublicKey],
    now: dt.datetime,
) -> tuple[list[KeptChannel], list[str]]:
    """The subscribed channels the kit can pass on (signature checked again), and why others are skipped."""
    kept, skipped = [], []
    for name in channels:
        folder = paths.sync_accepted_dir / name
        if not _valid_name(name) or not (folder / INDEX_NAME).is_file():
            skipped.append(f"{name}: no index accepted yet (run `tpkit sync` or `tpkit import` first)")
            continue
        if not (folder / SIGNATURE_NAME).is_file():
            skipped.append(
                f"{name}: its signature was not kept (accepted by an older tpkit); the next `tpkit sync` keeps it"
            )
            continue
        try:
            index = channel.verify_index(folder, keys, None, now=now)
        except TpkitError as exc:
            skipped.append(f"{name}: {exc.code}: {exc.message}")
            continue
        books, left_out, layered, patches = [], [], set(), []
        listed = [p for p in index.packages if p.get("kind") == "patch"]
        for package in (p for p in index.packages if p.get("kind", "full") == "full"):
            row = installed.get(package["id"])
            book = activation.book_path(paths, package["id"])
            why = _why_not(row, name, package, book)
            if why:
                left_out.append((package, why))
                skipped.append(f"{name}: {package['id']} {package['version']}: {why}")
            elif row is not None and row.layers:
                books.append((dict(package), book))
                layered.add(package["id"])
                patches += _kept_patches(book, [p for p in listed if p["id"] == package["id"]])
            else:
                assert row is not None  # _why_not said so
                books.append(({**package, "size_bytes": row.size_bytes, "sha256": row.sha256}, book))
        kept.append(
            KeptChannel(
                name,
                (folder / INDEX_NAME).read_bytes(),
                (folder / SIGNATURE_NAME).read_bytes(),
                index.sequence,
                tuple(books),
                tuple(left_out),
                frozenset(layered),
                tuple(patches),
            )
        )
    return kept, skipped


def _kept_patches(book: Path, listed: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Path]]:
    """(index entry, kept file) of each patch the index lists for the book that the kit kept beside one of the
    layers it serves (same file name, same size: the SHA-256 is checked as it is copied)."""
    stack = zimlayers.read_stack(book)
    kept = {path.name: path for path in zimlayers.kept_patches(book, stack)} if stack else {}
    found = []
    for patch in listed:
        path = kept.get(Path(patch["file"]).name)
        if path is not None and path.stat().st_size == patch["size_bytes"]:
            found.append((dict(patch), path))
    return found


def _why_not(row: Installed | None, name: str, package: dict[str, Any], book: Path) -> str:
    """Why the kit cannot pass on the book the index names ("" when it can): it must hold that version, whole, as
    the publisher's file or as its own rebuild whose entry digest is the signed one."""
    if row is None:
        return "not on this kit (not in sync_packages or sync_tags, or not synced yet)"
    if row.channel != name:
        return f"this kit's copy came from the channel {row.channel!r}"
    if row.pending_action is not None:
        return "its switch was cut (power cut); the next `tpkit sync` settles it"
    if row.sha256 != package["sha256"] and (row.digest is None or row.digest != package.get("result_digest")):
        unsigned = (
            ""
            if package.get("result_digest")
            else "; a copy rebuilt from patches is passed on only when the index signs its entry digest"
        )
        return (
            f"this kit's copy is not the version the index names (it holds {row.version}: its update has not come "
            f"yet or failed; `tpkit sync` or `tpkit import` brings it){unsigned}"
        )
    if not book.is_file():
        return f"its file {book} is missing from the content folder"
    return ""


def _same_file(path: Path, package: dict[str, Any]) -> bool:
    """Whether `path` already holds the package (size first: hashing a stick's gigabytes only when it may be equal)."""
    try:
        return path.stat().st_size == package["size_bytes"] and file_digest(path)[1] == package["sha256"]
    except OSError:
        return False


def _copy_checked(source: Path, target: Path, package: dict[str, Any]) -> None:
    """Copy to a hidden temporary file beside `target`, hashing on the way; fsync and rename only when it matches."""
    temporary = target.with_name(f"{TEMP_PREFIX}{target.name}")
    digest = hashlib.sha256()
    try:
        with source.open("rb") as reader, temporary.open("wb") as writer:
            while chunk := reader.read(CHUNK_BYTES):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        if digest.hexdigest() != package["sha256"]:
            raise StickError(
                f"The kit's copy of {package['id']} ({source}) no longer matches what was installed; it "
                "was not exported.",
                code="stick.book_changed",
                cause="The book in the content folder was changed or damaged after it was installed.",
                fix="Run `tpkit sync` (or import it again) to put a good copy back, then export again.",
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _materialise(book: Path, target: Path, package: dict[str, Any]) -> None:
    """Write a book served as layers as one whole file at `target`: rebuilt from its file and layers
    (zimdelta.apply_patches, a layer being a patch) into a hidden temporary file beside it, its entry digest checked
    against the signed one, then renamed. The importing kit accepts it by that digest."""
    stack = zimlayers.read_stack(book)
    if stack is None or stack.digest != package.get("result_digest"):
        raise StickError(
            f"The kit's copy of {package['id']} ({book} and its layers) no longer makes the version its index names; "
            "it was not exported.",
            code="stick.book_changed",
            cause="The book's file or its layers were changed or removed after they were installed.",
            fix="Run `tpkit sync` (or import it again) to put a good copy back, then export again.",
        )
    temporary = target.with_name(f"{TEMP_PREFIX}{target.name}")
    try:
        layers = [zimlayers.layers_dir(book) / name for name in stack.layers]
        rebuilt = zimdelta.apply_patches(book, layers, temporary)
        if rebuilt.digest != package["result_digest"]:  # apply_patches checked the last layer's result: the same
            raise StickError(
                f"The book rebuilt from {book} and its layers is not {package['id']} {package['version']}.",
                code="stick.book_changed",
                fix="Run `tpkit sync` to put a good copy back, then export again.",
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _needed_bytes(
    kept: list[KeptChannel],
    todo: list[tuple[dict[str, Any], Path, Path]],
    patches: list[tuple[dict[str, Any], Path, Path]],
) -> int:
    """Bytes an export writes: each book (a layered one rebuilt beside its place: up to twice its size while libzim
    writes it, zimdelta.rebuild_disk_bytes), each kept patch not on the stick yet and each index pair."""
    layered = {package_id for ch in kept for package_id in ch.layered}
    books = sum(
        zimdelta.rebuild_disk_bytes(package["size_bytes"]) if package["id"] in layered else package["size_bytes"]
        for package, _, _ in todo
    )
    return (
        books
        + sum(patch["size_bytes"] for patch, _, _ in patches)
        + sum(len(ch.index_raw) + len(ch.signature_raw) for ch in kept)
    )


def _stick_root(dest: Path) -> Path:
    if not dest.is_dir():
        raise StickError(
            f"{dest} is not a folder.",
            code="stick.not_found",
            fix="Give the folder where the stick is mounted (e.g. /media/usb), and check it is mounted.",
        )
    root = dest / STICK_FOLDER
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise StickError(
            f"{root} is a link or a file, not a folder; nothing was written.",
            code="stick.not_found",
            cause="tpkit writes only inside the stick, and a link could lead elsewhere.",
            fix=f"Remove or rename {root} on the stick, then export again.",
        )
    return root


def _targets(root: Path, kept: list[KeptChannel]) -> list[tuple[dict[str, Any], Path, Path]]:
    """(package, installed file, where it goes on the stick) for every book; path checks before anything is written."""
    return [(package, book, package_path(root / ch.name, package)) for ch in kept for package, book in ch.books]


def _patch_targets(root: Path, kept: list[KeptChannel]) -> list[tuple[dict[str, Any], Path, Path]]:
    """(patch entry, kept file, where it goes: its index path) for every kept patch a channel passes on."""
    return [(patch, path, package_path(root / ch.name, patch)) for ch in kept for patch, path in ch.patches]


def export_to_stick(paths: Paths, dest: Path, kept: list[KeptChannel], skipped: list[str]) -> Exported:
    """Write the kept channels under `<dest>/tpkit/`, books first and each index last, each file atomically."""
    root = _stick_root(dest)
    if not kept:
        raise StickError(
            "This kit has no channel to export.",
            code="stick.nothing_to_export",
            cause="; ".join(skipped) or "sync_channels is empty.",
            fix="Subscribe to channels (sync_channels) and run `tpkit sync` or `tpkit import` first.",
        )
    targets = _targets(root, kept)
    todo = [(package, book, target) for package, book, target in targets if not _same_file(target, package)]
    patches = [
        (patch, path, target) for patch, path, target in _patch_targets(root, kept) if not _same_file(target, patch)
    ]
    needed = _needed_bytes(kept, todo, patches)
    use = system.filesystem_use(dest)
    free = use["free_bytes"] if use else shutil.disk_usage(dest).free
    if needed > free:
        raise StickError(
            f"The stick at {dest} has {free / MB:.1f} MB free; this export needs {needed / MB:.1f} MB "
            f"({(needed - free) / MB:.1f} MB more). Nothing was written.",
            code="stick.no_space",
            fix=f"Free {(needed - free) / MB:.1f} MB on the stick or use a larger one; or narrow "
            "sync_channels/sync_packages on this kit.",
        )
    layered = {package_id for ch in kept for package_id in ch.layered}
    for package, book, target in todo:
        target.parent.mkdir(parents=True, exist_ok=True)
        if package["id"] in layered:
            _materialise(book, target, package)
        else:
            _copy_checked(book, target, package)
    written_patches = []
    for patch, path, target in patches:  # a kit at the base version imports by patch (docs/sync.md)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _copy_checked(path, target, patch)
        except StickError as exc:
            skipped.append(f"{patch['id']} patch to {patch['version']}: {exc.message}")
            continue
        written_patches.append(patch)
    for ch in kept:
        folder = root / ch.name
        folder.mkdir(parents=True, exist_ok=True)
        _drop_stale(folder, ch)
        write_atomically(folder / SIGNATURE_NAME, ch.signature_raw)  # a cut before the index: bad_signature, clearly
        write_atomically(folder / INDEX_NAME, ch.index_raw)
    done = {target for _, _, target in todo}
    return Exported(
        tuple(kept),
        tuple(p["id"] for p, _, t in targets if t in done),
        tuple(p["id"] for p, _, t in targets if t not in done),
        tuple(skipped),
        sum(p["size_bytes"] for p, _, _ in todo) + sum(p["size_bytes"] for p in written_patches),
        tuple(p["file"] for p in written_patches),
    )


def _drop_stale(folder: Path, ch: KeptChannel) -> None:
    """Before a new index goes beside them: delete the files of the books it names that the kit could not pass on
    (an earlier version from an earlier export), so the index never names a book the folder holds in another
    version; the other kit then says the book is not there instead of refusing it."""
    for package, _ in ch.left_out:
        stale = package_path(folder, package)
        if stale.is_file() and not _same_file(stale, package):
            stale.unlink()


def refresh_mirror_tree(paths: Paths, kept: list[KeptChannel]) -> int:
    """Make the kit's peer-mirror tree (served read-only by rsyncd) match `kept`: hard links, no copies; files
    swapped one by one with renames, the index last, then whatever no longer belongs removed. Returns the books."""
    root = paths.mirror_dir
    root.mkdir(parents=True, exist_ok=True)
    kept = [_whole_files_only(ch) for ch in kept]
    wanted: set[Path] = set()
    for _package, book, target in [*_targets(root, kept), *_patch_targets(root, kept)]:
        target.parent.mkdir(parents=True, exist_ok=True)
        wanted.add(target)
        if target.is_file() and os.path.samefile(target, book):
            continue
        temporary = target.with_name(f"{TEMP_PREFIX}{target.name}")
        temporary.unlink(missing_ok=True)
        os.link(book, temporary)
        os.replace(temporary, target)
    for ch in kept:
        folder = root / ch.name
        folder.mkdir(parents=True, exist_ok=True)
        _drop_stale(folder, ch)
        write_atomically(folder / SIGNATURE_NAME, ch.signature_raw, sync_folder=False)
        write_atomically(folder / INDEX_NAME, ch.index_raw, sync_folder=False)
        wanted |= {folder / SIGNATURE_NAME, folder / INDEX_NAME}
    _prune(root, wanted)
    fsync_path(root)
    return sum(len(ch.books) for ch in kept)


# Why a peer tree has no full file of a layered book (issue 21): it serves files by hard link, and a layered book is an
# older file plus layers; materialising it for peers would cost the rebuild layering avoids. The tree serves the
# patches the kit kept instead (a neighbour at the base version updates by patch); a fresh neighbour takes the full
# book from the county mirror, its plan saying the book is not on this peer.
LAYERED_WHY = (
    'served as layers over an older file on this kit (docs/sync.md, "Layers"): the peer tree serves its kept patches '
    "but no full file; other kits without the base take it from the county mirror, or from a stick (`tpkit export` "
    "writes it whole)"
)


def _whole_files_only(ch: KeptChannel) -> KeptChannel:
    """The channel as a peer tree serves it: its layered books' full files left out, with why (their kept patches
    stay)."""
    if not ch.layered:
        return ch
    books = tuple((package, book) for package, book in ch.books if package["id"] not in ch.layered)
    left = tuple((package, LAYERED_WHY) for package, _ in ch.books if package["id"] in ch.layered)
    return dataclasses.replace(ch, books=books, left_out=ch.left_out + left, layered=frozenset())


def _prune(root: Path, wanted: set[Path]) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path not in wanted:
            path.unlink()


def tree_sequences(paths: Paths) -> dict[str, int]:
    """Channel -> sequence of what the kit's peer-mirror tree serves (read from its indexes; unverified, for mDNS)."""
    found = {}
    for index in sorted(paths.mirror_dir.glob(f"*/{INDEX_NAME}")) if paths.mirror_dir.is_dir() else ():
        try:
            found[index.parent.name] = channel.read_index(index.parent).sequence  # type: ignore[union-attr]  # globbed
        except (TpkitError, OSError):
            continue  # being replaced, or damaged: not advertised
    return found


def refresh_mirror(
    paths: Paths, settings: Settings, channels: Iterable[str], installed: dict[str, Installed], now: dt.datetime
) -> int:
    """Bring the kit's peer-mirror tree in line with what it holds (when `mirror_port` is set; else remove it)."""
    if not settings.mirror_port:
        shutil.rmtree(paths.mirror_dir, ignore_errors=True)  # hard links would keep old versions' disk space
        return 0
    kept, _ = kept_channels(paths, channels, installed, channel.trusted_keys(settings.trusted_channel_keys), now)
    return refresh_mirror_tree(paths, kept)
