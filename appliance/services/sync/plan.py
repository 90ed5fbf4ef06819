"""What a sync would do: add, update, remove (with sizes) against what is installed, and the disk guard.

Pure logic on verified indexes and rows; imports no edge. Must not import web.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from appliance.content.channel_index import ChannelIndex
from appliance.errors import SyncError
from appliance.storage.installed_packages import Installed

MB = 1 << 20
HELD_NOTE = "held back: rolled back from this version (`tpkit content rollback`)"
# A layer takes the patch it is written from plus its title and full-text index, and libzim's working copy of that
# index while it writes: a bound of 4x the patch (docs/performance.md, "Sync (issue 21): apply ∝ edit"), and 1 MiB
# for the stack and the smallest index. The base is not read or copied.
LAYER_DISK_FACTOR = 4
LAYER_DISK_MARGIN = 1 << 20
# The channel name of books a teacher brought on a USB stick (`tpkit import`): unsigned, never removed by a sync.
LOCAL_CHANNEL = "local"


@dataclasses.dataclass(frozen=True)
class Step:
    """One line of the plan. `package` is the index entry (None for a removal)."""

    action: str  # add, update, remove
    package_id: str
    channel: str
    size_bytes: int  # bytes to download (add/update) or to take out of the library (remove)
    version: str
    installed_version: str | None = None
    package: Mapping[str, Any] | None = None
    patches: tuple[Mapping[str, Any], ...] = ()  # an update by patch: the chain from the installed book, in order
    why_full: str = ""  # an update fetched whole although the channel offers patches for the book: why
    # An update by patch of a book at least sync_layer_min_bytes big is installed as layers over its file ("layer");
    # else (and a book with sync_layers_max layers, when the disk allows) rebuilt into one file ("rebuild").
    patch_as: str = ""
    layers: int = 0  # the layers the installed book carries now (a rebuild includes them: "materialised")
    # Fetched from the run's own source: the peer kit that served the channel's index carries neither its chain of
    # patches nor its full book (docs/sync.md, "Roads and patches").
    primary: bool = False

    @property
    def by_patch(self) -> bool:
        return bool(self.patches)

    @property
    def by_layer(self) -> bool:
        return self.by_patch and self.patch_as == "layer"

    @property
    def materialises(self) -> bool:
        """A rebuild of a book that carries layers: base + layers + the new patches into one file."""
        return self.by_patch and self.patch_as == "rebuild" and self.layers > 0

    @property
    def offered(self) -> Mapping[str, Any]:
        """The index entry an add or an update fetches (a removal has none: asking is a bug)."""
        assert self.package is not None, f"{self.action} {self.package_id} has no index entry"
        return self.package

    @property
    def disk_bytes(self) -> int:
        """Space the step needs on the content disk: the download, plus what rebuilding the book takes while it
        runs for an update by patch (zimdelta.rebuild_disk_bytes; the base is on the disk already and stays as the
        previous version: a hard link, no copy)."""
        if self.action == "remove":
            return 0
        if not self.by_patch:
            return self.size_bytes
        if self.by_layer:
            return self.size_bytes * LAYER_DISK_FACTOR + LAYER_DISK_MARGIN
        from appliance.content import zimdelta  # here: a web worker plans (approval) without libzim's writer

        return self.size_bytes + zimdelta.rebuild_disk_bytes(self.offered["size_bytes"])


@dataclasses.dataclass(frozen=True)
class Plan:
    """Steps in order (adds and updates, then removals), packages left alone, and notes (skipped packages)."""

    steps: tuple[Step, ...]
    unchanged: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def download_bytes(self) -> int:
        return sum(s.size_bytes for s in self.steps if s.action != "remove")

    @property
    def disk_bytes(self) -> int:
        return sum(s.disk_bytes for s in self.steps)

    def count(self, action: str) -> int:
        return sum(1 for s in self.steps if s.action == action)


@dataclasses.dataclass(frozen=True)
class Carried:
    """What the source that served a channel's index carries of that channel: `files` (paths relative to the
    channel's folder; None: every file its index lists, a mirror), how notes name it, and `behind`, the run's own
    source when that gives what this one lacks (a peer kit stands in for the county mirror; "" for a stick)."""

    name: str
    files: frozenset[str] | None = None
    behind: str = ""

    def has(self, package: Mapping[str, Any]) -> bool:
        return self.files is None or package["file"] in self.files

    def missing_patch(self, chain: Sequence[Mapping[str, Any]]) -> str:
        """Why the chain cannot come from here ("" when every patch of it is carried), naming the road."""
        for patch in chain:
            if not self.has(patch):
                base = patch["base"].get("version") or "the installed version"
                return f"{self.name} does not carry the patch from {base} to {patch['version']}"
        return ""


@dataclasses.dataclass(frozen=True)
class Subscription:
    """What the kit wants: channel names, and optional package-id and tag filters (empty: everything)."""

    channels: tuple[str, ...]
    package_ids: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()  # "key:value"

    @classmethod
    def from_settings(cls, channels: str, packages: str, tags: str) -> Subscription:
        def words(text: str) -> list[str]:
            return [w.strip() for w in text.split(",") if w.strip()]

        return cls(tuple(dict.fromkeys(words(channels))), frozenset(words(packages)), frozenset(words(tags)))

    def wants(self, package: Mapping[str, Any]) -> bool:
        """True when the package passes the id and tag filters."""
        if self.package_ids and package["id"] not in self.package_ids:
            return False
        raw = package["tags"]
        have = {f"{k}:{v}" for k, v in raw.items()} if isinstance(raw, dict) else {str(t) for t in raw}
        return not self.tags or bool(self.tags & have)


def _wanted(indexes: Iterable[ChannelIndex], subscription: Subscription, notes: list[str]):
    """(channel, package) of every package to hold, first channel winning a duplicate id."""
    chosen: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for index in indexes:
        for package in index.packages:
            if not subscription.wants(package) or package.get("kind", "full") == "patch":
                continue  # patches are looked up per book by _patch_route
            if package["id"] in chosen:
                notes.append(
                    f"{package['id']} is also in {index.channel}; the copy in {chosen[package['id']][0]} is used"
                )
            else:
                chosen[package["id"]] = (index.channel, package)
    return chosen


def _is(sha256: str | None, digest: str | None, package: Mapping[str, Any]) -> bool:
    """Whether a book known by file hash and entry digest is the package (its file, or its entries)."""
    return sha256 == package["sha256"] or (digest is not None and digest == package.get("result_digest"))


def file_sha256(row: Installed) -> str | None:
    """The SHA-256 that names the installed book's version: its file's, unless layers are served over that file (the
    file is then the base, an older version: the book is known by its entry digest only)."""
    return None if row.layers else row.sha256


def _patch_chain(row: Installed, patches: Sequence[Mapping[str, Any]], target: str) -> list[Mapping[str, Any]]:
    """The patches leading from the installed book to the entry digest `target`, in order; [] when none does."""
    first = [
        p
        for p in patches
        if p["base"]["sha256"] == file_sha256(row) or (row.digest is not None and p["base"]["digest"] == row.digest)
    ]
    by_base = {p["base"]["digest"]: p for p in patches}
    for start in first:
        chain = [start]
        while chain[-1]["result_digest"] != target and len(chain) <= len(patches):
            following = by_base.get(chain[-1]["result_digest"])
            if following is None:
                break
            chain.append(following)
        if chain[-1]["result_digest"] == target:
            return chain
    return []


def _patch_route(
    row: Installed,
    package: Mapping[str, Any],
    patches: Sequence[Mapping[str, Any]],
    chain_max: int,
    full_ids: frozenset[str],
) -> tuple[tuple[Mapping[str, Any], ...], str]:
    """(patches to apply, "") for an update by patch, else ((), why the full package) — "" when none is offered."""
    if not patches:
        return (), ""
    if package["id"] in full_ids:
        return (), "full package asked for (--full)"
    target = package.get("result_digest")
    if target is not None and row.patch_failed_digest == target:
        return (), "the update by patch failed on the last run"
    chain = _patch_chain(row, patches, target) if target else []  # searched only when it may be used
    if not chain:
        return (), f"no chain of patches from the installed version {row.version}"
    if len(chain) > chain_max:
        return (), f"{len(chain)} patches in a row, more than sync_patch_chain_max = {chain_max}"
    return tuple(chain), ""


def _from_carrier(step: Step, carried: Carried | None, notes: list[str]) -> list[Step]:
    """The step as the source serving its channel can give it (docs/sync.md, "Roads and patches"): its chain when
    every patch of it is carried; else the full book when carried, saying why not by patch; else from the run's own
    source behind it (a peer's), by patch when the index offers a chain; else none, with a note."""
    if carried is None or step.action == "remove":
        return [step]
    missing = carried.missing_patch(step.patches)
    if step.by_patch and not missing:
        return [step]
    whole = dataclasses.replace(
        step,
        patches=(),
        size_bytes=step.offered["size_bytes"],
        why_full=missing or step.why_full,
        patch_as="",
    )
    if carried.has(step.offered):
        return [whole]
    label = f"{step.package_id} {step.version} ({step.channel})"
    if carried.behind:
        road = f"by {len(step.patches)} patch(es)" if step.by_patch else "whole"
        notes.append(f"{label}: not on {carried.name}; it comes {road} from {carried.behind}")
        return [dataclasses.replace(step, primary=True)]
    notes.append(f"{label}: not on {carried.name}" + (f" (nor is the patch: {missing})" if missing else ""))
    return []


def _patch_as(row: Installed, layer_min_bytes: int | None, layers_max: int) -> str:
    """How an update by patch of the installed book is applied: as layers over its file, or rebuilt into one."""
    if layer_min_bytes is None or row.size_bytes < layer_min_bytes:
        return "rebuild"
    return "rebuild" if row.layers >= layers_max else "layer"


def keep_layering(plan: Plan, check: DiskCheck) -> Plan:
    """When the disk check fails and the plan rebuilds a book that carries layers (it reached sync_layers_max), that
    book gets one more layer instead (needing about its patch, not twice the book), and a note says so."""
    if check.ok or not any(s.materialises for s in plan.steps):
        return plan
    notes = list(plan.notes)
    steps = []
    for step in plan.steps:
        if step.materialises:
            notes.append(
                f"{step.package_id} {step.version}: one more layer (it has {step.layers}): rebuilding it into one file "
                f"needs {_mb(step.disk_bytes)} and the disk has {_mb(check.free_bytes)} free"
            )
            step = dataclasses.replace(step, patch_as="layer")
        steps.append(step)
    return dataclasses.replace(plan, steps=tuple(steps), notes=tuple(notes))


def make_plan(
    indexes: Iterable[ChannelIndex],
    installed: Mapping[str, Installed],
    subscription: Subscription,
    *,
    remove_unfetched: bool = True,
    chain_max: int = 4,
    full_ids: frozenset[str] = frozenset(),
    carried: Mapping[str, Carried] | None = None,
    layer_min_bytes: int | None = None,
    layers_max: int = 8,
) -> Plan:
    """Compare the verified indexes of the subscribed channels with the installed packages; an update goes by
    patch when the channel offers a chain of at most `chain_max` patches from the installed book (docs/sync.md).
    `carried` maps a channel whose source carries only some of its files (a stick, a peer kit) to what it carries: an
    update takes the chain only when every patch of it is carried, else the full book (if carried) with a reason
    naming the road, else the run's own source behind it (a peer's) or, with none, the book is left out with a note
    (_from_carrier; docs/sync.md, "Roads and patches"). An update by patch of a book whose installed file is at least
    `layer_min_bytes` (None: never) goes as layers, unless the book has `layers_max` layers already: then it is
    rebuilt (docs/sync.md, "Layers").

    Books of the local channel are never removed; with `remove_unfetched` False (a USB stick), only books of the
    channels fetched are."""
    indexes = list(indexes)
    notes: list[str] = []
    chosen = _wanted(indexes, subscription, notes)
    patches = {
        (index.channel, p["id"]): [q for q in index.packages if q.get("kind") == "patch" and q["id"] == p["id"]]
        for index in indexes
        for p in index.packages
    }
    steps, unchanged = [], []
    for package_id, (channel, package) in sorted(chosen.items()):
        row = installed.get(package_id)
        if row is not None and _is(file_sha256(row), row.digest, package):
            unchanged.append(package_id)
        elif row is not None and _is(row.held_sha256, row.held_digest, package):
            notes.append(f"{package_id} {package['version']}: {HELD_NOTE}")
        elif row is None:
            step = Step("add", package_id, channel, package["size_bytes"], package["version"], None, package)
            steps += _from_carrier(step, (carried or {}).get(channel), notes)
        else:
            if row.channel == LOCAL_CHANNEL:
                notes.append(
                    f"{package_id} {package['version']} ({channel}) replaces the unsigned local book of the "
                    "same id; the local one is kept as its previous version (`tpkit content rollback`)"
                )
            chain, why_full = _patch_route(
                row,
                package,
                patches.get((channel, package_id), []),
                chain_max,
                full_ids,
            )
            size = sum(p["size_bytes"] for p in chain) if chain else package["size_bytes"]
            step = Step(
                "update",
                package_id,
                channel,
                size,
                package["version"],
                row.version,
                package,
                chain,
                why_full,
                _patch_as(row, layer_min_bytes, layers_max) if chain else "",
                row.layers,
            )
            steps += _from_carrier(step, (carried or {}).get(channel), notes)
    fetched = {index.channel for index in indexes}
    for package_id, row in sorted(installed.items()):
        # Only what a verified index no longer lists (or an unsubscribed channel) leaves the library.
        if row.channel == LOCAL_CHANNEL or package_id in chosen:
            continue
        if row.channel in fetched or (remove_unfetched and row.channel not in subscription.channels):
            steps.append(Step("remove", package_id, row.channel, row.size_bytes, row.version, row.version))
    return Plan(tuple(steps), tuple(unchanged), tuple(notes))


@dataclasses.dataclass(frozen=True)
class DiskCheck:
    """Free space on the content disk against what the plan downloads and the reserve to keep."""

    free_bytes: int
    needed_bytes: int
    reserve_bytes: int

    @property
    def ok(self) -> bool:
        # Nothing to write never breaches the reserve (a plan that only removes books must still run).
        return self.needed_bytes == 0 or self.free_bytes - self.needed_bytes >= self.reserve_bytes

    @property
    def short_bytes(self) -> int:
        return 0 if self.ok else self.needed_bytes + self.reserve_bytes - self.free_bytes


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def refuse_if_short(check: DiskCheck, plan: Plan, installed: Mapping[str, Installed]) -> None:
    """A SyncError (sync.disk_reserve) when the plan would leave less than the reserve free."""
    if check.ok:
        return
    biggest = sorted(installed.values(), key=lambda row: -row.size_bytes)[:3]
    candidates = ", ".join(f"{row.id} ({_mb(row.size_bytes)})" for row in biggest) or "none installed by sync"
    raise SyncError(
        f"This sync needs {_mb(check.needed_bytes)} but the content disk has {_mb(check.free_bytes)} free and must "
        f"keep {_mb(check.reserve_bytes)} (disk_reserve_mb): {_mb(check.short_bytes)} short. Nothing was downloaded.",
        code="sync.disk_reserve",
        cause=f"The plan adds or updates {plan.count('add') + plan.count('update')} "
        f"package(s); the largest books now: {candidates}.",
        fix=f"Free at least {_mb(check.short_bytes)}: narrow sync_packages or sync_tags to fewer books, delete books "
        "you no longer need from the content folder, or put the content folder on a larger disk.",
    )
