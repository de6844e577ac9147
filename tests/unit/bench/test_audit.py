"""The real-server benchmark's figures from a kube-apiserver v1.32 audit log (a recorded sample:
the operator's first install, herd and Events, an admin's refused create, other stages)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.audit import (
    AuditLog,
    AuditRecord,
    concurrency,
    counts,
    creates,
    parse,
    served,
    status_writes,
)
from bench.real import herd_figures, next_boundary

SAMPLE = Path(__file__).with_name("audit-sample.jsonl")
OPERATOR = "system:serviceaccount:dbbackup-system:dbbackup-operator"
SLOT = "20261206070400"
HERD_JOBS = [f"db-{i:06d}-{SLOT}" for i in (481, 479, 486)]  # in the order the server answered
BOUNDARY = datetime(2026, 12, 6, 7, 4, tzinfo=UTC).timestamp()


def records() -> list[AuditRecord]:
    return list(parse(SAMPLE.read_text().splitlines()))


def test_only_completed_requests_are_records_with_the_server_answer_time() -> None:
    got = records()
    # RequestReceived and a watch's ResponseStarted are not answers yet.
    assert len(got) == 8
    status = next(r for r in got if r.resource == "databasebackups/status")
    assert (status.user, status.verb, status.namespace, status.name, status.code) == (
        OPERATOR, "update", "dbbackup-bench", "db-000001", 200)  # fmt: skip
    assert status.at == datetime(2026, 12, 6, 7, 3, 38, 776792, tzinfo=UTC).timestamp()


def test_job_creates_are_the_users_successful_ones_of_the_slot() -> None:
    jobs = creates(records(), OPERATOR, "jobs", SLOT)
    assert [name for name, _ in jobs] == HERD_JOBS
    # The admin's create answered 409 is nobody's Job; another slot's Jobs are not this one's.
    assert creates(records(), "admin", "jobs") == []
    assert creates(records(), OPERATOR, "jobs", "20261207070400") == []


def test_status_writes_and_counts_by_user() -> None:
    assert len(status_writes(records(), OPERATOR, "databasebackups")) == 2
    c = counts(records(), OPERATOR)
    assert c["create jobs 201"] == 3
    assert c["update leases 200"] == 1
    assert c["create events 201"] == 1
    assert counts(records(), "admin") == {"create jobs 409": 1}


def test_herd_figures_from_the_sample() -> None:
    jobs = creates(records(), OPERATOR, "jobs", SLOT)
    early = status_writes(records(), OPERATOR, "databasebackups")
    figures = herd_figures(jobs, BOUNDARY, 4, early)
    assert figures["herd_s"] == pytest.approx(0.066554, abs=1e-5)
    assert figures["lag"]["p50"] == pytest.approx(0.021697, abs=1e-5)
    assert (figures["jobs"], figures["duplicates"], figures["missed"]) == (3, 0, 1)
    # Both status writes came before the first Job of the herd.
    assert figures["status_writes_before_last_job"] == 2


def test_the_servers_concurrency_is_its_time_on_the_requests_over_their_span() -> None:
    spans = served(records(), OPERATOR, "jobs", SLOT)
    # Received and answered, as the server stamped them (the admin's 409 is not one of them).
    assert spans[1] == (
        datetime(2026, 12, 6, 7, 4, 0, 18992, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 6, 7, 4, 0, 21697, tzinfo=UTC).timestamp(),
    )
    figures = concurrency(spans)
    # 11.390 + 2.705 + 6.893 ms of the server's time over the 60.631 ms from first to last.
    assert figures["latency_ms"] == pytest.approx(20.988 / 3, abs=1e-3)
    assert figures["in_flight"] == pytest.approx(20.988 / 60.631, abs=1e-4)
    # Two requests held side by side for their whole second: two in flight.
    assert concurrency([(0.0, 1.0), (0.0, 1.0)]) == {"in_flight": 2.0, "latency_ms": 1000.0}
    assert concurrency([]) == {}


def test_a_job_posted_twice_is_a_duplicate() -> None:
    jobs = [("db-1-x", 10.5), ("db-1-x", 10.7), ("db-2-x", 10.2)]
    figures = herd_figures(jobs, 10.0, 2, [10.6, 11.0])
    assert (figures["jobs"], figures["duplicates"], figures["missed"]) == (2, 1, 0)
    assert figures["herd_s"] == pytest.approx(0.7)
    assert figures["status_writes_before_last_job"] == 1
    assert math.isnan(herd_figures([], 10.0, 2, [])["herd_s"])


def test_the_log_is_read_from_a_mark_in_whole_lines(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    path = tmp_path / "audit.log"
    path.write_text("".join(lines[:5]))
    log = AuditLog(path)
    mark = log.mark()
    # The server is half-way through the last line: it is not read until it is whole.
    with path.open("a") as f:
        f.write("".join(lines[5:8]) + lines[8][:40])
    assert [r.name for r in log.since(mark)] == HERD_JOBS
    assert AuditLog(tmp_path / "absent.log").mark() == 0


def test_the_boundary_is_the_next_whole_minute() -> None:
    at = datetime(2026, 12, 6, 7, 3, 1, tzinfo=UTC).timestamp()
    assert next_boundary(at) == datetime(2026, 12, 6, 7, 4, tzinfo=UTC)
    exact = datetime(2026, 12, 6, 7, 4, tzinfo=UTC).timestamp()
    assert next_boundary(exact) == datetime(2026, 12, 6, 7, 4, tzinfo=UTC)
