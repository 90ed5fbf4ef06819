"""The last index sequence accepted for each channel, so an older or replayed index is refused.

Must not import content, edges, services or web.
"""

from __future__ import annotations

from appliance.errors import ChannelError
from appliance.storage.database import Database


class ChannelSequences:
    """The `channel_sequences` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def last(self, channel: str) -> int | None:
        """The highest sequence accepted for `channel`, or None when none has been."""
        row = self.db.read().execute("SELECT sequence FROM channel_sequences WHERE channel = ?", (channel,)).fetchone()
        return row[0] if row else None

    def accept(self, channel: str, sequence: int) -> None:
        """Record `sequence` for `channel` in one transaction; a ChannelError (replayed) unless it is greater."""
        with self.db.transaction() as conn:
            done = conn.execute(
                "INSERT INTO channel_sequences (channel, sequence) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET sequence = excluded.sequence, "
                "accepted_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE excluded.sequence > sequence",
                (channel, sequence),
            ).rowcount
        if not done:
            raise ChannelError(
                f"Channel {channel!r}: index sequence {sequence} is not newer than the one already accepted.",
                cause="Another update of this channel was accepted meanwhile.",
                code="channel.replayed",
                fix="Run the sync again: it will fetch the newest index.",
            )
