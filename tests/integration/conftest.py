"""Fixtures shared by the integration tests that run the backup runner for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runner.servers import Database, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Database]:
    """One real PostgreSQL server on loopback for the session (each test uses its own
    database or credentials)."""
    with postgres_server() as db:
        yield db
