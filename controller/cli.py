"""The ``dbbackup-operator`` command: flag parsing and dispatch (the composition root's door).

``dbbackup-operator [flags]`` runs the operator (the Manager with the DatabaseBackup
controller). Subcommands: ``emulator`` serves the Kubernetes API emulator, ``sandbox`` runs
the whole loop without a cluster, ``run-local`` picks the operator when a cluster answers and
the sandbox otherwise (what ``make run`` does). Flag names are controller-runtime's
(docs/design.md §1). This module parses and dispatches; it is the only place that turns a result
into an exit code.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime

__all__ = ["build_parser", "main"]

# kubebuilder's scaffold: HTTPS on 8443, authenticated and authorized (docs/design.md §3).
DEFAULT_METRICS_BIND_ADDRESS = ":8443"
DEFAULT_METRICS_SECURE = True  # kubebuilder's cmd/main.go --metrics-secure default
DEFAULT_HEALTH_PROBE_BIND_ADDRESS = ":8081"  # kubebuilder scaffold's default
DEFAULT_LEADER_ELECTION_ID = "dbbackup-operator-leader"  # docs/design.md §1
DEFAULT_LEADER_ELECTION_NAMESPACE = "dbbackup-system"  # docs/design.md §1, used outside a pod
DEFAULT_MAX_CONCURRENT_RECONCILES = 4  # backups are independent; 4 keeps API load gentle
DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT = 30.0  # seconds; controller-runtime's default
EXIT_USAGE = 2  # argparse's exit code for a command that cannot run as asked
NO_EMULATOR = (
    "dbbackup-operator: this installation has no API emulator (the operator's package and "
    "image leave it out); run the sandbox from a source checkout: make install && make run"
)


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


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return number


def _positive_int(value: str) -> int:
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
        default=DEFAULT_METRICS_BIND_ADDRESS,
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
        default=os.environ.get("POD_NAMESPACE") or DEFAULT_LEADER_ELECTION_NAMESPACE,
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
        type=_positive_int,
        default=DEFAULT_MAX_CONCURRENT_RECONCILES,
        help="worker threads reconciling backups (default %(default)s)",
    )
    parser.add_argument(
        "--graceful-shutdown-timeout",
        type=_positive_float,
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
        type=_positive_float,
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
        "--lease-duration", type=_positive_float, default=None, help=argparse.SUPPRESS
    )
    clock.add_argument(
        "--renew-deadline", type=_positive_float, default=None, help=argparse.SUPPRESS
    )
    clock.add_argument("--retry-period", type=_positive_float, default=None, help=argparse.SUPPRESS)
    clock.add_argument(
        "--clock-origin",
        type=float,
        default=None,
        help="real Unix time at which the virtual clock reads --clock-start",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbbackup-operator",
        description="Run scheduled database backups as Kubernetes Jobs.",
    )
    add_operator_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    emulator = sub.add_parser(
        "emulator", help="serve the Kubernetes API emulator in the foreground"
    )
    emulator.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    emulator.add_argument("--write-kubeconfig", default=None, metavar="PATH")
    emulator.add_argument("--history-size", type=_positive_int, default=None)
    sandbox = sub.add_parser(
        "sandbox", help="run the emulator, a simulated job runner and the operator together"
    )
    add_sandbox_flags(sandbox)
    run_local = sub.add_parser(
        "run-local",
        help="run the operator against the current kubeconfig if a cluster answers, "
        "else the sandbox",
    )
    add_sandbox_flags(run_local)
    return parser


def add_sandbox_flags(parser: argparse.ArgumentParser) -> None:
    """Sandbox flags, plus the operator's own (put them after the subcommand)."""
    from controller import sandbox_options as opts  # imports this module: import lazily

    add_operator_flags(parser)
    parser.set_defaults(
        metrics_bind_address=opts.DEFAULT_METRICS_BIND_ADDRESS,
        metrics_secure=False,  # local runs: plain HTTP on loopback (docs/design.md §3)
        health_probe_bind_address=opts.DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"emulator's plain-HTTP port (default {opts.DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--write-kubeconfig",
        default=None,
        metavar="PATH",
        help=f"where to write the sandbox's kubeconfig (default ./{opts.DEFAULT_KUBECONFIG})",
    )
    parser.add_argument(
        "--with-samples",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply config/samples into the sandbox (default: off for sandbox, on for run-local)",
    )
    parser.add_argument(
        "--speed",
        type=_positive_float,
        default=None,
        help=f"sandbox clock speed, e.g. 60 (default {opts.DEFAULT_SPEED:g}; alias of "
        "--clock-speed)",
    )
    parser.add_argument(
        "--job-duration",
        type=_positive_float,
        default=None,
        help=f"virtual seconds a backup Job runs (default {opts.DEFAULT_JOB_DURATION:g})",
    )
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=None,
        help=f"fraction of backup Jobs that fail (default {opts.DEFAULT_FAILURE_RATE:g})",
    )
    parser.add_argument(
        "--real-jobs",
        metavar="DIR",
        default=None,
        help="run dbbackup-runner for each Job on this machine instead of simulating it "
        "(pvc storage lands in DIR; the database must be reachable and its client tools on "
        "PATH)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command in ("emulator", "sandbox", "run-local"):
        try:
            from controller import sandbox
        except ModuleNotFoundError as err:
            if not (err.name or "").startswith("emulator"):
                raise
            # The operator's distribution (and image) leaves the API emulator out.
            print(NO_EMULATOR, file=sys.stderr)
            return EXIT_USAGE
        return sandbox.dispatch(args)
    from controller import operator

    code = operator.run(args)
    if code != 0:
        # A lost Lease or a failed runnable: leave now, as controller-runtime's os.Exit does.
        # A reconcile still running on a worker thread cannot be stopped in Python, and it
        # must not go on creating Jobs while another replica leads.
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
