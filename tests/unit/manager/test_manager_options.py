"""ManagerOptions: defaults are the named constants, and invalid combinations are refused."""

from __future__ import annotations

import dataclasses

import pytest

from manager import manager as mgr
from manager.leaderelection import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
)
from manager.manager import ManagerOptions


def test_defaults_are_the_named_constants() -> None:
    options = ManagerOptions()
    assert options.metrics_bind_address == mgr.DEFAULT_METRICS_BIND_ADDRESS == ":8080"
    assert options.health_probe_bind_address == mgr.DEFAULT_HEALTH_PROBE_BIND_ADDRESS == ":8081"
    assert options.graceful_shutdown_timeout == mgr.DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT == 30.0
    assert options.max_concurrent_reconciles == mgr.DEFAULT_MAX_CONCURRENT_RECONCILES
    assert options.max_concurrent_handoffs == 0  # none upstream: the worker runs its last step
    assert options.pool_size == mgr.DEFAULT_POOL_SIZE
    assert options.leader_election is False
    assert (options.lease_duration, options.renew_deadline, options.retry_period) == (
        DEFAULT_LEASE_DURATION,
        DEFAULT_RENEW_DEADLINE,
        DEFAULT_RETRY_PERIOD,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.leader_election = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"leader_election": True, "leader_election_namespace": "ns"}, "leader_election_id"),
        ({"leader_election": True, "leader_election_id": "x"}, "leader_election_namespace"),
        ({"graceful_shutdown_timeout": -1}, "graceful_shutdown_timeout"),
        ({"max_concurrent_reconciles": 0}, "max_concurrent_reconciles"),
        ({"max_concurrent_handoffs": -1}, "max_concurrent_handoffs"),
        ({"pool_size": 0}, "pool_size"),
    ],
)
def test_invalid_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ManagerOptions(**kwargs)  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ManagerOptions(None)  # type: ignore[call-arg]
