"""Fixtures the sync tests share: the county's mirror (a channel folder and its signing key) and an rsync daemon
serving it on loopback. A module that needs another kind of mirror defines its own `mirror`, which wins there."""

from __future__ import annotations

import pytest

from tests.mirror import Mirror, RsyncDaemon


@pytest.fixture
def mirror(tmp_path):
    return Mirror(tmp_path / "mirror", tmp_path / "keys")


@pytest.fixture
def daemon(tmp_path, mirror):
    mirror.root.mkdir(parents=True, exist_ok=True)
    server = RsyncDaemon(mirror.root, tmp_path).start()
    yield server
    server.stop()
