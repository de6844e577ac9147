"""The database engines: which tool dumps and restores, how, and what its errors mean.

Role: :func:`engine_for` gives the :class:`Engine` of ``DB_TYPE``; an engine builds the
command lines and the environment for the probe, the dump and the restore, and classifies a
tool's stderr into the contract's failures.
Guarantees: passwords never appear on a command line (``PGPASSWORD``, ``MYSQL_PWD``, or a
0600 config file for the MongoDB tools); the tools get a minimal environment (no storage
credentials); PostgreSQL dumps are plain SQL with ``--clean --if-exists`` (``pg_dumpall``
when ``DB_NAME`` is empty) and restore with ``psql`` in a single transaction for one database;
a whole-server restore (``pg_dumpall``'s script) runs
without ``ON_ERROR_STOP``, since it must survive dropping the role it runs as;
MySQL/MariaDB dumps use ``--single-transaction``; MongoDB uses ``--archive``.
Non-goals: streaming and storage (:mod:`runner.backup`, :mod:`runner.restore`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from runner.config import Config
from runner.errors import (
    ConfigError,
    DatabaseAuthError,
    DatabaseUnreachableError,
    RunnerError,
    ToolError,
)

__all__ = ["Commands", "Engine", "engine_for", "family"]

CONNECT_TIMEOUT_SECONDS = 10
_BASE_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "TZ")
MONGO_CONFIG_MODE = 0o600


def family(db_type: str) -> str:
    """Engines whose dumps restore into each other (MySQL and MariaDB) share a family."""
    return "mysql" if db_type in ("mysql", "mariadb") else db_type


@dataclass(frozen=True, slots=True)
class Commands:
    """The command lines for one configuration; ``probe`` is empty when there is none."""

    env: dict[str, str] = field(repr=False)
    probe: tuple[str, ...]
    version: tuple[str, ...]
    dump: tuple[str, ...]
    restore: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Patterns:
    auth: tuple[str, ...]
    unreachable: tuple[str, ...]
    config: tuple[str, ...]


def _base_env(cfg: Config) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _BASE_ENV}
    env.setdefault("HOME", cfg.scratch_dir)
    env.setdefault("TMPDIR", cfg.scratch_dir)
    return env


class Engine(ABC):
    """One database engine (a subclass per type)."""

    db_type = ""
    tool = ""
    patterns = _Patterns((), (), ())

    @abstractmethod
    def commands(self, cfg: Config, secret_dir: str) -> Commands:
        """Command lines for ``cfg``; ``secret_dir`` is a private scratch directory."""

    def classify(self, stderr: str) -> type[RunnerError]:
        """The failure a tool's stderr describes (:class:`ToolError` when unrecognised)."""
        for kinds, error in (
            (self.patterns.auth, DatabaseAuthError),
            (self.patterns.unreachable, DatabaseUnreachableError),
            (self.patterns.config, ConfigError),
        ):
            if any(re.search(p, stderr, re.IGNORECASE) for p in kinds):
                return error
        return ToolError


class PostgreSQL(Engine):
    db_type = "postgresql"
    patterns = _Patterns(
        auth=(
            r"password authentication failed",
            r"no password supplied",
            r"authentication failed",
            r"pg_hba\.conf",
            r'role ".*" does not exist',
        ),
        unreachable=(
            r"could not connect",
            r"connection refused",
            r"could not translate host name",
            r"timeout expired",
            r"server closed the connection",
            r"did not answer",
        ),
        config=(r'database ".*" does not exist',),
    )

    def commands(self, cfg: Config, secret_dir: str) -> Commands:
        env = _base_env(cfg) | {"PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS)}
        if cfg.db_password:
            env["PGPASSWORD"] = cfg.db_password
        conn = ["--no-password", "--host", cfg.db_host, "--port", str(cfg.db_port)]
        if cfg.db_user:
            conn += ["--username", cfg.db_user]
        db = cfg.db_name or "postgres"
        psql = ["psql", "--no-psqlrc", *conn, "--dbname", db]
        if cfg.db_name:
            dump = ["pg_dump", *conn, "--clean", "--if-exists", "--dbname", cfg.db_name]
            version = ("pg_dump", "--version")
            restore = [*psql, "--single-transaction", "--quiet", "--set", "ON_ERROR_STOP=1"]
        else:
            # pg_dumpall's script drops and recreates roles, including the one restoring:
            # as PostgreSQL documents for it, errors on objects that must stay are expected.
            dump = ["pg_dumpall", *conn, "--clean", "--if-exists", "--database", "postgres"]
            version = ("pg_dumpall", "--version")
            restore = [*psql, "--quiet"]
        return Commands(
            env=env,
            probe=(*psql, "--tuples-only", "--no-align", "--command", "SHOW server_version"),
            version=version,
            dump=tuple(dump),
            restore=tuple(restore),
        )


def _which(*names: str) -> str:
    return next((n for n in names if shutil.which(n)), names[0])


class MySQL(Engine):
    db_type = "mysql"
    patterns = _Patterns(
        auth=(r"\b1045\b", r"access denied", r"\b1698\b"),
        unreachable=(
            r"\b200[2356]\b",
            r"\b2013\b",
            r"can't connect",
            r"unknown (mysql|mariadb )?server host",
            r"did not answer",
        ),
        config=(r"\b1049\b", r"unknown database"),
    )

    def commands(self, cfg: Config, secret_dir: str) -> Commands:
        env = _base_env(cfg)
        if cfg.db_password:
            env["MYSQL_PWD"] = cfg.db_password
        conn = ["--protocol=TCP", f"--host={cfg.db_host}", f"--port={cfg.db_port}"]
        if cfg.db_user:
            conn.append(f"--user={cfg.db_user}")
        client = _which("mariadb", "mysql")
        dumper = _which("mariadb-dump", "mysqldump")
        dump = [dumper, *conn, "--single-transaction", "--routines", "--triggers"]
        dump += [cfg.db_name] if cfg.db_name else ["--all-databases", "--events"]
        target = [cfg.db_name] if cfg.db_name else []
        probe = [client, *conn, f"--connect-timeout={CONNECT_TIMEOUT_SECONDS}", "--batch"]
        probe += ["--skip-column-names", "--execute", "SELECT VERSION()", *target]
        return Commands(
            env=env,
            probe=tuple(probe),
            version=(dumper, "--version"),
            dump=tuple(dump),
            restore=(client, *conn, *target),
        )


class MariaDB(MySQL):
    db_type = "mariadb"


class MongoDB(Engine):
    db_type = "mongodb"
    patterns = _Patterns(
        auth=(r"authentication failed", r"auth error", r"unable to authenticate"),
        unreachable=(
            r"server selection",
            r"connection refused",
            r"no reachable servers",
            r"could not connect",
        ),
        config=(),
    )

    def commands(self, cfg: Config, secret_dir: str) -> Commands:
        conn = ["--host", cfg.db_host, "--port", str(cfg.db_port)]
        if cfg.db_user:
            conn += ["--username", cfg.db_user, "--authenticationDatabase", "admin"]
        if cfg.db_password:
            path = os.path.join(secret_dir, "mongo-tools.yaml")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MONGO_CONFIG_MODE)
            with os.fdopen(fd, "w") as out:
                out.write(f"password: {_yaml_string(cfg.db_password)}\n")
            conn += ["--config", path]
        dump = ["mongodump", *conn, "--archive"]
        restore = ["mongorestore", *conn, "--archive", "--drop"]
        if cfg.db_name:
            dump += ["--db", cfg.db_name]
            restore += ["--nsInclude", f"{cfg.db_name}.*"]
        return Commands(
            env=_base_env(cfg),
            probe=(),
            version=("mongodump", "--version"),
            dump=tuple(dump),
            restore=tuple(restore),
        )


def _yaml_string(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escaping is valid YAML)."""
    return json.dumps(value)


_ENGINES: dict[str, Engine] = {e.db_type: e for e in (PostgreSQL(), MySQL(), MariaDB(), MongoDB())}


def engine_for(db_type: str) -> Engine:
    """The engine of ``DB_TYPE``."""
    return _ENGINES[db_type]
