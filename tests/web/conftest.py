"""Fixtures the web tests share: signed-in clients of every role against the live kit (tests/conftest.py's `live`)."""

from __future__ import annotations

import pytest

from tests.web.people_clients import role_clients


@pytest.fixture
def roles(kit, live):
    """Signed-in clients of every role (closed afterwards) and the two classes' ids (people_clients.role_clients)."""
    clients, ids = role_clients(kit, live.url)
    yield clients, ids
    for http in clients.values():
        http.close()
