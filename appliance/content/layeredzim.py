"""A book served as its base ZIM plus layers (patches re-written by zimlayers.write_layer), read as one book: the
newest layer that speaks of a path wins, a removed path is gone, search and suggestions cover every archive.

Must not import storage, edges, services or web; reads each archive through content.zimfile. Opening one reads its
layers' entries and manifests, never the base's entries: that is what makes applying an update cost the edit.
The rules and what they do not cover are in docs/channels.md ("Layers").
"""

from __future__ import annotations

import itertools
import random
import uuid as uuids
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from appliance.content import patch_manifest
from appliance.content.zimfile import MAX_REDIRECTS, Content, Redirect, ZimFile
from appliance.errors import ChannelError, DamagedBookError, EntryNotFoundError, NoFullTextIndexError

# Who answers for a path: 0 the base, k >= 1 the k-th layer (oldest first), or one of these two.
_BASE, _GONE, _MOVED = 0, -1, -2
# /random asks the base this many times for an article no layer hid before it gives up on the base: with a few
# per cent of a book edited, twenty misses in a row do not happen.
RANDOM_TRIES = 20
# Search and suggestions ask each archive for at least this many results a time (then twice as many, ...).
PAGE_MIN = 10


class LayeredZim:
    """The reading interface of ZimFile over a base file and its layers, oldest first. Safe to share between threads:
    nothing changes after it is opened, and each ZimFile keeps its searchers per thread."""

    def __init__(self, base: Path, layers: Sequence[Path]) -> None:
        self.path = base
        self._base = ZimFile(base)
        self._layers: list[ZimFile] = []
        self._manifests: list[dict[str, Any]] = []
        for layer_path in layers:
            layer = ZimFile(layer_path)  # DamagedBookError names the file when it is not a readable ZIM
            try:
                manifest = patch_manifest.read(layer)
            except ChannelError as exc:
                raise _damaged(base, layer_path, exc.message) from exc
            if self._manifests and manifest["base"].get("digest") != self._manifests[-1]["result"].get("digest"):
                raise _damaged(base, layer_path, "it does not start from the version the layer before it ends at")
            self._layers.append(layer)
            self._manifests.append(manifest)
        self._owner: dict[str, int] = {}
        self._moved: dict[str, tuple[str, str]] = {}  # path -> (title, target): a layer's manifest redirects
        html: list[list[str]] = []
        for number, (layer, manifest) in enumerate(zip(self._layers, self._manifests), start=1):
            html.append(self._take(number, layer, manifest))
        # The layers' HTML articles that no newer layer hides, for /random.
        self._edited = [
            path for number, paths in enumerate(html, start=1) for path in paths if self._visible(path, number)
        ]
        self._metadata = self._metadata_owners()
        self.size_bytes = self._base.size_bytes + sum(layer.size_bytes for layer in self._layers)

    def _take(self, number: int, layer: ZimFile, manifest: dict[str, Any]) -> list[str]:
        """Record what one layer decides, in the order zimdelta applies a patch (its removals, its items, then its
        redirects); its HTML articles."""
        html = []
        for path in manifest["removed_entries"]:
            self._owner[path] = _GONE
            self._moved.pop(path, None)
        for entry in layer.stored_entries():
            if entry.redirect_target is None:
                self._owner[entry.path] = number
                self._moved.pop(entry.path, None)
                if entry.mimetype.startswith("text/html"):
                    html.append(entry.path)
        for path, title, target in manifest["redirects"]:
            self._owner[path] = _MOVED
            self._moved[path] = (title, target)
        return html

    def _metadata_owners(self) -> dict[str, int]:
        owners: dict[str, int] = {}
        for number, (layer, manifest) in enumerate(zip(self._layers, self._manifests), start=1):
            for name in manifest["removed_metadata"]:
                owners[name] = _GONE
            for name in layer.metadata_names:
                if name not in patch_manifest.DERIVED_METADATA and name != patch_manifest.MANIFEST_NAME:
                    owners[name] = number
        return owners

    @property
    def _result(self) -> dict[str, Any]:
        return self._manifests[-1]["result"] if self._manifests else {}

    def _archive(self, number: int) -> ZimFile:
        return self._layers[number - 1] if number else self._base

    # --- what the book says of itself -------------------------------------------------------
    @property
    def uuid(self) -> str:
        """The publisher's UUID of the book the layers make (manifest result.uuid); for patches from before it was
        recorded, one derived from the result's entry digest, so every kit serving that version says the same."""
        if not self._manifests:
            return self._base.uuid
        recorded = self._result.get("uuid")
        return str(recorded) if recorded else str(uuids.uuid5(uuids.NAMESPACE_URL, f"tpkit:{self._result['digest']}"))

    @property
    def article_count(self) -> int:
        """The result's article count (manifest result.article_count). Patches from before it was recorded: the
        base's count plus, for each layer, its added minus its removed entries (metadata counted too: an estimate)."""
        if "article_count" in self._result:
            return int(self._result["article_count"])
        counts = [manifest.get("counts", {}) for manifest in self._manifests]
        return max(0, self._base.article_count + sum(c.get("added", 0) - c.get("removed", 0) for c in counts))

    @property
    def media_count(self) -> int:
        """The result's media count (manifest result.media_count); the base's for patches from before it was kept."""
        return int(self._result.get("media_count", self._base.media_count))

    @property
    def dirent_cache_size(self) -> int:
        """How many directory entries libzim keeps for the base (each layer has its own cache)."""
        return self._base.dirent_cache_size

    @property
    def has_fulltext_index(self) -> bool:
        return self._base.has_fulltext_index

    @property
    def main_path(self) -> str | None:
        """The result's main page (manifest result.main_path)."""
        return self._result.get("main_path") if self._manifests else self._base.main_path

    @property
    def result_digest(self) -> str:
        """The entry digest of the book the layers make (manifest result.digest)."""
        return str(self._result.get("digest", ""))

    @property
    def layers(self) -> tuple[ZimFile, ...]:
        """The layers, opened, oldest first."""
        return tuple(self._layers)

    def metadata(self, name: str) -> bytes | None:
        """The raw bytes of a metadata entry of the result, or None if absent."""
        item = self.metadata_item(name)
        return None if item is None else bytes(item.data)

    def metadata_item(self, name: str) -> Content | None:
        """A metadata entry of the result with its MIME type; the newest layer that has or removes it decides.
        Counter (which libzim derives) is the result's as the manifest keeps it, else the base's."""
        if name == patch_manifest.MANIFEST_NAME:
            return None
        if name in patch_manifest.DERIVED_METADATA and self._result.get("counter"):
            return Content(name, "text/plain", memoryview(str(self._result["counter"]).encode()))
        owner = self._metadata.get(name, _BASE)
        return None if owner == _GONE else self._archive(owner).metadata_item(name)

    def metadata_text(self, name: str) -> str:
        raw = self.metadata(name)
        return raw.decode("utf-8", "replace").strip() if raw else ""

    @property
    def metadata_names(self) -> list[str]:
        names = [n for n in self._base.metadata_names if self._metadata.get(n, _BASE) != _GONE]
        names += [n for n, owner in self._metadata.items() if owner > 0 and n not in names]
        return names

    def illustration(self, size: int = 48) -> bytes | None:
        """The PNG illustration at `size` pixels (libzim's Illustration_<size>x<size>@1 metadata), or None."""
        return self.metadata(f"Illustration_{size}x{size}@1")

    # --- entries ----------------------------------------------------------------------------
    def _not_found(self, path: str) -> EntryNotFoundError:
        return EntryNotFoundError(
            f"There is no entry {path!r} in {self.path.name}.",
            cause="The link is old or mistyped, or the book was updated.",
            fix="Go back to the book's main page and search for the article.",
        )

    def _walk(self, path: str) -> str | None:
        """Where `path` ends when redirects (the layers' and the base's) are followed; None when it ends at a removed
        path or loops."""
        for _ in range(MAX_REDIRECTS):
            owner = self._owner.get(path, _BASE)
            if owner == _GONE:
                return None
            if owner == _MOVED:
                path = self._moved[path][1]
            elif owner > 0:
                return path
            else:
                final = self._base.final_path(path)
                if final == path:
                    return path
                path = final
        return None

    def lookup(self, path: str) -> Redirect | Content:
        """The entry at `path` as the result has it: a Redirect to the end of its chain, or its Content."""
        owner = self._owner.get(path, _BASE)
        if owner == _GONE:
            raise self._not_found(path)
        if owner > 0:
            return self._layers[owner - 1].lookup(path)
        if owner == _BASE:
            found = self._base.lookup(path)
            if isinstance(found, Content) or found.target_path not in self._owner:
                return found  # an item, or a redirect within the base to a page no layer touched
            path = found.target_path
        final = self._walk(path)
        if final is None:
            raise self._not_found(path)
        return Redirect(final)

    def final_path(self, path: str) -> str:
        """Where the entry at `path` ends when its redirects are followed; `path` itself for an item, an unknown or
        removed path, or a broken chain."""
        return self._walk(path) or path

    def title_of(self, path: str) -> str:
        owner = self._owner.get(path, _BASE)
        if owner == _MOVED:
            return self._moved[path][0]
        if owner == _GONE:
            return path
        return self._archive(owner).title_of(path)

    def _visible(self, path: str, number: int) -> bool:
        return self._owner.get(path, _BASE) == number

    def random_path(self) -> str:
        """A random article of the result: one of the layers' with their share of the articles, else the base's
        random article unless a layer hid, replaced or moved it (asked again, RANDOM_TRIES times)."""
        edited = self._edited
        if edited and random.random() < len(edited) / max(self.article_count, len(edited)):
            return random.choice(edited)
        for _ in range(RANDOM_TRIES):
            try:
                path = self._base.random_path()
            except EntryNotFoundError:
                break
            if self._visible(path, _BASE):
                return path
        if edited:
            return random.choice(edited)
        raise EntryNotFoundError(
            f"{self.path.name} has no article to pick at random.",
            cause="The book marks none of its pages as articles, or its updates removed them.",
            fix="Open the book's main page instead.",
        )

    # --- search -------------------------------------------------------------------------------
    def _sources(self) -> list[tuple[int, ZimFile]]:
        """The archives to search, newest layer first, the base last."""
        layers = [(number, layer) for number, layer in enumerate(self._layers, start=1)]
        return [*reversed(layers), (_BASE, self._base)]

    def suggest(self, term: str, count: int) -> list[tuple[str, str]]:
        """Up to `count` (path, title) pairs whose title matches `term`, from every archive's title index and the
        layers' redirects, none a newer layer hid; merged by rank (each source's first, then each one's second, ...;
        newest layer first, the layers' redirects next, the base last), one per article they lead to (as libzim
        keeps one of a page and its redirects)."""
        streams = [self._suggested(number, zim, term, count) for number, zim in self._sources()]
        streams.insert(len(streams) - 1, iter(self._moved_matching(term)))
        found: dict[str, tuple[str, str]] = {}
        for path, title in _round_robin(streams):
            found.setdefault(self.final_path(path), (path, title))
            if len(found) == count:
                break
        return list(found.values())

    def _suggested(self, number: int, zim: ZimFile, term: str, count: int) -> Iterator[tuple[str, str]]:
        asked = max(count, PAGE_MIN)
        while True:
            found = zim.suggest(term, asked)
            visible = [shown for shown in (self._shown(number, path, title) for path, title in found) if shown]
            if len(visible) >= count or len(found) < asked:
                yield from visible[:count]
                return
            asked *= 2

    def _shown(self, number: int, path: str, title: str) -> tuple[str, str] | None:
        """A suggestion as the result has it, or None when a newer layer hid it. libzim gives one of a page and the
        redirects to it: when the base gave a redirect a layer removed or moved, its target stands in for it."""
        if self._visible(path, number):
            return path, title
        final = self._base.final_path(path) if number == _BASE else path
        if final != path and self._visible(final, _BASE):
            return final, self._base.title_of(final)
        return None

    def _moved_matching(self, term: str) -> list[tuple[str, str]]:
        # The layers' redirects are in no title index: every word of the term begins a word of the title, as libzim's
        # suggestions match (an approximation of Xapian's stemming and partial terms; these are few and short).
        words = term.casefold().split()
        found = []
        for path, (title, _) in sorted(self._moved.items()):
            title_words = title.casefold().split()
            if words and all(any(t.startswith(w) for t in title_words) for w in words):
                found.append((path, title))
        return found

    def search(self, pattern: str, start: int, count: int) -> tuple[int, list[str]]:
        """Full-text search of every archive with an index: (estimated matches, paths of results start..start+count),
        none a newer layer hid; merged by rank as suggest is (newest layer first, the base last). The estimate is the
        archives' together less the hidden results met on the way (exact once an archive's results are all read)."""
        if not self._base.has_fulltext_index:
            return self._base.search(pattern, start, count)  # NoFullTextIndexError, as the base says it
        want = start + count
        streams = [
            _SearchStream(zim, pattern, max(want, PAGE_MIN), lambda path, n=number: self._visible(path, n))
            for number, zim in self._sources()
            if zim.has_fulltext_index
        ]
        paths = list(itertools.islice(_round_robin([stream.visible() for stream in streams]), want))
        estimated = sum(stream.estimated - stream.hidden for stream in streams)
        return max(estimated, len(paths)), paths[start:]

    # --- checks -------------------------------------------------------------------------------
    def verify_checksum(self) -> bool | None:
        """libzim's checksum of the base and every layer: False when one fails, None when none has one, else True."""
        results = [zim.verify_checksum() for zim in (self._base, *self._layers)]
        if False in results:
            return False
        return None if all(result is None for result in results) else True

    @property
    def base(self) -> ZimFile:
        """The base file, opened."""
        return self._base


class _SearchStream:
    """One archive's full-text results, fetched a page at a time and filtered to the visible ones."""

    def __init__(self, zim: ZimFile, pattern: str, page: int, visible) -> None:
        self.zim, self.pattern, self.page, self.is_visible = zim, pattern, page, visible
        try:
            self.estimated, self._first = zim.search(pattern, 0, page)
        except NoFullTextIndexError:
            self.estimated, self._first = 0, []
        self.hidden = 0

    def visible(self) -> Iterator[str]:
        paths, start = self._first, 0
        while paths:
            for path in paths:
                if self.is_visible(path):
                    yield path
                else:
                    self.hidden += 1
            if len(paths) < self.page:
                return
            start += self.page
            paths = self.zim.search(self.pattern, start, self.page)[1]


def _round_robin(streams: list[Iterator[Any]]) -> Iterator[Any]:
    """Each stream's first item, then each one's second, ... (a stream that ends drops out); lazily."""
    for row in itertools.zip_longest(*streams, fillvalue=_END):
        yield from (item for item in row if item is not _END)


_END = object()


def _damaged(base: Path, layer: Path, problem: str) -> DamagedBookError:
    return DamagedBookError(
        f"The book {base.name} cannot be served with its update {layer.name}: {problem}",
        cause="An update layer was cut or changed (a power cut while it was written, a failing card).",
        fix=f"Remove the folder {layer.parent} (the book is then served at its older version) and run `tpkit sync` "
        "to update it again.",
    )
