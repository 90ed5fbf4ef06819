"""The last accepted sequence per channel, on a real SQLite file."""

from __future__ import annotations

import pytest

from appliance.errors import ChannelError
from appliance.storage.channel_sequences import ChannelSequences
from appliance.storage.database import Database


def test_channel_sequences_only_move_forward_per_channel(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    sequences = ChannelSequences(db)
    assert sequences.last("primary-zh") is None
    sequences.accept("primary-zh", 3)
    sequences.accept("county-local", 1)
    for stale in (3, 2):
        with pytest.raises(ChannelError) as caught:
            sequences.accept("primary-zh", stale)
        assert caught.value.code == "channel.replayed"
    sequences.accept("primary-zh", 4)
    assert (sequences.last("primary-zh"), sequences.last("county-local")) == (4, 1)
    db.close()
