"""Real servers for the runner's tests: PostgreSQL, MariaDB, an S3 server, a GCS emulator.

Role: context managers that start each server in a temporary directory on 127.0.0.1, with a
free port, and stop it (and remove its files) on exit. PostgreSQL and MariaDB refuse to run
as root: as root they run as the unprivileged user ``nobody`` (data directories are chowned
to it), otherwise as the current user.
Guarantees: password authentication is real (a wrong password is refused by the server);
every server listens on loopback only; nothing is left running after the ``with`` block.
Non-goals: tuning (these are throwaway servers; fsync is off for speed).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DB_PASSWORD",
    "DB_USER",
    "Database",
    "ObjectStore",
    "gcs_server",
    "mariadb_server",
    "postgres_server",
    "s3_server",
]


def _pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian's layout)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = Path(os.environ["PG_BIN"]) if "PG_BIN" in os.environ else _pg_bin()
DB_USER = "backup"
DB_PASSWORD = "s3cret-$(not-expanded)"
STARTUP_TIMEOUT_SECONDS = 60
UNPRIVILEGED = "nobody"


@dataclass(frozen=True, slots=True)
class Database:
    """A running database server: how to reach it and how to run SQL as its admin."""

    db_type: str
    host: str
    port: int
    user: str
    password: str
    admin: tuple[str, ...]  # a client command line that runs SQL from stdin as the admin

    def sql(self, statements: str, database: str = "") -> str:
        """Run SQL as the admin; returns stdout (tab-separated rows)."""
        argv = [*self.admin, database] if database else list(self.admin)
        done = subprocess.run(
            argv,
            input=statements,
            capture_output=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"SQL failed: {done.stderr.strip()}")
        return done.stdout


@dataclass(frozen=True, slots=True)
class ObjectStore:
    """A running storage server: its endpoint URL and a bucket that exists."""

    endpoint: str
    bucket: str


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    entry = pwd.getpwnam(UNPRIVILEGED)
    return ["runuser", "-u", UNPRIVILEGED, "--"], entry.pw_uid, entry.pw_gid


def _workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def _chown_tree(path: Path, uid: int | None, gid: int | None) -> None:
    if uid is None or gid is None:
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, gid)
    os.chown(path, uid, gid)


def _wait_ready(check: list[str], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        if subprocess.run(check, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {STARTUP_TIMEOUT_SECONDS}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def postgres_server() -> Iterator[Database]:
    """PostgreSQL with password (scram) authentication; user ``backup`` is a superuser."""
    prefix, uid, gid = _as_server_user()
    work = _workdir("dbbackup-pg-")
    data = work / "data"
    pwfile = work / "pw"
    pwfile.write_text(DB_PASSWORD + "\n")
    _chown_tree(work, uid, gid)
    port = free_port()
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-U", DB_USER,
             "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C"],
            check=True, capture_output=True,
        )  # fmt: skip
        proc = subprocess.Popen(
            [*prefix, str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={work}",
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        env_pw = f"PGPASSWORD={DB_PASSWORD}"
        psql = ["env", env_pw, "psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U",
                DB_USER, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-d"]  # fmt: skip
        _wait_ready([*psql, "postgres", "-c", "SELECT 1"], proc, "postgres")
        yield Database("postgresql", "127.0.0.1", port, DB_USER, DB_PASSWORD, tuple(psql))
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def mariadb_server() -> Iterator[Database]:
    """MariaDB with password authentication for ``backup``@``%`` (all privileges)."""
    _, uid, gid = _as_server_user()
    work = _workdir("dbbackup-maria-")
    data = work / "data"
    sock = work / "mysqld.sock"
    _chown_tree(work, uid, gid)
    user = ["--user=" + UNPRIVILEGED] if uid is not None else []
    port = free_port()
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={data}", *user,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True,
        )  # fmt: skip
        proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
             f"--port={port}", "--bind-address=127.0.0.1", *user, f"--pid-file={work}/pid",
             "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        root = ["mariadb", "--no-defaults", f"--socket={sock}", "-uroot", "--batch", "-N"]
        _wait_ready([*root, "-e", "SELECT 1"], proc, "mariadbd")
        quoted = DB_PASSWORD.replace("'", "''")
        subprocess.run(
            [*root, "-e", f"CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{quoted}'; "
             f"GRANT ALL ON *.* TO '{DB_USER}'@'%' WITH GRANT OPTION;"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield Database("mariadb", "127.0.0.1", port, DB_USER, DB_PASSWORD, tuple(root))
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def s3_server(bucket: str = "backups") -> Iterator[ObjectStore]:
    """moto's S3 server on 127.0.0.1 with ``bucket`` created."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.create_bucket(Bucket=bucket)
        yield ObjectStore(endpoint, bucket)
    finally:
        server.stop()


@contextmanager
def gcs_server(bucket: str = "backups") -> Iterator[ObjectStore]:
    """gcp-storage-emulator (the JSON API, resumable uploads) in memory on 127.0.0.1."""
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True, default_bucket=bucket)
    server.start()
    try:
        port = server._api._httpd.server_address[1]
        yield ObjectStore(f"http://127.0.0.1:{port}", bucket)
    finally:
        server.stop()
