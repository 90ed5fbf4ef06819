"""How much of the machine's RAM libzim's caches may hold in each web worker, from the RAM the kit finds (issue 15).

A kit is a Pi with 1 GB (MemTotal ~900 MB after the GPU's share), sometimes 512 MB, sometimes 4 GB. libzim keeps two
caches per process: decompressed clusters (one for every book; a cluster is ~1-2 MB of articles) and directory
entries (one per book; ~100 bytes each). Each web worker is its own process, so the cluster cache counts once per
worker. The sizes are printed at start (`tpkit serve`) and in docs/performance.md, "A 1 GB Pi".

Must not import web or cli.
"""

from __future__ import annotations

import dataclasses

from appliance.config import Settings
from appliance.edges import system

MIB = 2**20
# When /proc/meminfo cannot be read: the smallest kit we support.
FALLBACK_RAM_BYTES = 1024 * MIB
# All web workers' cluster caches together hold at most what kiwix-serve's one process holds (libzim's default,
# 16 MiB), and at most 1/64 of the RAM: 8 MB a worker on a 1 GB Pi with two workers. libzim's own 16 MiB in each of
# two workers had the bench's RssAnon peak at 314 MB (random, image, search at 16 and 64 clients); 8 MiB each (and 256
# directory entries a book), 229 MB, random reads no slower (docs/performance.md, "Cold start and memory"). Never less than a few clusters a worker: a
# page and its images are read from the same few.
CLUSTER_TOTAL_MAX_BYTES = 16 * MIB
CLUSTER_SHARE = 64
CLUSTER_MIN_BYTES = 4 * MIB
# libzim's default per book; half of it below 512 MB of RAM (the few KB matter little, the rule keeps them bounded).
DIRENTS_PER_BOOK = 512
DIRENTS_PER_BOOK_SMALL = 256
SMALL_RAM_BYTES = 512 * MIB


@dataclasses.dataclass(frozen=True)
class CacheSizes:
    """libzim's cache sizes for one web worker, and what they were made from."""

    ram_bytes: int
    workers: int
    cluster_bytes: int  # this worker's cluster cache (every book shares it)
    dirents_per_book: int

    def describe(self) -> str:
        return (
            f"book caches sized for {self.ram_bytes // MIB} MB of RAM and {self.workers} web worker(s): "
            f"{self.cluster_bytes // MIB} MB of decompressed clusters a worker, "
            f"{self.dirents_per_book} directory entries a book"
        )


def for_ram(ram_bytes: int, workers: int) -> CacheSizes:
    """The sizes for a machine with `ram_bytes` of RAM serving with `workers` web worker processes."""
    total = min(CLUSTER_TOTAL_MAX_BYTES, ram_bytes // CLUSTER_SHARE)
    cluster = max(CLUSTER_MIN_BYTES, total // max(1, workers))
    dirents = DIRENTS_PER_BOOK if ram_bytes > SMALL_RAM_BYTES else DIRENTS_PER_BOOK_SMALL
    return CacheSizes(ram_bytes=ram_bytes, workers=max(1, workers), cluster_bytes=cluster, dirents_per_book=dirents)


def ram_bytes(settings: Settings) -> int:
    """The RAM to size for: `memory_mb` when set, else the machine's MemTotal (FALLBACK_RAM_BYTES when unreadable)."""
    if settings.memory_mb:
        return settings.memory_mb * MIB
    found = system.memory()
    return found["total_bytes"] if found else FALLBACK_RAM_BYTES


def for_kit(settings: Settings) -> CacheSizes:
    return for_ram(ram_bytes(settings), settings.web_workers)
