"""Channels: make signing keys, publish a folder of ZIM books as a signed channel, verify one before trusting it.

No HTTP. The index format lives in content.channel_index, the minisign formats in edges.minisign (docs/channels.md).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from appliance.content import zimdelta
from appliance.content.channel_index import (
    INDEX_NAME,
    SIGNATURE_NAME,
    ChannelIndex,
    check_expiry,
    check_package_file,
    describe_books,
    describe_package,
    describe_patch,
    index_bytes,
    package_path,
    parse_index,
)
from appliance.edges import minisign
from appliance.errors import ChannelError, ConfigError
from appliance.files import write_atomically
from appliance.storage.channel_sequences import ChannelSequences

PATCH_FOLDER = "patches"
# Patches a kit may need in a row before the index only offers the full book: each link costs the kit a rebuild
# (docs/performance.md) and a kit that far behind saves little over downloading the whole book.
DEFAULT_MAX_CHAIN = 4


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc)


def keygen(out: Path) -> minisign.PublicKey:
    """Write a new key pair as `<out>.key` (mode 0600, never overwritten) and `<out>.pub`; return the public key."""
    secret = minisign.generate()
    secret_path, public_path = Path(f"{out}.key"), Path(f"{out}.pub")
    try:
        fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(
            f"The secret key {secret_path} already exists; it is not overwritten.",
            cause="A key was made here before: kits may already trust it.",
            fix=f"Choose another --out, or move {secret_path} away first if you really mean to replace it.",
        ) from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(minisign.secret_key_file(secret))
    public_path.write_text(minisign.public_key_file(secret.public), encoding="ascii")
    return secret.public


def read_index(channel_dir: Path) -> ChannelIndex | None:
    """The channel's current index, unverified (the publisher's own copy), or None when there is none."""
    path = channel_dir / INDEX_NAME
    return parse_index(path.read_bytes(), str(path)) if path.exists() else None


def _previous_books(previous_dir: Path) -> dict[str, Path]:
    if not previous_dir.is_dir():
        raise ConfigError(
            f"The previous-version folder {previous_dir} does not exist.",
            fix="Give --previous the folder holding the full .zim files published last time.",
        )
    return {describe_package(previous_dir, path)["id"]: path for path in sorted(previous_dir.rglob("*.zim"))}


def _changed(old: zimdelta.ReadBook, book: dict[str, Any]) -> bool:
    """Whether the book differs from its previous version entry for entry (same bytes: surely not)."""
    return old.sha256 != book["sha256"] and old.digest != book["result_digest"]


def _chain(carried: list[dict[str, Any]], end_digest: str, max_chain: int) -> list[dict[str, Any]]:
    """The previously published patches that lead, one after the other, to `end_digest`; at most `max_chain`."""
    chain: list[dict[str, Any]] = []
    wanted = end_digest
    for package in reversed(carried):
        if len(chain) < max_chain and package["result_digest"] == wanted:
            chain.insert(0, package)
            wanted = package["base"]["digest"]
    return chain


def _with_patches(
    channel_dir: Path, books: list[dict[str, Any]], previous_dir: Path, previous: ChannelIndex | None, max_chain: int
) -> list[dict[str, Any]]:
    """`books` (given their entry digest) plus, per book, the chain of patches (at most `max_chain`) up to it."""
    old_books = _previous_books(previous_dir)
    old_patches = [p for p in (previous.packages if previous else ()) if p.get("kind") == "patch"]
    patches: list[dict[str, Any]] = []
    for book in books:
        # Each book's entries are read once (its digest, then the diff), the previous version's at most once.
        new = zimdelta.ReadBook(channel_dir / book["file"])
        book["result_digest"] = new.digest
        carried = [p for p in old_patches if p["id"] == book["id"] and (channel_dir / p["file"]).is_file()]
        old_path = old_books.get(book["id"])
        old = zimdelta.ReadBook(old_path) if old_path is not None and max_chain > 0 else None
        if old is not None and _changed(old, book):
            out = (
                channel_dir
                / PATCH_FOLDER
                / book["id"]
                / f"{book['id']}_{book['result_digest'][:16]}{zimdelta.PATCH_SUFFIX}"
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            manifest = zimdelta.write_patch(old, new, out)
            carried.append(describe_patch(channel_dir, out, manifest, book))
        patches += _chain(carried, book["result_digest"], max_chain)
    return books + patches


def _prune_patches(channel_dir: Path, packages: tuple[dict[str, Any], ...]) -> None:
    """Delete patch files the new index no longer lists: past the chain limit, or for a book no longer published."""
    listed = {p["file"] for p in packages}
    for stale in (channel_dir / PATCH_FOLDER).rglob(f"*{zimdelta.PATCH_SUFFIX}"):
        if stale.relative_to(channel_dir).as_posix() not in listed:
            stale.unlink()


def publish(
    channel_dir: Path,
    key_path: Path,
    name: str,
    sequence: int | None = None,
    expires_days: float = 30,
    now: dt.datetime | None = None,
    *,
    previous_dir: Path | None = None,
    max_chain: int = DEFAULT_MAX_CHAIN,
) -> ChannelIndex:
    """Index every ZIM in `channel_dir` (with patches from the books in `previous_dir`), sign, and write atomically."""
    if not channel_dir.is_dir():
        raise ConfigError(
            f"The channel folder {channel_dir} does not exist.", fix="Give the folder holding the .zim files."
        )
    secret = minisign.read_secret_key(key_path)
    previous = read_index(channel_dir)
    sequence = sequence if sequence is not None else (previous.sequence + 1 if previous else 1)
    now = _now(now)
    packages = describe_books(channel_dir, previous)
    if previous_dir is not None:
        packages = _with_patches(channel_dir, packages, previous_dir, previous, max_chain)
    raw = index_bytes(name, sequence, now, expires_days, packages)
    comment = f"timestamp:{int(now.timestamp())}\tfile:{INDEX_NAME}\tchannel:{name}\tsequence:{sequence}"
    signature = minisign.sign(secret, raw, comment).encode()
    # Index first: a power cut between the two renames leaves a pair that fails as bad_signature until republished.
    write_atomically(channel_dir / INDEX_NAME, raw)
    write_atomically(channel_dir / SIGNATURE_NAME, signature)
    index = parse_index(raw, str(channel_dir / INDEX_NAME))
    if previous_dir is not None:
        _prune_patches(channel_dir, index.packages)  # after the new index: the old one's files stay until replaced
    return index


def diff(old_zim: Path, new_zim: Path) -> zimdelta.BookDiff:
    """The entries (C/path), metadata (M/name) and main page (W/mainPage) that differ from one book to the next."""
    return zimdelta.diff_books(old_zim, new_zim)


def rebuild(base_zim: Path, patches: list[Path], out: Path) -> zimdelta.Rebuilt:
    """Rebuild a book from its base and patches (oldest first) at `out`, only if it equals the publisher's book."""
    return zimdelta.apply_patches(base_zim, patches, out)


def trusted_keys(entries: str | Iterable[str]) -> list[minisign.PublicKey]:
    """Public keys from `trusted_channel_keys`: a comma-separated list of base64 key lines or paths to .pub files."""
    parts = entries.split(",") if isinstance(entries, str) else list(entries)
    keys = []
    for part in (p.strip() for p in parts if p.strip()):
        path = Path(part).expanduser()
        if part.endswith(".pub") or path.is_file():  # not "/" in part: base64 key lines contain "/" too
            try:
                text = path.read_text(encoding="ascii", errors="replace")
            except OSError as exc:
                raise ConfigError(
                    f"The trusted channel key file {path} cannot be read: {exc.strerror}.",
                    fix="Correct the path in trusted_channel_keys, or paste the key's base64 line.",
                ) from exc
            keys.append(minisign.parse_public_key(text, str(path)))
        else:
            keys.append(minisign.parse_public_key(part, f"trusted_channel_keys entry {part!r}"))
    return keys


def _check_signature(channel_dir: Path, raw: bytes, keys: list[minisign.PublicKey]) -> None:
    where = str(channel_dir / SIGNATURE_NAME)
    try:
        text = (channel_dir / SIGNATURE_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ChannelError(
            f"The channel {channel_dir} has no signature ({where}: {exc.strerror}).",
            code="channel.bad_signature",
            cause="The copy is incomplete or was never signed.",
            fix="Fetch the channel again; the county signs it with `tpkit channel publish`.",
        ) from exc
    signature = minisign.parse_signature(text, where)
    key = next((k for k in keys if k.key_id == signature.key_id), None)
    if key is None:
        known = ", ".join(k.id_hex for k in keys) or "none"
        raise ChannelError(
            f"The channel index {channel_dir / INDEX_NAME} is signed by key {signature.id_hex}, "
            f"which this kit does not trust (trusted: {known}).",
            code="channel.unknown_key",
            cause="The channel comes from another county, or the county changed its key.",
            fix="If the county confirms the key, add its .pub file to trusted_channel_keys "
            "(docs/settings.md); otherwise do not use this channel.",
        )
    minisign.verify(signature, key, raw, where)


def _check_sequence(index: ChannelIndex, last_sequence: int | None) -> None:
    if last_sequence is not None and index.sequence <= last_sequence:
        raise ChannelError(
            f"Channel {index.channel!r}: index sequence {index.sequence} is not newer than "
            f"{last_sequence}, the last one this kit accepted.",
            code="channel.replayed",
            cause="The mirror serves an old copy (stale, or rolling the kit back on purpose).",
            fix="Keep the current content; try another mirror or ask the county to check this one.",
        )


def verify_index(
    channel_dir: Path,
    trusted_public_keys: list[minisign.PublicKey],
    last_sequence: int | None,
    *,
    now: dt.datetime | None = None,
    check_files: bool = False,
) -> ChannelIndex:
    """The channel's index once signature, expiry, sequence, paths (and with `check_files` each file) check out."""
    try:
        raw = (channel_dir / INDEX_NAME).read_bytes()
    except OSError as exc:
        raise ChannelError(
            f"The channel {channel_dir} has no index ({exc.strerror}).",
            code="channel.malformed",
            cause="The folder is not a channel, or the copy is incomplete.",
            fix="Check the folder; the county writes the index with `tpkit channel publish`.",
        ) from exc
    _check_signature(channel_dir, raw, trusted_public_keys)
    index = parse_index(raw, str(channel_dir / INDEX_NAME))
    check_expiry(index, _now(now), str(channel_dir / INDEX_NAME))
    _check_sequence(index, last_sequence)
    for package in index.packages:
        package_path(channel_dir, package)
    for package in index.packages if check_files else ():
        check_package_file(channel_dir, package)
    return index


def accept(
    channel_dir: Path,
    trusted_public_keys: list[minisign.PublicKey],
    sequences: ChannelSequences,
    *,
    now: dt.datetime | None = None,
    check_files: bool = True,
) -> ChannelIndex:
    """Verify the channel against the last accepted sequence of its name, then record its sequence as accepted."""
    index = verify_index(channel_dir, trusted_public_keys, None, now=now, check_files=check_files)
    _check_sequence(index, sequences.last(index.channel))
    sequences.accept(index.channel, index.sequence)
    return index
