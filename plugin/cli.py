"""The ``kubectl-dbbackup`` console script: arguments, output, and exit codes.

Role: parses ``run``, ``restore``, ``status``, ``history``, ``suspend`` and ``resume`` (each
with ``--help``), loads the user's kubeconfig (``--kubeconfig``, ``$KUBECONFIG``, in-cluster,
``~/.kube/config``; namespace from ``-n``, else the context's, else ``default``), calls
:mod:`plugin.actions`, and prints what a person needs, one line per fact, tables aligned.

Exit codes, for scripts: 0 done; 1 the restore ran and failed (``restore --wait``); 2 bad
usage; 3 refused for now (``Forbid`` with a run in progress, a running restore, a restore
still running when ``--wait`` timed out); 4 the backup does not exist; 5 the API or the
kubeconfig refused (Forbidden, Invalid, unreachable). Errors go to stderr and say what to do.
Non-goals: anything ``kubectl get`` already does well (the CRDs' printer columns).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from manager.errors import ApiError, Forbidden, NotFound
from manager.kubeconfig import ConfigError, load_client_config
from manager.rest import RestClient
from plugin import actions
from plugin.actions import Refused, RestoreRequest

__all__ = [
    "EXIT_API",
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_API = 5
DEFAULT_NAMESPACE = "default"
DEFAULT_WAIT_TIMEOUT = 3600.0  # seconds; a restore of a large dump takes a while
USER_AGENT = "kubectl-dbbackup"
# The RestoreRequest fields ``restore`` takes from its --to-<field> flags.
RESTORE_OVERRIDES = ("host", "port", "database", "credentials")
# What each command calls, as RBAC (the README's "Back up now" lists the same).
NEEDS = {
    "run": "get databasebackups; list databaserestores; list and create jobs (delete for "
    "concurrencyPolicy Replace)",
    "restore": "get databasebackups; create and get databaserestores",
    "status": "get and list databasebackups",
    "history": "get databasebackups",
    "suspend": "get and patch databasebackups",
    "resume": "get and patch databasebackups",
}
EPILOG = (
    "exit codes: 0 done, 1 restore failed, 2 usage, 3 refused for now, 4 backup not found, "
    "5 API or kubeconfig error"
)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)"
    )
    common.add_argument("--context", help="kubeconfig context to use")
    common.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    parser = argparse.ArgumentParser(
        prog="kubectl dbbackup",
        description="Run, restore and inspect DatabaseBackups as yourself (your kubeconfig, "
        "your RBAC).",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        parents=[common],
        help="back up now: one Job from the backup's current spec",
        description="Create one on-demand run of backup NAME, owned by it and recorded in its "
        "status.history with trigger: manual. concurrencyPolicy applies: Forbid refuses "
        "while a run is in progress.",
        epilog=EPILOG,
    )
    run.add_argument("name", metavar="NAME", help="the DatabaseBackup")
    restore = sub.add_parser(
        "restore",
        parents=[common],
        help="restore a run of a backup (creates a DatabaseRestore)",
        description="Create a DatabaseRestore of backup NAME. The operator waits for a "
        "running backup to finish, then runs one restore Job.",
        epilog=EPILOG,
    )
    restore.add_argument("name", metavar="NAME", help="the DatabaseBackup")
    restore.add_argument(
        "--from",
        dest="source",
        default="latest",
        metavar="latest|RUN|URL",
        help="'latest' (default), a run's Job name from 'history', or a dump URL",
    )
    restore.add_argument("--to-host", help="restore into this database host instead")
    restore.add_argument("--to-port", type=int, help="... on this port")
    restore.add_argument("--to-database", help="... into this database name")
    restore.add_argument("--to-credentials", metavar="SECRET", help="... with this Secret")
    restore.add_argument("--wait", action="store_true", help="wait until it finished")
    restore.add_argument(
        "--timeout", type=float, default=DEFAULT_WAIT_TIMEOUT, help="seconds to --wait"
    )
    status = sub.add_parser("status", parents=[common], help="a table of backups", epilog=EPILOG)
    status.add_argument("name", metavar="NAME", nargs="?", help="one DatabaseBackup")
    status.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    history = sub.add_parser(
        "history", parents=[common], help="the runs of a backup, with locations", epilog=EPILOG
    )
    history.add_argument("name", metavar="NAME", help="the DatabaseBackup")
    history.add_argument("-o", "--output", choices=("table", "json"), default="table")
    for verb, text in (("suspend", "stop scheduling runs"), ("resume", "schedule runs again")):
        cmd = sub.add_parser(verb, parents=[common], help=text, epilog=EPILOG)
        cmd.add_argument("name", metavar="NAME", help="the DatabaseBackup")
    return parser


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _status_rows(backups: Sequence[Mapping[str, Any]], namespaces: bool) -> str:
    head = ["NAME", "SCHEDULE", "SUSPEND", "PHASE", "LAST SUCCESS", "NEXT", "LAST FAILURE"]
    rows = [(["NAMESPACE"] if namespaces else []) + head]
    for b in backups:
        spec, st = b.get("spec") or {}, b.get("status") or {}
        row = [
            b["metadata"]["name"],
            str(spec.get("schedule", "")),
            "yes" if spec.get("suspend") else "no",
            str(st.get("phase") or "Pending"),
            str(st.get("lastSuccessfulBackup") or "-"),
            "-" if spec.get("suspend") else str(st.get("nextScheduledBackup") or "-"),
            str(st.get("failureReason") or "-"),
        ]
        rows.append(([b["metadata"].get("namespace", "")] if namespaces else []) + row)
    return _table(rows)


def _history_rows(backup: Mapping[str, Any]) -> str:
    rows = [["JOB", "TRIGGER", "TIME", "RESULT", "COMPLETED", "LOCATION", "FAILURE"]]
    for e in (backup.get("status") or {}).get("history") or ():
        rows.append(
            [
                str(e.get("job", "")),
                str(e.get("trigger") or "schedule"),
                str(e.get("scheduledTime") or e.get("requestedTime") or "-"),
                str(e.get("result", "")),
                str(e.get("completionTime") or "-"),
                str(e.get("location") or "-"),
                str(e.get("failureReason") or "-"),
            ]
        )
    return _table(rows)


def _dispatch(args: argparse.Namespace, rest: RestClient, ns: str) -> int:
    if args.command == "run":
        job = actions.run_now(rest, ns, args.name, lambda: datetime.now(UTC))
        print(f"job.batch/{job['metadata']['name']} created (manual run of {args.name})")
        print(f"follow it: kubectl dbbackup history {args.name} -n {ns}")
        return EXIT_OK
    if args.command == "restore":
        # Each --to-<field> flag overrides that field of the backup's database.
        overrides = {field: getattr(args, f"to_{field}") for field in RESTORE_OVERRIDES}
        request = RestoreRequest(source=args.source, **overrides)
        created = actions.create_restore(rest, ns, args.name, request)
        name = created["metadata"]["name"]
        print(f"databaserestore.dbbackup.io/{name} created")
        if not args.wait:
            print(f"follow it: kubectl get dbrestore {name} -n {ns} -o wide")
            return EXIT_OK
        done = actions.wait_restore(rest, ns, name, args.timeout)
        st = done.get("status") or {}
        if st.get("phase") == "Succeeded":
            print(f"restored {st.get('source', '')}")
            return EXIT_OK
        if st.get("phase") == "Failed":
            print(f"restore failed: {st.get('failureReason', '')}", file=sys.stderr)
            return EXIT_FAILED
        ready = (st.get("conditions") or [{}])[0]
        print(
            f"still {st.get('phase') or 'Pending'} after {args.timeout:g}s: "
            f"{ready.get('reason', '')}: {ready.get('message', '')}",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if args.command == "status":
        if args.name:
            backups = [actions.get_backup(rest, ns, args.name)]
        else:
            backups = actions.list_backups(rest, None if args.all_namespaces else ns)
        if not backups:
            print(f"no DatabaseBackups in namespace {ns}", file=sys.stderr)
            return EXIT_OK
        print(_status_rows(backups, args.all_namespaces))
        return EXIT_OK
    if args.command == "history":
        backup = actions.get_backup(rest, ns, args.name)
        if args.output == "json":
            print(json.dumps((backup.get("status") or {}).get("history") or [], indent=2))
        else:
            print(_history_rows(backup))
        return EXIT_OK
    suspend = args.command == "suspend"
    actions.set_suspend(rest, ns, args.name, suspend)
    print(f"databasebackup.dbbackup.io/{args.name} {'suspended' if suspend else 'resumed'}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """The console script; returns the exit code (see the module docstring)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or bad usage (2), printed by argparse
        return int(exit_.code or 0)
    try:
        loaded = load_client_config(args.kubeconfig, args.context)
        rest = RestClient(loaded.rest, user_agent=USER_AGENT)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_API
    ns = str(args.namespace or loaded.namespace or DEFAULT_NAMESPACE)
    try:
        return _dispatch(args, rest, ns)
    except Refused as err:
        print(f"refused: {err}", file=sys.stderr)
        return EXIT_REFUSED
    except NotFound as err:
        print(f"error: {err.message}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except Forbidden as err:
        print(f"error: {err.message}", file=sys.stderr)
        print(f"ask your cluster admin for: {NEEDS[args.command]}", file=sys.stderr)
        return EXIT_API
    except ApiError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return EXIT_API
    finally:
        rest.close()
