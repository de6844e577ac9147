"""Operator replicas with leader election on shortened lease timings (scenarios 1b and 3).

Each replica runs under its own ServiceAccount user, so the audit log tells them apart. The
timings are virtual seconds of the world's clock (at x20: 1.5 s / 1 s / 0.2 s real).
"""

from __future__ import annotations

from tests.reliability.world import World
from tests.support.operator import OperatorProcess

LEASE, RENEW, RETRY = 30.0, 20.0, 4.0
USERS = {k: f"system:serviceaccount:dbbackup-system:replica-{k}" for k in "abc"}


def replica(world: World, key: str, env: dict[str, str] | None = None) -> OperatorProcess:
    """Replica ``key`` (``a``, ``b`` or ``c``) running ``--leader-elect`` with those timings."""
    return world.operator(
        kubeconfig=world.identity(USERS[key], f"token-{key}"),
        env=env,
        extra_args=(
            "--leader-elect",
            "--lease-duration", str(LEASE),
            "--renew-deadline", str(RENEW),
            "--retry-period", str(RETRY),
        ),
    )  # fmt: skip
