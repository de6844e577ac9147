"""The operator's flags: names, defaults and value types, shared by every way to start it.

Role: :func:`add_operator_flags` declares the flags of ``dbbackup-operator`` (controller-runtime's
names, docs/design.md §1) on any parser: the plain command, ``sandbox`` and ``run-local`` add the
same set, and the sandbox rebuilds the operator's command line from it
(:func:`app.sandbox_options.operator_flags`). Guarantees: parsing only; no I/O, and nothing of
ours imported but the runtime's defaults (``manager.defaults``), so every module of the
composition root can depend on it without a cycle, and ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime

from manager.defaults import (
    DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
    DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
    DEFAULT_SECURE_METRICS_BIND_ADDRESS,
)

__all__ = [
    "DEFAULT_LEADER_ELECTION_ID",
    "DEFAULT_METRICS_SECURE",
    "OPERATOR_MAX_CONCURRENT_RECONCILES",
    "OPERATOR_MAX_CONCURRENT_WRITES",
    "OPERATOR_NAMESPACE",
    "add_operator_flags",
    "positive_float",
    "positive_int",
]

# The command's defaults. Where the operator keeps the runtime's own default, it is the
# runtime's constant (manager.defaults); the others are the operator's choices, said here once.
DEFAULT_METRICS_SECURE = True  # kubebuilder's cmd/main.go --metrics-secure default
OPERATOR_NAMESPACE = "dbbackup-system"  # docs/design.md §1; the Lease's namespace outside a pod
DEFAULT_LEADER_ELECTION_ID = "dbbackup-operator-leader"  # docs/design.md §1
OPERATOR_MAX_CONCURRENT_RECONCILES = 4  # backups are independent; 4 keeps API load gentle
# A pass's last write (a Job's creation, a status) waiting on the API server, beside the
# workers (docs/design.md §3, "Hand-offs"): a herd's creates and a first install's statuses
# side by side; the floor of a v1.32 server is best near 16 requests in flight.
OPERATOR_MAX_CONCURRENT_WRITES = 16


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"time needs a zone offset (e.g. Z): {value!r}")
    return parsed


# Go's strconv.ParseBool spellings, which controller-runtime's bool flags accept.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _bool(value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


def positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return number


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer: {value!r}")
    return number


def add_operator_flags(parser: argparse.ArgumentParser) -> None:
    """The operator's flags; shared by the plain command, ``run-local`` and ``sandbox``."""
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig file (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)",
    )
    parser.add_argument(
        "--metrics-bind-address",
        default=DEFAULT_SECURE_METRICS_BIND_ADDRESS,
        help="address the /metrics endpoint binds to; '0' disables it (default %(default)s)",
    )
    parser.add_argument(
        "--metrics-secure",
        type=_bool,
        nargs="?",
        const=True,
        default=DEFAULT_METRICS_SECURE,
        metavar="BOOL",
        help="serve /metrics over HTTPS and allow only requests whose bearer token may get "
        "/metrics (TokenReview + SubjectAccessReview); --metrics-secure=false serves plain "
        "HTTP to anyone (default %(default)s)",
    )
    parser.add_argument(
        "--metrics-cert-dir",
        default="",
        metavar="DIR",
        help="directory with the metrics serving certificate (tls.crt, tls.key), reloaded when "
        "it changes; default: a self-signed certificate made at start",
    )
    parser.add_argument(
        "--health-probe-bind-address",
        default=DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
        help="address /healthz and /readyz bind to (default %(default)s)",
    )
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="elect a leader with a Lease so only one replica creates Jobs",
    )
    parser.add_argument(
        "--leader-election-namespace",
        default=os.environ.get("POD_NAMESPACE") or OPERATOR_NAMESPACE,
        help="namespace of the leader-election Lease (default: $POD_NAMESPACE or %(default)s)",
    )
    parser.add_argument(
        "--leader-election-id",
        default=DEFAULT_LEADER_ELECTION_ID,
        help="name of the leader-election Lease (default %(default)s)",
    )
    parser.add_argument(
        "--namespace",
        default=None,
        help="watch DatabaseBackups in this namespace only (default: all namespaces)",
    )
    parser.add_argument(
        "--max-concurrent-reconciles",
        type=positive_int,
        default=OPERATOR_MAX_CONCURRENT_RECONCILES,
        help="worker threads reconciling backups (default %(default)s)",
    )
    parser.add_argument(
        "--max-concurrent-writes",
        type=positive_int,
        default=OPERATOR_MAX_CONCURRENT_WRITES,
        help="writes (Job creations, statuses) in flight at once, beside the workers "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--graceful-shutdown-timeout",
        type=positive_float,
        default=DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
        help="seconds running reconciles get to finish on SIGTERM (default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default %(default)s)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["json", "text"],
        help="log format (default %(default)s)",
    )
    clock = parser.add_argument_group(
        "virtual clock (sandbox and tests only: never set these in production)"
    )
    clock.add_argument(
        "--clock-speed",
        type=positive_float,
        default=None,
        help="run the operator's clock this many times faster than real time",
    )
    clock.add_argument(
        "--clock-start",
        type=_timestamp,
        default=None,
        help="virtual time at --clock-origin (RFC 3339)",
    )
    # Leader-election timings (seconds of the operator's clock). Hidden: tests and the
    # reliability suite shorten them; production keeps client-go's 15/10/2.
    clock.add_argument(
        "--lease-duration", type=positive_float, default=None, help=argparse.SUPPRESS
    )
    clock.add_argument(
        "--renew-deadline", type=positive_float, default=None, help=argparse.SUPPRESS
    )
    clock.add_argument("--retry-period", type=positive_float, default=None, help=argparse.SUPPRESS)
    clock.add_argument(
        "--clock-origin",
        type=float,
        default=None,
        help="real Unix time at which the virtual clock reads --clock-start",
    )
