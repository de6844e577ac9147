"""The ``dbbackup-runner`` command: ``backup`` (the default), ``list``, ``verify``, ``restore``.

Role: parses the arguments, reads the contract's environment, runs the command, and turns
every failure into the contract's exit code with one readable line.
Guarantees: exit 0 on success, else the code of :data:`api.v1alpha1.contract.EXIT_CODES` for
the cause (2 for bad arguments, as for bad configuration); SIGTERM interrupts a run cleanly
(uploads aborted, temporary files removed) with exit 1; no credential is printed.
Non-goals: anything the environment does not say (there are no flags for the database or
the storage: the same env drives every command).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from api.v1alpha1 import contract as c
from api.v1alpha1.times import format_time
from runner import log
from runner.backup import run_backup
from runner.catalog import LATEST, complete_backups, resolve
from runner.config import load_config
from runner.engines import engine_for
from runner.errors import ConfigError, RunnerError
from runner.interrupt import on_signal
from runner.restore import restore, verify
from runner.storage import open_storage

__all__ = ["main"]

LOG = logging.getLogger("dbbackup-runner")
COMMANDS = ("backup", "list", "verify", "restore")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dbbackup-runner",
        description="Back up, list, verify and restore databases as the DatabaseBackup "
        "contract's environment says (see api/v1alpha1/CONTRACT.md).",
    )
    parser.add_argument("command", nargs="?", default="backup", choices=COMMANDS)
    parser.add_argument(
        "--from",
        dest="source",
        default=LATEST,
        help="verify/restore: 'latest' (default), a Job or object name, or a URL",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text", help="list format")
    return parser


def _now() -> datetime:
    return datetime.now(UTC)


def _list(env: Mapping[str, str], output: str) -> None:
    cfg = load_config(env, need_job=False)
    backups = complete_backups(open_storage(cfg), cfg)
    if output == "json":
        rows = [{"url": b.url, **json.loads(b.manifest.to_json())} for b in backups]
        print(json.dumps(rows, indent=2))
        return
    for b in backups:
        m = b.manifest
        print(f"{format_time(m.scheduled_time)}  {m.size:>14}  {m.sha256[:12]}  {b.url}")


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run one command; returns the exit code."""
    try:
        args = _parser().parse_args(list(argv))
        if args.command == "backup":
            cfg = load_config(env)
            run_backup(cfg, open_storage(cfg), engine_for(cfg.db_type), _now)
        elif args.command == "list":
            _list(env, args.output)
        else:
            cfg = load_config(env, need_job=False)
            backup = resolve(open_storage(cfg), cfg, args.source)
            if args.command == "verify":
                verify(backup)
            else:
                restore(cfg, backup, engine_for(cfg.db_type))
    except RunnerError as err:
        code = err.exit_code
        LOG.error("failed: %s: %s", c.describe_exit_code(code), err)
        return code
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The console script."""
    log.setup()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return run(sys.argv[1:] if argv is None else argv, os.environ)
