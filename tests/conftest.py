"""Shared pytest configuration. Fixtures that start servers bind to 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.server import ApiServer


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    """A fresh API emulator on a free 127.0.0.1 port; stopped when the test ends."""
    with ApiServer() as server:
        yield server
