"""Fixtures for the runner's tests: one of each real server per session, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runner.servers import (
    Database,
    ObjectStore,
    gcs_server,
    mariadb_server,
    postgres_server,
    s3_server,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Database]:
    with postgres_server() as db:
        yield db


@pytest.fixture(scope="session")
def mariadb() -> Iterator[Database]:
    with mariadb_server() as db:
        yield db


@pytest.fixture(scope="session")
def s3() -> Iterator[ObjectStore]:
    with s3_server() as store:
        yield store


@pytest.fixture(scope="session")
def gcs() -> Iterator[ObjectStore]:
    with gcs_server() as store:
        yield store
