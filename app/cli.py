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

from app import sandbox_options as opts
from app.flags import add_operator_flags, positive_float, positive_int

__all__ = ["add_sandbox_flags", "build_parser", "main"]

EXIT_USAGE = 2  # argparse's exit code for a command that cannot run as asked
NO_EMULATOR = (
    "dbbackup-operator: this installation has no API emulator (the operator's package and "
    "image leave it out); run the sandbox from a source checkout: make install && make run"
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
    emulator.add_argument("--history-size", type=positive_int, default=None)
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
    add_operator_flags(parser)
    parser.set_defaults(
        metrics_bind_address=opts.SANDBOX_METRICS_BIND_ADDRESS,
        metrics_secure=False,  # local runs: plain HTTP on loopback (docs/design.md §3)
        health_probe_bind_address=opts.SANDBOX_HEALTH_PROBE_BIND_ADDRESS,
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
        type=positive_float,
        default=None,
        help=f"sandbox clock speed, e.g. 60 (default {opts.DEFAULT_SPEED:g}; alias of "
        "--clock-speed)",
    )
    parser.add_argument(
        "--job-duration",
        type=positive_float,
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
            # Imported here: the emulator is optional (see NO_EMULATOR).
            from app import sandbox
        except ModuleNotFoundError as err:
            if not (err.name or "").startswith("emulator"):
                raise
            # The operator's distribution (and image) leaves the API emulator out.
            print(NO_EMULATOR, file=sys.stderr)
            return EXIT_USAGE
        return sandbox.dispatch(args)
    # Imported here so --help and the subcommands do not load the Kubernetes client (~0.7 s).
    from app import operator

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
