"""Books and patches fetched into `<data_dir>/sync/staging/<channel>/` and checked before their switch: a full book
against the signed index and libzim, a book rebuilt from patches, and the clean-up of what no plan needs
(docs/sync.md, "A run" and "Updates by patch"). Must not import web.
"""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from appliance.content import zimdelta, zimfile, zimlayers
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, check_package_file
from appliance.errors import ChannelError, DamagedBookError, DiskFullError, StorageError, SyncError, TpkitError
from appliance.files import file_digest
from appliance.paths import Paths
from appliance.services.sync import activation, channel
from appliance.services.sync.events import Event
from appliance.services.sync.plan import MB, Plan, Step, file_sha256
from appliance.services.sync.sources import Fetcher, Source
from appliance.services.sync.transfers import PARTIAL_DIR
from appliance.storage.installed_packages import Installed, InstalledPackages

REBUILT_SUFFIX = ".rebuilt.zim"  # a book rebuilt from patches in staging, before its switch
LAYER_SUFFIX = (
    ".zimlayer"  # a patch re-written as a layer (zimlayers.write_layer), staged, then in content/<id>.layers/
)


@dataclasses.dataclass(frozen=True)
class StagedLayers:
    """An update by layer, verified in staging: the layers (oldest first), the patch each was written from (the bytes
    the signed index names, kept beside its layer: docs/sync.md, "Roads and patches") and the entry digest they make."""

    layers: list[Path]
    patches: list[Path]
    digest: str


@dataclasses.dataclass(frozen=True)
class Staged:
    """A verified book in staging: its file, the index entry to record (with the file's own size and SHA-256) and
    its entry digest when the signed index gives one."""

    path: Path
    package: Mapping[str, Any]
    digest: str | None


def _rebuilt_copy(staged: Path, step: Step, mismatch: ChannelError) -> Staged:
    """A book whose bytes are not the publisher's, accepted only when its entries are: its entry digest is the one
    the signed index gives for this version (a kit that updated the book by patch passes on its own rebuild)."""
    signed = step.offered["result_digest"]
    try:
        digest = zimdelta.book_digest(staged)
    except (DamagedBookError, RuntimeError) as exc:
        raise mismatch from exc
    if digest != signed:
        raise ChannelError(
            f"{mismatch.message} Its entries differ from that version's too (entry digest {digest}, signed {signed}).",
            code="channel.package_mismatch",
            cause=mismatch.cause,
            fix=mismatch.fix,
        )
    size, sha256 = file_digest(staged)
    return Staged(staged, {**step.offered, "size_bytes": size, "sha256": sha256}, digest)


def _check_chain(step: Step, manifests: list[dict[str, Any]], row: Installed | None) -> None:
    """A ChannelError (patch_base_mismatch) unless the patches' manifests lead, one after the other, from the
    installed book (by the row's digest, or its file's SHA-256 when it carries no layers) to the signed result."""
    first = manifests[0]["base"]
    starts = row is not None and (
        (row.digest is not None and first.get("digest") == row.digest)
        or (file_sha256(row) is not None and first.get("sha256") == file_sha256(row))
    )
    linked = all(
        after["base"].get("digest") == before["result"].get("digest") for before, after in zip(manifests, manifests[1:])
    )
    ends = manifests[-1]["result"].get("digest") == step.offered["result_digest"]
    if not (starts and linked and ends):
        raise ChannelError(
            f"The patches for {step.package_id} {step.version} do not lead from the installed version "
            f"{step.installed_version} to the signed one (starts there: {starts}, linked: {linked}, ends there: {ends}).",
            code="channel.patch_base_mismatch",
            cause="The patch was made for another book or another version of it.",
            fix="Nothing to do: the run fetches the full book instead.",
        )


def _check_installed(book: Path, row: Installed | None) -> None:
    """A ChannelError (patch_base_mismatch) unless the content folder holds what the row says, as far as a stat and
    the stack tell without reading the book: the file's size, and its stack's digest (or no stack when the row has
    no layers). A file replaced by hand gets the full book, never layers over the wrong base."""
    stack = zimlayers.read_stack(book)
    size = book.stat().st_size if book.is_file() else None
    fits = row is not None and size == row.size_bytes and (stack.digest == row.digest if stack else not row.layers)
    if not fits:
        raise ChannelError(
            f"The book {book} is not the version its install recorded (file size {size}, stack "
            f"{stack.version if stack else 'none'}); no layer is put over it.",
            code="channel.patch_base_mismatch",
            cause="The book's file or its layers were changed by hand since the last sync.",
            fix="Nothing to do: the run fetches the full book instead.",
        )


@dataclasses.dataclass
class Staging:
    """The staging folder of one kit's sync; `free_bytes` is what the content disk (staging's too) has free."""

    paths: Paths
    installed: InstalledPackages
    on_event: Callable[[Event], None]
    free_bytes: Callable[[], int] = lambda: 0

    def folder(self, name: str) -> Path:
        return self.paths.sync_staging_dir / name

    def book(self, fetcher: Fetcher, source: Source, step: Step) -> Staged:
        """The step's full book fetched from `source` and verified (size and SHA-256 as signed, or, for a kit's own
        rebuild of it, the signed entry digest; then libzim's check): where it is staged and what to record."""
        package, stage_dir = step.offered, self.folder(step.channel)
        staged = channel.package_path(stage_dir, package)
        current = activation.book_path(self.paths, step.package_id)
        source.fetch_package(
            fetcher,
            step.channel,
            package,
            staged,
            basis=current if current.is_file() else None,
            package_id=step.package_id,
            total_bytes=step.size_bytes,
        )
        self.on_event(Event("verify", step.package_id, text=package["version"]))
        try:
            check_package_file(stage_dir, package)
            mismatch = None
        except ChannelError as exc:
            if exc.code != "channel.package_mismatch" or not package.get("result_digest") or not staged.is_file():
                raise
            mismatch = exc  # perhaps a kit's own rebuild of the book (a stick, a peer): its entries decide below
        try:
            zimfile.check_whole(staged)
        except DamagedBookError as exc:
            staged.unlink(missing_ok=True)
            if mismatch is not None:
                raise mismatch from exc
            raise SyncError(
                f"Package {step.package_id!r} {package['version']} matches the signed index but is not a "
                f"usable ZIM book: {exc.message}",
                code="sync.package_damaged",
                cause="The county published a broken file (signed as it is).",
                fix="Tell the county to publish the book again; the current version stays in the library.",
            ) from exc
        if mismatch is not None:
            return _rebuilt_copy(staged, step, mismatch)
        return Staged(staged, package, package.get("result_digest"))

    def discard_book(self, step: Step) -> None:
        """Delete what a source that failed left of the step's book (another source starts it afresh)."""
        channel.package_path(self.folder(step.channel), step.offered).unlink(missing_ok=True)

    def _fetch_patches(self, fetcher: Fetcher, source: Source, step: Step, staged_patches: list[Path]) -> None:
        stage_dir = self.folder(step.channel)
        for patch, staged in zip(step.patches, staged_patches):
            source.fetch_patch(fetcher, step.channel, patch, staged, package_id=step.package_id)
            self.on_event(Event("verify", step.package_id, text=f"patch to {patch['version']}"))
            check_package_file(stage_dir, patch)

    def rebuilt(self, fetcher: Fetcher, source: Source, step: Step) -> tuple[Path, str]:
        """Fetch the step's patches, rebuild the book from the installed one (its file and the layers it carries, if
        any) into staging and check it: the staged book and its entry digest. A patch or rebuild that fails is
        remembered: the next run fetches the full book."""
        stage_dir = self.folder(step.channel)
        current = activation.book_path(self.paths, step.package_id)
        staged_patches = [channel.package_path(stage_dir, patch) for patch in step.patches]
        out = stage_dir / f"{step.package_id}{REBUILT_SUFFIX}"
        stack = zimlayers.read_stack(current)
        carried = [zimlayers.layers_dir(current) / name for name in stack.layers] if stack else []
        try:
            self._fetch_patches(fetcher, source, step, staged_patches)
            said = f" and its {len(carried)} layer(s)" if carried else ""
            self.on_event(Event("rebuild", step.package_id, text=f"from {len(step.patches)} patch(es){said}"))
            rebuilt = channel.rebuild(current, [*carried, *staged_patches], out)
            zimfile.check_whole(out)
        except Exception as exc:
            self._patch_failure(step, exc, [*staged_patches, out], current)
            raise  # _patch_failure raised unless the kit's own limits stopped the run
        return out, rebuilt.digest

    def layered(self, fetcher: Fetcher, source: Source, step: Step) -> StagedLayers:
        """Fetch the step's patches and re-write each as an indexed layer in staging (zimlayers.write_layer: reads the
        patch, never the book): the staged layers, oldest first, the verified patches (kept beside them once
        installed) and the entry digest they make. The chain must start
        at the installed book as its row names it (its entry digest, or its file's SHA-256 when no layers are served
        over it: never hashed again) and end at the signed result. A failure is remembered like a rebuild's: the next
        run fetches the full book."""
        stage_dir = self.folder(step.channel)
        current, target = activation.book_path(self.paths, step.package_id), step.offered["result_digest"]
        staged_patches = [channel.package_path(stage_dir, patch) for patch in step.patches]
        layers = [stage_dir / f"{staged.stem}{LAYER_SUFFIX}" for staged in staged_patches]
        try:
            _check_installed(current, self.installed.get(step.package_id))
            self._fetch_patches(fetcher, source, step, staged_patches)
            self.on_event(Event("layer", step.package_id, text=f"{step.version}: {len(step.patches)} patch(es)"))
            manifests = []
            for staged, layer in zip(staged_patches, layers):
                manifests.append(zimlayers.write_layer(staged, layer))
                zimfile.check_whole(layer)
            _check_chain(step, manifests, self.installed.get(step.package_id))
        except Exception as exc:
            self._patch_failure(step, exc, [*staged_patches, *layers], current)
            raise
        return StagedLayers(layers, staged_patches, target)

    def _patch_failure(self, step: Step, exc: Exception, leftovers: list[Path], current: Path) -> None:
        """What an update by patch that failed leaves: nothing in staging. Raises sync.patch_failed (the patch
        remembered as failed) unless the kit's own limits stopped it (then the caller re-raises the error as is)."""
        target = step.offered["result_digest"]
        if isinstance(exc, DiskFullError):  # a patch's download filled the disk: the patch is not at fault
            for path in leftovers:
                path.unlink(missing_ok=True)
            return
        if not isinstance(exc, (ChannelError, StorageError, DamagedBookError, SyncError, OSError)):
            return
        if isinstance(exc, SyncError) and exc.code != "sync.transfer_failed":
            return  # the kit's own limits (window, disk reserve): the patches are fine, the run stops
        if isinstance(exc, OSError) and not isinstance(exc, TpkitError) and exc.errno != errno.ENOSPC:
            return
        for path in leftovers:  # first: on a full disk the database needs that room to mark it
            path.unlink(missing_ok=True)
        activation.mark_patch_failed(self.installed, step.package_id, target)
        if isinstance(exc, OSError) and not step.by_layer and self._outgrew(step, current):
            raise self._disk_full(step, current) from exc
        said, cause = (exc.message, exc.cause) if isinstance(exc, TpkitError) else (f"{exc}", "")
        raise SyncError(
            f"Updating {step.package_id} to {step.version} by patch failed: {said}",
            code="sync.patch_failed",
            cause=cause or "A patch was damaged, changed or missing, or the disk filled during the rebuild.",
            fix=f"Nothing to do: the library still serves {step.installed_version}; the run fetches the full "
            f"book ({step.offered['size_bytes'] / MB:.1f} MB) instead, and if that fails too, the next "
            "`tpkit sync` fetches the full book. If the disk is full, free space first.",
        ) from exc

    def _outgrew(self, step: Step, current: Path) -> bool:
        """Whether a rebuild that failed writing ran out of disk: the rebuilt book (about as big as the installed
        one, or the publisher's) does not fit in what is free now that its temporaries are gone."""
        return self.free_bytes() < self._rebuild_bytes(step, current)

    @staticmethod
    def _rebuild_bytes(step: Step, current: Path) -> int:
        return max(step.offered["size_bytes"], current.stat().st_size if current.is_file() else 0)

    def _disk_full(self, step: Step, current: Path) -> DiskFullError:
        needed, free = self._rebuild_bytes(step, current), self.free_bytes()
        full_book = step.offered["size_bytes"]
        return DiskFullError(
            f"The content disk filled while rebuilding {step.package_id} {step.version} from its patch: the rebuilt "
            f"book needs about {needed / MB:.1f} MB and the disk has {free / MB:.1f} MB free. The patch and the "
            f"unfinished book were removed; the library still serves {step.installed_version}.",
            cause="The disk check before the run counted less than the rebuild wrote, or something else filled the "
            "disk during the rebuild.",
            fix=f"Free space on the content disk (df -h {self.paths.content_dir}) until at least "
            f"{max(needed, full_book) / MB:.1f} MB are free, then run `tpkit sync` again: it fetches the full book "
            f"({full_book / MB:.1f} MB) instead of rebuilding it.",
        )

    def collect(self, plan: Plan, channels: Iterable[str]) -> None:
        """Delete staging files no planned package needs (cut downloads of planned ones stay, to resume)."""
        keep = self._needed(plan)
        for name in channels:
            keep |= {self.folder(name) / INDEX_NAME, self.folder(name) / SIGNATURE_NAME}
        for path in sorted(self.paths.sync_staging_dir.rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path not in keep:
                path.unlink()

    def _needed(self, plan: Plan) -> set[Path]:
        keep = set()
        for step in plan.steps:
            packages = step.patches if step.by_patch else (step.package,) if step.package is not None else ()
            for package in packages:
                staged = channel.package_path(self.folder(step.channel), package)
                keep |= {staged, staged.parent / PARTIAL_DIR / staged.name}
                keep |= set(staged.parent.glob(f".{staged.name}.??????"))  # rsync's temporary file after a kill -9
        return keep
