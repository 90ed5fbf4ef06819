"""Switching books in the content folder atomically, keeping the previous version, rollback, and recovery.

A book is always `<content_dir>/<id>.zim`, replaced with os.replace, so a reader (and a power cut) sees the
old file or the new one whole; a large book updated by patch gets layers over that file instead, switched by
rewriting its stack (content/<id>.layers/stack.json) atomically. Each switch is written to SQLite as pending first
(docs/sync.md). Must not import web.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from appliance import strict_json
from appliance.content import zimlayers
from appliance.content.zimfile import ZimFile
from appliance.errors import DamagedBookError, SyncError
from appliance.files import file_digest, fsync_path, write_atomically
from appliance.paths import Paths
from appliance.storage.installed_packages import Installed, InstalledPackages

_NOT_PENDING: dict[str, Any] = dict(
    pending_action=None, pending_version=None, pending_sha256=None, pending_size_bytes=None, pending_digest=None
)
_NO_PREVIOUS: dict[str, Any] = dict(
    previous_file=None, previous_version=None, previous_sha256=None, previous_size_bytes=None, previous_digest=None
)
# A layered update keeps the stack it replaced in previous/ as "<id>.run<N>.stack.json" (rollback writes it back); a
# full book's previous version is "<id>.run<N>.zim", with the layers it carried beside it as "<id>.run<N>.layers/".
STACK_KEPT_SUFFIX = ".stack.json"


def _layer_count(book: Path) -> int:
    stack = zimlayers.read_stack(book)
    return len(stack.layers) if stack else 0


def mark_patch_failed(table: InstalledPackages, package_id: str, result_digest: str) -> None:
    """Remember that updating the book by patch to `result_digest` failed: the next plan fetches the full package."""
    row = table.get(package_id)
    if row is not None:
        table.put(dataclasses.replace(row, patch_failed_digest=result_digest))


def book_path(paths: Paths, package_id: str) -> Path:
    """Where the book of a package lives in the content folder."""
    return paths.content_dir / f"{package_id}.zim"


def _link_previous(paths: Paths, current: Path, name: str) -> str:
    """Hard-link the current book into previous/ (no copy, same disk); its file name there."""
    target = paths.sync_previous_dir / name
    target.unlink(missing_ok=True)
    os.link(current, target)
    return name


def activate(
    paths: Paths,
    table: InstalledPackages,
    package: Mapping[str, Any],
    channel: str,
    staged: Path,
    run_id: int,
    digest: str | None = None,
) -> None:
    """Put the verified `staged` file in place of the package's book; the old one is kept in previous/.

    `package` gives id, version, and the staged file's sha256 and size; `digest` its entry digest when known (a book
    rebuilt from patches is recognised by it: its file hash is its own, not the publisher's)."""
    target = book_path(paths, package["id"])
    row = table.get(package["id"]) or Installed(package["id"], channel, "", "", 0, target.name)
    table.put(
        dataclasses.replace(
            row,
            pending_action="activate",
            pending_version=package["version"],
            pending_sha256=package["sha256"],
            pending_size_bytes=package["size_bytes"],
            pending_digest=digest,
        )
    )
    fsync_path(staged)
    previous = None
    if target.exists():
        previous = _link_previous(paths, target, f"{package['id']}.run{run_id}.zim")
        fsync_path(paths.sync_previous_dir)
    os.replace(staged, target)
    fsync_path(paths.content_dir)
    _put_layers_aside(paths, target, previous)
    kept: dict[str, Any] = (
        dict(
            previous_file=previous,
            previous_version=row.version or "local",
            previous_sha256=row.sha256 or None,
            previous_size_bytes=row.size_bytes,
            previous_digest=row.digest,
        )
        if previous
        else {}
    )
    table.put(
        dataclasses.replace(
            row,
            channel=channel,
            version=package["version"],
            sha256=package["sha256"],
            size_bytes=package["size_bytes"],
            file=target.name,
            run_id=run_id,
            digest=digest,
            patch_failed_digest=None,
            layers=0,
            **_NOT_PENDING,
            **kept,
        )
    )
    if row.previous_file and row.previous_file != previous:
        _drop_previous(paths, row.previous_file)  # one previous version per book


def _put_layers_aside(paths: Paths, book: Path, previous: str | None) -> None:
    """After a full book replaced `book`, the layers it carried (stale now: their stack names the old base) go with
    the old file into previous/ for a rollback, or are removed when no previous version is kept."""
    folder = zimlayers.layers_dir(book)
    if not folder.is_dir():
        return
    if previous is None:
        zimlayers.remove_layers(book)
        return
    aside = zimlayers.layers_dir(paths.sync_previous_dir / previous)
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(folder, aside)
    fsync_path(paths.content_dir)


def _drop_previous(paths: Paths, name: str) -> None:
    """Delete a kept previous version: its file (a book or a kept stack) and the layers kept with a book."""
    kept = paths.sync_previous_dir / name
    kept.unlink(missing_ok=True)
    shutil.rmtree(zimlayers.layers_dir(kept), ignore_errors=True)


def install_layers(
    paths: Paths,
    table: InstalledPackages,
    package: Mapping[str, Any],
    channel: str,
    layers: Sequence[Path],
    run_id: int,
    digest: str,
    patches: Sequence[Path] = (),
) -> None:
    """Serve the verified staged `layers` (oldest first) over the installed book's file as `package`'s version with
    entry `digest`: the row pending 'layer', the layer files moved into the book's layers folder (with the verified
    `patches` they were written from, one per layer, each kept beside its layer: zimlayers.kept_patch_name), the
    stack rewritten (the switch: atomic), the row committed. The book's file is never read; its stack before is kept
    in previous/."""
    assert not patches or len(patches) == len(layers), "one kept patch per layer"
    target = book_path(paths, package["id"])
    row = table.get(package["id"])
    assert row is not None, f"{package['id']} is installed: an update by patch starts from it"
    table.put(
        dataclasses.replace(
            row,
            pending_action="layer",
            pending_version=package["version"],
            pending_sha256=row.sha256,
            pending_size_bytes=row.size_bytes,
            pending_digest=digest,
        )
    )
    before = zimlayers.read_stack(target)
    names = (before.layers if before else ()) + tuple(layer.name for layer in layers)
    previous = f"{package['id']}.run{run_id}{STACK_KEPT_SUFFIX}"
    paths.sync_previous_dir.mkdir(parents=True, exist_ok=True)
    kept = {"layers": list(before.layers) if before else [], "version": row.version, "digest": row.digest}
    write_atomically(paths.sync_previous_dir / previous, strict_json.dumps(kept).encode())
    folder = zimlayers.layers_dir(target)
    if not folder.is_dir():
        folder.mkdir()
        fsync_path(paths.content_dir)
    for layer in layers:
        fsync_path(layer)
        os.replace(layer, folder / layer.name)  # named by no stack yet: nothing serves it
    for layer, patch in zip(layers, patches):
        fsync_path(patch)
        os.replace(patch, folder / zimlayers.kept_patch_name(layer.name))
    fsync_path(folder)
    zimlayers.write_stack(target, names, package["version"], digest)
    table.put(
        dataclasses.replace(
            row,
            channel=channel,
            version=package["version"],
            run_id=run_id,
            digest=digest,
            patch_failed_digest=None,
            layers=len(names),
            previous_file=previous,
            previous_version=row.version,
            previous_sha256=row.sha256,
            previous_size_bytes=row.size_bytes,
            previous_digest=row.digest,
            **_NOT_PENDING,
        )
    )
    if row.previous_file and row.previous_file != previous:
        _drop_previous(paths, row.previous_file)


def _kept_stack(kept: Path) -> dict[str, Any]:
    """A stack kept in previous/ by install_layers: its layers (none: the plain file), version and digest."""
    return json.loads(kept.read_bytes())


def remove(paths: Paths, table: InstalledPackages, package_id: str) -> None:
    """Take a package's book out of the content folder and forget it."""
    row = table.get(package_id)
    if row is None:
        return
    table.put(dataclasses.replace(row, pending_action="remove"))
    book_path(paths, package_id).unlink(missing_ok=True)
    zimlayers.remove_layers(book_path(paths, package_id))  # its layers, if any, go with it
    fsync_path(paths.content_dir)
    table.delete(package_id)


def rollback(paths: Paths, table: InstalledPackages, package_id: str) -> Installed:
    """Put the previous version of a book back; the version rolled back from is held (not installed again)."""
    row = table.get(package_id)
    kept = paths.sync_previous_dir / row.previous_file if row and row.previous_file else None
    if row is None or kept is None or not kept.is_file():
        known = ", ".join(r.id for r in table.all().values() if r.previous_file) or "none"
        raise SyncError(
            f"There is no previous version of {package_id!r} to go back to (books with one: {known}).",
            code="sync.no_previous",
            cause="The book was not updated by a sync, or its previous "
            "version was cleaned up after a later successful sync.",
            fix="Check the name with `tpkit sync --history` or `ls` of the content folder; otherwise "
            "copy the old .zim back by hand into the content folder.",
        )
    if kept.name.endswith(STACK_KEPT_SUFFIX):
        return _rollback_layers(paths, table, row, kept)
    if row.previous_sha256 is None:
        table.delete(package_id)  # the previous file was a book put there by hand: it is no longer managed
    else:
        table.put(
            dataclasses.replace(
                row,
                pending_action="activate",
                pending_version=row.previous_version,
                pending_sha256=row.previous_sha256,
                pending_size_bytes=row.previous_size_bytes,
                pending_digest=row.previous_digest,
            )
        )
    target = book_path(paths, package_id)
    if zimlayers.layers_dir(kept).is_dir():  # its layers go back first: stale (another base) until the rename below
        zimlayers.remove_layers(target)
        os.replace(zimlayers.layers_dir(kept), zimlayers.layers_dir(target))
    os.replace(kept, target)
    fsync_path(paths.content_dir)
    if row.previous_sha256 is None:
        return row
    # previous_version and previous_size_bytes are written together with previous_sha256 (activate above)
    back = dataclasses.replace(
        row,
        version=row.previous_version,  # type: ignore[arg-type]
        sha256=row.previous_sha256,
        size_bytes=row.previous_size_bytes,  # type: ignore[arg-type]
        digest=row.previous_digest,
        held_sha256=row.sha256,
        held_digest=row.digest,
        layers=_layer_count(target),
        **_NO_PREVIOUS,
        **_NOT_PENDING,
    )
    table.put(back)
    return back


def _rollback_layers(paths: Paths, table: InstalledPackages, row: Installed, kept: Path) -> Installed:
    """Undo a layered update: the stack kept in previous/ written back (or the layers removed when the book was its
    plain file), pending 'layer' meanwhile; the layers no stack names any more are deleted."""
    target = book_path(paths, row.id)
    stack = _kept_stack(kept)
    table.put(
        dataclasses.replace(
            row,
            pending_action="layer",
            pending_version=row.previous_version,
            pending_sha256=row.sha256,
            pending_size_bytes=row.size_bytes,
            pending_digest=row.previous_digest,
        )
    )
    if stack["layers"]:
        zimlayers.write_stack(target, stack["layers"], stack["version"], stack["digest"])
    else:
        zimlayers.remove_layers(target)
    back = dataclasses.replace(
        row,
        version=row.previous_version,  # type: ignore[arg-type]  # written with previous_file by install_layers
        digest=row.previous_digest,
        held_sha256=None,  # the file is the base, not the version rolled back from
        held_digest=row.digest,
        layers=len(stack["layers"]),
        **_NO_PREVIOUS,
        **_NOT_PENDING,
    )
    table.put(back)
    kept.unlink()
    collect_layers(paths, table)
    return back


def recover(paths: Paths, table: InstalledPackages) -> list[str]:
    """Settle switches a power cut interrupted: hash the one book each touched and record what is really there; and a
    layered book whose layers no longer apply to its file (_lost_layers)."""
    settled = []
    for row in table.all().values():
        target = book_path(paths, row.id)
        if row.pending_action is None:
            lost = _lost_layers(row, target)
            if lost is not None:
                table.put(lost)
                settled.append(row.id)
            continue
        if row.pending_action == "layer":
            table.put(_settled_layers(row, zimlayers.read_stack(target)))
            settled.append(row.id)
            continue
        sha256 = file_digest(target)[1] if target.is_file() else None
        if row.pending_action == "activate" and sha256 == row.pending_sha256:
            # a pending activation writes pending_version, _sha256 and _size_bytes together (rollback above)
            table.put(
                dataclasses.replace(
                    row,
                    version=row.pending_version,  # type: ignore[arg-type]
                    sha256=row.pending_sha256,  # type: ignore[arg-type]
                    size_bytes=row.pending_size_bytes,  # type: ignore[arg-type]
                    digest=row.pending_digest,
                    layers=_layer_count(target),
                    **_NOT_PENDING,
                )
            )
        elif sha256 is None or not row.sha256:
            table.delete(row.id)  # nothing of ours is in the content folder
        else:
            table.put(dataclasses.replace(row, **_NOT_PENDING))
        settled.append(row.id)
    return settled


def _lost_layers(row: Installed, target: Path) -> Installed | None:
    """A layered book whose stack is gone or no longer its file's (the file touched, copied or replaced by hand, the
    folder removed): the library serves the file alone, so the row is made to say that (the file's own hash, size and
    Date, no layers, no entry digest) and the next plan updates it again, by patch when the file is the publisher's
    base. None when the row's layers are in place (or it has none). Hashes the file: a rare repair, not a switch."""
    if not row.layers or not target.is_file():
        return None
    stack = zimlayers.read_stack(target)
    if stack is not None and stack.digest == row.digest:
        return None
    size, sha256 = file_digest(target)
    try:
        version = ZimFile(target).metadata_text("Date") or row.version
    except DamagedBookError:
        version = row.version
    return dataclasses.replace(row, version=version, sha256=sha256, size_bytes=size, digest=None, layers=0)


def _settled_layers(row: Installed, stack: zimlayers.Stack | None) -> Installed:
    """A cut 'layer' switch, settled from the stack alone (the base is never hashed): the stack the switch wrote is
    there (or, for a rollback to the plain file, no stack is left where the row had layers) → the new version;
    else the old one stays."""
    done = stack.digest == row.pending_digest if stack else row.layers > 0
    if not done:
        return dataclasses.replace(row, **_NOT_PENDING)  # its layer files, named by no stack, go at the clean-up
    return dataclasses.replace(
        row,
        version=row.pending_version,  # type: ignore[arg-type]  # written together with pending_action
        digest=row.pending_digest,
        layers=len(stack.layers) if stack else 0,
        **_NOT_PENDING,
    )


def collect_layers(paths: Paths, table: InstalledPackages) -> list[Path]:
    """Delete layer files (and the patches kept beside them) no stack names (a switch cut before its stack, a
    rollback), keeping those the kept previous stack names; a layers folder whose stack is stale (its base was
    replaced) goes whole."""
    deleted: list[Path] = []
    for row in table.all().values():
        book = book_path(paths, row.id)
        folder = zimlayers.layers_dir(book)
        if not folder.is_dir():
            continue
        stack = zimlayers.read_stack(book)
        if stack is None:
            zimlayers.remove_layers(book)
            deleted.append(folder)
            continue
        layers = set(stack.layers)
        if row.previous_file and row.previous_file.endswith(STACK_KEPT_SUFFIX):
            kept = paths.sync_previous_dir / row.previous_file
            layers |= set(_kept_stack(kept)["layers"]) if kept.is_file() else set()
        named = {zimlayers.STACK_NAME, *layers, *(zimlayers.kept_patch_name(name) for name in layers)}
        for path in folder.iterdir():
            if path.name not in named:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                deleted.append(path)
    return deleted


def collect_previous(paths: Paths, table: InstalledPackages, last_ok_run: int | None) -> list[Path]:
    """Delete previous versions that have outlived one successful run after their switch, and stray files."""
    keep, deleted = set(), []
    for row in table.all().values():
        if not row.previous_file:
            continue
        if last_ok_run is not None and row.run_id is not None and row.run_id < last_ok_run:
            table.put(dataclasses.replace(row, **_NO_PREVIOUS))
        else:
            keep |= {row.previous_file, zimlayers.layers_dir(Path(row.previous_file)).name}
    for path in paths.sync_previous_dir.iterdir() if paths.sync_previous_dir.is_dir() else ():
        if path.name not in keep:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            deleted.append(path)
    return deleted
