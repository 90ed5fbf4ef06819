"""Layered books: a book served as its base file plus one indexed layer ZIM per patch, so applying an update costs the
edit, never the book (issue 21, "apply ∝ edit"). The layers and their stack live in content/<id>.layers/.

Must not import storage, edges, services or web, nor at module level libzim's writer (content.zimwriter, zimdelta):
the library imports this module in every web worker. Reads through content.zimfile, writes through content.zimwriter.
The rules (which entry wins, search across layers, what is not covered) are in docs/channels.md ("Layers").
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from appliance import strict_json
from appliance.content import patch_manifest
from appliance.content.layeredzim import LayeredZim
from appliance.content.zimfile import ZimFile, file_signature
from appliance.errors import DamagedBookError, StorageError
from appliance.files import fsync_path, write_atomically

LAYERS_SUFFIX = ".layers"  # not ".zim": no library scan or `*.zim` glob picks the folder up
STACK_NAME = "stack.json"
# The patch a layer was written from is kept beside it (the bytes the signed index names), so a stick or a peer tree
# can pass the update on by patch: "<id>_<digest>.zimlayer" keeps "<id>_<digest>.zimpatch", the patch's own name.
KEPT_PATCH_SUFFIX = ".zimpatch"  # zimdelta.PATCH_SUFFIX (not imported: zimdelta loads libzim's writer)
STACK_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Stack:
    """The layers served over one base file, oldest first, and the book they make (the publisher's version and entry
    digest); made for the base of this (size, mtime_ns), any other base makes it stale."""

    base_size: int
    base_mtime_ns: int
    layers: tuple[str, ...]
    version: str
    digest: str


def layers_dir(book: Path) -> Path:
    """The folder of a book's layers and stack: content/<id>.layers/ beside content/<id>.zim."""
    return book.with_name(book.stem + LAYERS_SUFFIX)


def kept_patch_name(layer: str) -> str:
    """The name of the patch kept beside the layer named `layer` (in the same layers folder)."""
    return Path(layer).stem + KEPT_PATCH_SUFFIX


def kept_patches(book: Path, stack: Stack) -> list[Path]:
    """The patches kept beside the stack's layers that are there, oldest first (a layer installed by an older tpkit,
    or a layer a rebuild wrote, has none)."""
    found = [layers_dir(book) / kept_patch_name(name) for name in stack.layers]
    return [path for path in found if path.is_file()]


def _stack_path(book: Path) -> Path:
    return layers_dir(book) / STACK_NAME


def read_stack(book: Path) -> Stack | None:
    """The book's stack; None when there is none, it cannot be read, it names no layer, or it was made for another
    base file (the base was replaced by a full book since: its layers no longer apply)."""
    try:
        raw = json.loads(_stack_path(book).read_bytes())
        stack = Stack(
            base_size=int(raw["base_size"]),
            base_mtime_ns=int(raw["base_mtime_ns"]),
            layers=tuple(str(name) for name in raw["layers"]),
            version=str(raw["version"]),
            digest=str(raw["digest"]),
        )
        if raw.get("format") != STACK_FORMAT or not isinstance(raw["layers"], list) or not stack.layers:
            return None
        if any(Path(name).name != name or name in ("", ".", "..") for name in stack.layers):
            return None  # a layer is a file name inside the layers folder, never a path elsewhere
        signature = file_signature(book)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (stack.base_size, stack.base_mtime_ns) != signature:
        return None
    return stack


def _make_dir(folder: Path) -> None:
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        fsync_path(folder.parent)  # the new folder's name survives a power cut


def write_stack(book: Path, layers: Sequence[str], version: str, digest: str) -> Stack:
    """Record `layers` (file names in layers_dir, oldest first) as served over the base file `book` as it is now,
    making the publisher's `version` with entry `digest`; atomic (temporary file, fsync, rename, fsync folder)."""
    size, mtime_ns = file_signature(book)
    stack = Stack(size, mtime_ns, tuple(layers), version, digest)
    _make_dir(layers_dir(book))
    data = {"format": STACK_FORMAT, **dataclasses.asdict(stack), "layers": list(stack.layers)}
    write_atomically(_stack_path(book), strict_json.dumps(data, ensure_ascii=False).encode())
    return stack


def remove_layers(book: Path) -> None:
    """Remove the book's layers folder (after its base was replaced by a full book); the stack first, so a cut midway
    leaves no stack naming missing layers."""
    folder = layers_dir(book)
    _stack_path(book).unlink(missing_ok=True)
    if folder.is_dir():
        fsync_path(folder)
        shutil.rmtree(folder)
        fsync_path(folder.parent)


def write_layer(patch: Path, out: Path) -> dict[str, Any]:
    """Re-write a patch (checksum and manifest checked by zimdelta.read_manifest, ChannelError if unusable) as an
    indexed layer ZIM at `out`, atomically: its entries (HTML ones as front articles, so libzim writes a title index),
    a full-text index of them when the manifest's result has a fulltext_language, its metadata and its TpkitPatch
    manifest (the manifest's redirects stay there: their targets may be in the base). Reads the patch only, never the
    base. The layer is itself a valid patch for zimdelta.apply_patches. Returns the manifest."""
    # Imported here: the library opens books through this module in every web worker, which starts without libzim's
    # writer (tests/test_start_imports.py); only the sync writes layers.
    from appliance.content import zimdelta
    from appliance.content.zimwriter import Entry, MetadataValue, write_zim

    source, manifest = zimdelta.read_manifest(patch)
    metadata: dict[str, MetadataValue] = {}
    for name in source.metadata_names:
        item = source.metadata_item(name)
        if name not in patch_manifest.DERIVED_METADATA and item is not None:
            metadata[name] = (bytes(item.data), item.mimetype)
    entries = (
        Entry(entry.path, entry.title, entry.mimetype, bytes(data), front=entry.mimetype.startswith("text/html"))
        for entry, data in source.stored_contents()
        if data is not None  # a patch holds items only; its redirects are in the manifest
    )
    _make_dir(out.parent)
    _remove_leftovers(out)
    try:
        write_zim(
            out,
            metadata=metadata,
            main_path=None,
            entries=entries,
            index_language=manifest["result"].get("fulltext_language"),
        )
    except (RuntimeError, OSError) as exc:
        raise StorageError(
            f"The layer {out} cannot be written: {exc}",
            cause="The disk is full or read-only.",
            fix="Free space in the content folder (a layer takes about the patch's size) and run the sync again.",
        ) from exc
    finally:
        _remove_leftovers(out)
    fsync_path(out.parent)
    return manifest


def _remove_leftovers(out: Path) -> None:
    # write_zim's temporary file and libzim's index folder beside it are named ".<name>.tmp…" (a cut or a full disk).
    for stale in out.parent.glob(f".{out.name}.tmp*"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)


def book_signature(book: Path) -> tuple[int, ...]:
    """What changes when the book served from `book` does: the base file's (size, mtime_ns) and its stack file's
    ((0, 0) without one), so a rescan picks up a new layer."""
    try:
        stack = file_signature(_stack_path(book))
    except OSError:
        stack = (0, 0)
    return (*file_signature(book), *stack)


def open_book(path: Path) -> ZimFile | LayeredZim:
    """The book served from `path`: its layers over it when read_stack finds a stack for this base, else the plain
    file. DamagedBookError when the base or a layer cannot be opened, or the layers do not make the stack's version."""
    stack = read_stack(path)
    if stack is None:
        return ZimFile(path)
    book = LayeredZim(path, [layers_dir(path) / name for name in stack.layers])
    if book.result_digest != stack.digest:
        raise DamagedBookError(
            f"The layers of {path.name} make version digest {book.result_digest}, not the {stack.digest} of its stack.",
            cause="The layers folder was changed by hand or a layer was replaced.",
            fix=f"Remove the folder {layers_dir(path)} (the book is then served at its older version) and run "
            "`tpkit sync` to update it again.",
        )
    return book
