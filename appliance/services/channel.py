"""Channels: make signing keys, publish a folder of ZIM books as a signed channel, verify one before trusting it.

No HTTP. The index format lives in content.channel_index, the minisign formats in edges.minisign (docs/channels.md).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

from appliance.content.channel_index import (INDEX_NAME, SIGNATURE_NAME, ChannelIndex, build_index, check_expiry,
                                             check_package_file, package_path, parse_index)
from appliance.edges import minisign
from appliance.errors import ChannelError, ConfigError
from appliance.files import write_atomically
from appliance.storage.channel_sequences import ChannelSequences


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc)


def keygen(out: Path) -> minisign.PublicKey:
    """Write a new key pair as `<out>.key` (mode 0600, never overwritten) and `<out>.pub`; return the public key."""
    secret = minisign.generate()
    secret_path, public_path = Path(f"{out}.key"), Path(f"{out}.pub")
    try:
        fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"The secret key {secret_path} already exists; it is not overwritten.",
                          cause="A key was made here before: kits may already trust it.",
                          fix=f"Choose another --out, or move {secret_path} away first if you really mean to replace it.") from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(minisign.secret_key_file(secret))
    public_path.write_text(minisign.public_key_file(secret.public), encoding="ascii")
    return secret.public


def read_index(channel_dir: Path) -> ChannelIndex | None:
    """The channel's current index, unverified (the publisher's own copy), or None when there is none."""
    path = channel_dir / INDEX_NAME
    return parse_index(path.read_bytes(), str(path)) if path.exists() else None


def publish(channel_dir: Path, key_path: Path, name: str, sequence: int | None = None,
            expires_days: float = 30, now: dt.datetime | None = None) -> ChannelIndex:
    """Index every ZIM in `channel_dir`, sign the index with the key at `key_path`, and write both atomically."""
    if not channel_dir.is_dir():
        raise ConfigError(f"The channel folder {channel_dir} does not exist.", fix="Give the folder holding the .zim files.")
    secret = minisign.read_secret_key(key_path)
    previous = read_index(channel_dir)
    sequence = sequence if sequence is not None else (previous.sequence + 1 if previous else 1)
    now = _now(now)
    raw = build_index(channel_dir, name, sequence, now, expires_days, previous)
    comment = f"timestamp:{int(now.timestamp())}\tfile:{INDEX_NAME}\tchannel:{name}\tsequence:{sequence}"
    signature = minisign.sign(secret, raw, comment).encode()
    # Index first: a power cut between the two renames leaves a pair that fails as bad_signature until republished.
    write_atomically(channel_dir / INDEX_NAME, raw)
    write_atomically(channel_dir / SIGNATURE_NAME, signature)
    return parse_index(raw, str(channel_dir / INDEX_NAME))


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
                raise ConfigError(f"The trusted channel key file {path} cannot be read: {exc.strerror}.",
                                  fix="Correct the path in trusted_channel_keys, or paste the key's base64 line.") from exc
            keys.append(minisign.parse_public_key(text, str(path)))
        else:
            keys.append(minisign.parse_public_key(part, f"trusted_channel_keys entry {part!r}"))
    return keys


def _check_signature(channel_dir: Path, raw: bytes, keys: list[minisign.PublicKey]) -> None:
    where = str(channel_dir / SIGNATURE_NAME)
    try:
        text = (channel_dir / SIGNATURE_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ChannelError(f"The channel {channel_dir} has no signature ({where}: {exc.strerror}).",
                           code="channel.bad_signature", cause="The copy is incomplete or was never signed.",
                           fix="Fetch the channel again; the county signs it with `tpkit channel publish`.") from exc
    signature = minisign.parse_signature(text, where)
    key = next((k for k in keys if k.key_id == signature.key_id), None)
    if key is None:
        known = ", ".join(k.id_hex for k in keys) or "none"
        raise ChannelError(f"The channel index {channel_dir / INDEX_NAME} is signed by key {signature.id_hex}, "
                           f"which this kit does not trust (trusted: {known}).", code="channel.unknown_key",
                           cause="The channel comes from another county, or the county changed its key.",
                           fix="If the county confirms the key, add its .pub file to trusted_channel_keys "
                               "(docs/settings.md); otherwise do not use this channel.")
    minisign.verify(signature, key, raw, where)


def _check_sequence(index: ChannelIndex, last_sequence: int | None) -> None:
    if last_sequence is not None and index.sequence <= last_sequence:
        raise ChannelError(f"Channel {index.channel!r}: index sequence {index.sequence} is not newer than "
                           f"{last_sequence}, the last one this kit accepted.", code="channel.replayed",
                           cause="The mirror serves an old copy (stale, or rolling the kit back on purpose).",
                           fix="Keep the current content; try another mirror or ask the county to check this one.")


def verify_index(channel_dir: Path, trusted_public_keys: list[minisign.PublicKey], last_sequence: int | None,
                 *, now: dt.datetime | None = None, check_files: bool = False) -> ChannelIndex:
    """The channel's index once signature, expiry, sequence, paths (and with `check_files` each file) check out."""
    try:
        raw = (channel_dir / INDEX_NAME).read_bytes()
    except OSError as exc:
        raise ChannelError(f"The channel {channel_dir} has no index ({exc.strerror}).", code="channel.malformed",
                           cause="The folder is not a channel, or the copy is incomplete.",
                           fix="Check the folder; the county writes the index with `tpkit channel publish`.") from exc
    _check_signature(channel_dir, raw, trusted_public_keys)
    index = parse_index(raw, str(channel_dir / INDEX_NAME))
    check_expiry(index, _now(now), str(channel_dir / INDEX_NAME))
    _check_sequence(index, last_sequence)
    for package in index.packages:
        package_path(channel_dir, package)
    for package in index.packages if check_files else ():
        check_package_file(channel_dir, package)
    return index


def accept(channel_dir: Path, trusted_public_keys: list[minisign.PublicKey], sequences: ChannelSequences,
           *, now: dt.datetime | None = None, check_files: bool = True) -> ChannelIndex:
    """Verify the channel against the last accepted sequence of its name, then record its sequence as accepted."""
    index = verify_index(channel_dir, trusted_public_keys, None, now=now, check_files=check_files)
    _check_sequence(index, sequences.last(index.channel))
    sequences.accept(index.channel, index.sequence)
    return index

