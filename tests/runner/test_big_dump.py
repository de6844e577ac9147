"""Constant memory: a dump of more than 1 GiB backs up, verifies and restores under 100 MiB.

Heavy (about a GiB through PostgreSQL twice): only in ``make test-slow``. The bound is on the
runner process's own peak RSS; the database tools are the engine's, not the runner's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runner.harness import Target, contract_env, run_measured
from tests.runner.servers import Database

GIB = 1024**3
RSS_BOUND = 100 * 1024**2  # the target for any database size
ROWS = 2_200_000  # ~512 bytes of hex text each: a plain dump of just over 1 GiB
TIMEOUT_SECONDS = 1800
JOB = "big-20250327010000"
# Rows, and sums of per-row hashes and lengths: a fingerprint without a GiB-long string.
CHECKSUM = "SELECT count(*), sum(hashtext(id || body)::bigint), sum(length(body)) FROM big;"


@pytest.mark.heavy
@pytest.mark.timeout(TIMEOUT_SECONDS * 3)
def test_a_gibibyte_dump_stays_under_the_memory_bound(postgres: Database, tmp_path: Path) -> None:
    body = " || ".join(f"md5((g * 16 + {i})::text)" for i in range(16))
    postgres.sql('CREATE DATABASE "big";', "postgres")
    postgres.sql(
        f"CREATE TABLE big (id integer PRIMARY KEY, body text);"
        f"INSERT INTO big SELECT g, {body} FROM generate_series(1, {ROWS}) g;",
        "big",
    )
    count_before = postgres.sql(CHECKSUM, "big")
    directory = tmp_path / "backups"
    directory.mkdir()
    env = contract_env(
        postgres, Target("pvc", "", path=directory), backup="big", job=JOB,
        scheduled="2025-03-27T01:00:00Z", db_name="big", scratch=tmp_path,
    )  # fmt: skip
    rss_file = tmp_path / "rss"

    backup, rss = run_measured(env, rss_file, "backup", timeout=TIMEOUT_SECONDS)
    assert backup.returncode == 0, backup.stderr
    raw = int(backup.stderr.split("step=dump")[1].split("bytes=")[1].split()[0])
    assert raw > GIB
    assert rss < RSS_BOUND, f"backup peak RSS {rss / 2**20:.1f} MiB"
    peaks = [f"backup {rss / 2**20:.1f}"]

    verify, rss = run_measured(env, rss_file, "verify", timeout=TIMEOUT_SECONDS)
    assert verify.returncode == 0, verify.stderr
    assert rss < RSS_BOUND, f"verify peak RSS {rss / 2**20:.1f} MiB"
    peaks.append(f"verify {rss / 2**20:.1f}")

    postgres.sql("DELETE FROM big WHERE id % 2 = 0;", "big")
    restore, rss = run_measured(env, rss_file, "restore", timeout=TIMEOUT_SECONDS)
    assert restore.returncode == 0, restore.stderr
    assert rss < RSS_BOUND, f"restore peak RSS {rss / 2**20:.1f} MiB"
    peaks.append(f"restore {rss / 2**20:.1f}")
    assert postgres.sql(CHECKSUM, "big") == count_before
    print(f"dump {raw / 2**20:,.0f} MiB; peak RSS MiB: {', '.join(peaks)}")  # make test-slow -rP
