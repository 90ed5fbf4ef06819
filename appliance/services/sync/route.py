"""Which source serves each channel during one sync run: its stand-ins (peer kits on the LAN) first, then the run's
own source; a source that fails in a way it says falls back is dropped for that channel for the rest of the run
(docs/sync.md, "Sources"). Must not import web.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from appliance.errors import TpkitError
from appliance.services.sync.events import Event
from appliance.services.sync.sources import Source

T = TypeVar("T")


class Route:
    """One run's choice of source per channel; `notes` keeps each refusal for the run history."""

    def __init__(self, primary: Source, on_event: Callable[[Event], None]) -> None:
        self.primary, self.on_event = primary, on_event
        self.stand_ins: dict[str, list[Source]] = {}
        self.serving: dict[str, Source] = {}
        self.notes: list[str] = []

    def add_stand_ins(self, stand_ins: Mapping[str, Sequence[Source]]) -> None:
        """Sources to try before the primary for a channel's index (peer kits, newest sequence first)."""
        for name, sources in stand_ins.items():
            self.stand_ins.setdefault(name, []).extend(sources)

    def source(self, channel: str) -> Source:
        """The source whose index the channel's plan follows (the primary until a stand-in served one)."""
        return self.serving.get(channel, self.primary)

    def sources(self) -> list[Source]:
        """Every source this run may use: the primary, then the stand-ins."""
        return [self.primary, *(source for sources in self.stand_ins.values() for source in sources)]

    def index(self, channel: str, attempt: Callable[[Source], T]) -> T:
        """`attempt` (fetch and verify the index) on the stand-ins in turn, then on the primary: the first result."""
        return self._first_good(
            channel, "index", "its index", [*self.stand_ins.get(channel, []), self.primary], attempt
        )

    def package(self, channel: str, package_id: str, attempt: Callable[[Source], T], clean: Callable[[], None]) -> T:
        """`attempt` (fetch and verify a book) on the source of the channel's index; when that source falls back,
        `clean` and the primary, against the same signed index."""
        serving = self.source(channel)
        candidates = [serving] if serving is self.primary else [serving, self.primary]
        return self._first_good(channel, "package", package_id, candidates, attempt, clean)

    def _first_good(
        self,
        channel: str,
        what: str,
        label: str,
        candidates: list[Source],
        attempt: Callable[[Source], T],
        clean: Callable[[], None] = lambda: None,
    ) -> T:
        for source in candidates[:-1]:
            self.serving[channel] = source
            try:
                return attempt(source)
            except TpkitError as exc:
                if not source.falls_back(exc, what):
                    raise  # the kit's own limits (window, disk, budget) stop the run wherever a book comes from
                clean()
                self._refuse(source, channel, f"{label}: {exc.code}")
        self.serving.pop(channel, None)
        return attempt(self.primary)

    def _refuse(self, source: Source, channel: str, why: str) -> None:
        note = f"{source.name} refused for {channel} ({why}); the next peer or {self.primary.where} is used instead"
        self.notes.append(note)
        self.on_event(Event("peer", text=note))
