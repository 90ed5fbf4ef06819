"""libzim's caches sized from the RAM the kit finds (issue 15): a 1 GB Pi stays well under its memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.config import load_settings
from appliance.content import zimfile
from appliance.services.kit import open_kit
from appliance.services.library import cache_sizes

MIB = 2**20


@pytest.fixture
def restored_caches() -> Iterator[None]:
    """The test process's libzim caches as they were: the cluster cache is one for the whole process."""
    before = zimfile.cluster_cache_bytes()
    yield
    zimfile.set_cache_sizes(before, cache_sizes.DIRENTS_PER_BOOK)


@pytest.mark.parametrize(
    ("ram_mb", "workers", "cluster_mb", "dirents"),
    [
        (906, 2, 7, 512),  # a 1 GB Pi as /proc/meminfo shows it (the GPU keeps the rest), two workers (the default)
        (1024, 2, 8, 512),
        (1024, 4, 4, 512),  # one worker per core of a Pi 4: together still what kiwix-serve's one process holds
        (512, 2, 4, 256),
        (256, 4, 4, 256),  # never below a few clusters a worker
        (4096, 2, 8, 512),  # never above libzim's default (16 MiB) for all workers together
        (24 * 1024, 1, 16, 512),
    ],
)
def test_cache_sizes_follow_the_ram_and_the_workers(ram_mb, workers, cluster_mb, dirents):
    sizes = cache_sizes.for_ram(ram_mb * MIB, workers)
    assert (sizes.cluster_bytes // MIB, sizes.dirents_per_book) == (cluster_mb, dirents)
    together = min(cache_sizes.CLUSTER_TOTAL_MAX_BYTES, ram_mb * MIB // 64)
    assert sizes.cluster_bytes * workers <= max(together, cache_sizes.CLUSTER_MIN_BYTES * workers)


def test_cache_sizes_read_the_machines_ram_unless_memory_mb_is_set(settings):
    assert cache_sizes.ram_bytes(settings) > 64 * MIB  # MemTotal of this machine
    pi = load_settings(environ={"TPKIT_MEMORY_MB": "1024"})
    assert pi.memory_mb == 1024 and cache_sizes.ram_bytes(pi) == 1024 * MIB


def test_cache_sizes_are_applied_when_the_kit_opens_its_books(tmp_path, content_dir, book, restored_caches):
    small = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "content_dir": str(content_dir),
            "memory_mb": "512",
            "web_workers": "2",
            "mdns_enabled": False,
        },
    )
    kit = open_kit(small)
    try:
        assert zimfile.cluster_cache_bytes() == 4 * MIB
        assert [b.zim.dirent_cache_size for b in kit.load_library().books()] == [256]
    finally:
        kit.close()
