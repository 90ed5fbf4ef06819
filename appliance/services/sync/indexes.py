"""Trusting a channel's index fetched into staging: signature, shape, expiry, channel name, no replay; the accepted
copy (with its signature) kept for `tpkit export` and the peer mirror (docs/sync.md, "A run", step 4).
Must not import web.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from appliance.config import Settings
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, ChannelIndex
from appliance.errors import SyncError
from appliance.files import write_atomically
from appliance.services.sync import channel
from appliance.storage.channel_sequences import ChannelSequences


def accept(
    stage: Path, name: str, settings: Settings, sequences: ChannelSequences, accepted: Path, now: dt.datetime
) -> ChannelIndex:
    """The verified index staged in `stage` for channel `name`; its sequence is recorded and a copy kept at
    `accepted` (index.json, its signature beside it). A TpkitError says why it is refused."""
    keys = channel.trusted_keys(settings.trusted_channel_keys)
    index = channel.verify_index(stage, keys, None, now=now)
    if index.channel != name:
        raise SyncError(
            f"The index served as channel {name!r} names itself {index.channel!r}.",
            code="sync.wrong_channel",
            cause="The mirror's folders are mixed up, or it is hostile.",
            fix="Tell the county; check the channel names in sync_channels.",
        )
    raw, last = (stage / INDEX_NAME).read_bytes(), sequences.last(name)
    same = last is not None and accepted.is_file() and accepted.read_bytes() == raw
    channel.verify_index(
        stage, keys, last - 1 if same and last is not None else last, now=now
    )  # refuses a replayed index
    signature = (stage / SIGNATURE_NAME).read_bytes()
    if not same:
        accepted.parent.mkdir(parents=True, exist_ok=True)
        # The signature is kept too (`tpkit export`, the peer mirror); written first, so a cut between the two leaves
        # an old index that the next run replaces, never a kept pair that claims to match.
        write_atomically(accepted.with_name(SIGNATURE_NAME), signature)
        write_atomically(accepted, raw)  # before the sequence, so a cut here never strands the channel
        sequences.accept(name, index.sequence)
    elif not accepted.with_name(SIGNATURE_NAME).is_file():  # accepted before signatures were kept
        write_atomically(accepted.with_name(SIGNATURE_NAME), signature)
    return index
