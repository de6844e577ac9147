"""``make bench-runner``: dbbackup-runner against the raw pipeline on the same database.

Role: starts a throwaway PostgreSQL on 127.0.0.1, fills one table, then alternates, in the
same run, ``pg_dump | zstd -3 > file`` with ``dbbackup-runner backup`` (directory storage)
and ``zstd -d | psql`` with ``dbbackup-runner restore``, and reports ratios against that
baseline: backup throughput (dump bytes per second), peak RSS, restore time. ``--report``
writes the section between the runner-bench markers of ``docs/performance.md``.
Guarantees: every figure is measured in this run, side by side; the best of ``--repeat``
rounds is kept for each side (the machine is shared); no pass/fail on timings.
Non-goals: S3 or GCS throughput (that measures the emulators, not the runner).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.runner.harness import Target, contract_env, run_measured
from tests.runner.servers import Database, postgres_server

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs/performance.md"
BEGIN = "<!-- runner-bench:begin (rendered by make bench-runner) -->"
END = "<!-- runner-bench:end -->"
DEFAULT_ROWS = 1_200_000  # ~350 MiB of plain dump
DEFAULT_REPEAT = 3
MIB = 1024 * 1024
DB = "bench"
JOB = "bench-20250327010000"


@dataclass(frozen=True, slots=True)
class Figures:
    """One side's best round: seconds and peak RSS in bytes."""

    backup_seconds: float
    backup_rss: int
    restore_seconds: float
    stream_seconds: float = 0.0  # the runner's dump step alone (no start-up, probe, manifest)


# The pipeline runs under a small Python launcher that reports its children's peak RSS: Linux
# carries ru_maxrss across exec, so measuring from this (larger) process would count its own.
_LAUNCHER = """
import resource, subprocess, sys
subprocess.run(["bash", "-o", "pipefail", "-c", sys.argv[1]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def _pipeline(db: Database, shell: str) -> tuple[float, int]:
    """Run a shell pipeline; (seconds, largest peak RSS among its processes)."""
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": db.password}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, shell], env=env, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"baseline failed: {shell}: {done.stderr}")
    return seconds, int(done.stdout.split()[-1])


def _seed(db: Database, rows: int) -> None:
    body = " || ".join(f"md5((g * 16 + {i})::text)" for i in range(8))
    db.sql(f'CREATE DATABASE "{DB}";', "postgres")
    db.sql(
        "CREATE TABLE t (id integer PRIMARY KEY, n numeric, at timestamptz, body text);"
        f"INSERT INTO t SELECT g, g * 1.5, now(), {body} FROM generate_series(1, {rows}) g;",
        DB,
    )


def _baseline(db: Database, work: Path) -> Figures:
    conn = f"-h {db.host} -p {db.port} -U {db.user} --no-password"
    out = work / "baseline.sql.zst"
    backup, rss = _pipeline(
        db, f"pg_dump {conn} --clean --if-exists -d {DB} | zstd -3 -q -f -o {out}"
    )
    restore, _ = _pipeline(
        db,
        f"zstd -d -q -c {out} | psql -X {conn} -d {DB} --single-transaction -q "
        "-v ON_ERROR_STOP=1 > /dev/null",
    )
    return Figures(backup, rss, restore)


def _runner(db: Database, work: Path) -> tuple[Figures, int]:
    store = work / "store"
    store.mkdir(exist_ok=True)
    for leftover in store.iterdir():
        leftover.unlink()
    env = contract_env(
        db, Target("pvc", "", path=store), backup="bench", job=JOB,
        scheduled="2025-03-27T01:00:00Z", db_name=DB, scratch=work,
    )  # fmt: skip
    started = time.monotonic()
    done, rss = run_measured(env, work / "rss", "backup", timeout=3600)
    backup = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    dump_line = done.stderr.split("step=dump")[1].splitlines()[0]
    raw = int(dump_line.split("bytes=")[1].split()[0])
    stream = float(dump_line.split("seconds=")[1].split()[0])
    started = time.monotonic()
    done, _ = run_measured(env, work / "rss", "restore", timeout=3600)
    restore = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return Figures(backup, rss, restore, stream), raw


def _best(rounds: list[Figures]) -> Figures:
    return Figures(
        min(r.backup_seconds for r in rounds),
        max(r.backup_rss for r in rounds),
        min(r.restore_seconds for r in rounds),
        min(r.stream_seconds for r in rounds),
    )


def render(base: Figures, runner: Figures, raw: int, rows: int, repeat: int, load: float) -> str:
    """The report section (markdown, between the markers)."""
    mib = raw / MIB
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{load:.1f} at the end (a shared machine: read the ratios)"
    )
    lines = [
        BEGIN,
        "## The backup runner (`make bench-runner`)",
        "",
        f"PostgreSQL {rows:,} rows, a plain dump of {mib:,.0f} MiB; directory storage on local "
        f"disk; best of {repeat} alternating rounds on {machine}, Python "
        f"{platform.python_version()}. Baseline: `pg_dump | zstd -3 > file` and "
        "`zstd -d | psql --single-transaction` (the runner writes plain SQL, so `psql`, not "
        "`pg_restore`, is the matching restore tool).",
        "",
        "| | baseline | dbbackup-runner | ratio |",
        "| --- | --- | --- | --- |",
        f"| backup throughput (dump MiB/s) | {mib / base.backup_seconds:,.1f} | "
        f"{mib / runner.backup_seconds:,.1f} | "
        f"{base.backup_seconds / runner.backup_seconds:.2f}x (target >= 0.9x) |",
        f"| the runner's streaming step alone (dump MiB/s) | | "
        f"{mib / runner.stream_seconds:,.1f} | "
        f"{base.backup_seconds / runner.stream_seconds:.2f}x |",
        f"| backup peak RSS | {base.backup_rss / MIB:,.1f} MiB (largest of pg_dump, zstd "
        f"and bash) | {runner.backup_rss / MIB:,.1f} MiB (runner process; target <= 100 MiB) | |",
        f"| restore time | {base.restore_seconds:,.1f} s | {runner.restore_seconds:,.1f} s "
        f"(verify pass + restore pass) | {runner.restore_seconds / base.restore_seconds:.2f}x |",
        "",
        "The runner's backup includes its start-up, the storage listing, the connection probe, "
        "the tool's version query, the manifest and retention (the second row leaves them "
        "out: a fixed cost that a larger database amortizes); its restore reads the dump "
        "twice (a full SHA-256 check before the database is touched, then the restore, "
        "hashed again).",
        END,
    ]
    return "\n".join(lines)


def _write(section: str) -> None:
    text = DOC.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.runner_bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--report", action="store_true", help="write docs/performance.md")
    args = parser.parse_args(argv)
    with postgres_server() as db, tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        work = Path(tmp)
        _seed(db, args.rows)
        bases: list[Figures] = []
        runners: list[Figures] = []
        raw = 0
        for _ in range(args.repeat):
            bases.append(_baseline(db, work))
            figures, raw = _runner(db, work)
            runners.append(figures)
        load = os.getloadavg()[0]
        section = render(_best(bases), _best(runners), raw, args.rows, args.repeat, load)
    print(section)
    if args.report:
        _write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
