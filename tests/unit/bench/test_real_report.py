"""The real-server results: what --check fails on, and the figures the page is rendered from."""

from __future__ import annotations

from typing import Any

from bench.real_report import per_object, section
from bench.run import _redacted, correctness

MIB = 2**20


def result(**herd: Any) -> dict[str, Any]:
    base = {"herd_s": 5.0, "lag": {"p50": 2.5, "p99": 4.9}, "duplicates": 0, "missed": 0,
            "errors": 0, "status_writes_before_last_job": 0, "events_recorded": 1000,
            "events_dropped": 0.0, "rss_bytes": 60 * MIB}  # fmt: skip
    return {
        "program": "operator", "server": "kube-apiserver", "n": 1000, "seed_errors": 0,
        "empty": {"rss_bytes": 56 * MIB}, "cold_start": {"synced_s": 1.0, "all_status_s": 6.0},
        "herd": {**base, **herd},
        "floors": [{"workers": w, "floor_s": s, "jobs": 1000, "errors": 0}
                   for w, s in ((4, 5.0), (16, 4.0), (32, 4.5))],
        "floor": {"workers": 16, "floor_s": 4.0, "jobs": 1000, "errors": 0},
        "idle": {"other": 0, "cpu_percent": 0.1}, "load_before": [5.0], "load_after": [6.0],
        "command": "python -m bench.run --kubeconfig ADMIN", "commit": "abc1234",
    }  # fmt: skip


def test_a_clean_run_passes_the_check() -> None:
    assert correctness(result()) == []


def test_events_neither_recorded_nor_counted_fail_the_check() -> None:
    assert correctness(result(events_recorded=990, events_dropped=10.0)) == []
    (problem,) = correctness(result(events_recorded=990, events_dropped=0.0))
    assert "lost silently" in problem


def test_duplicates_and_missed_runs_fail_the_check() -> None:
    problems = correctness(result(duplicates=1, missed=2))
    assert len(problems) == 2


def test_memory_per_cached_object_is_the_rss_growth_over_backups_and_jobs() -> None:
    # 4 MiB more for 1,000 backups and their 1,000 Jobs.
    assert per_object(result()) == 4 * MIB / 2000


def test_the_section_shows_the_ratios_against_the_best_floor() -> None:
    text = "\n".join(section([result()]))
    assert "| N = 1,000 |" in text
    assert "**1.25x** (best: 16 in flight)" in text  # herd 5.0 s over the best floor 4.0 s
    assert "**1.50x**" in text  # first install 6.0 s over 4.0 s
    assert "5.00 / 4.00 / 4.50" in text
    assert "| N=1,000: herd ≤ 1.25x the best floor | 1.25x | met |" in text


def test_the_command_on_the_page_names_no_local_file() -> None:
    argv = ["--kubeconfig", "/home/me/admin", "--audit-log=/var/log/audit.log", "--n", "1000"]
    assert _redacted(argv) == ["--kubeconfig", "ADMIN", "--audit-log=AUDIT_LOG", "--n", "1000"]


def with_status_floors(base: dict[str, Any], *floors: tuple[int, float, int]) -> dict[str, Any]:
    statuses = [{"workers": w, "floor_s": s, "jobs": n, "errors": 0} for w, s, n in floors]
    best = min(statuses, key=lambda f: f["floor_s"])
    return {**base, "status_floors": statuses, "status_floor": best}


def test_first_install_is_also_set_against_the_status_floor() -> None:
    run = with_status_floors(result(), (4, 5.0, 1000), (16, 4.8, 1000), (32, 5.5, 1000))
    text = "\n".join(section([run]))
    assert "5.00 / 4.80 / 5.50" in text
    assert "**1.25x** (best: 16 in flight)" in text  # first install 6.0 s over 4.8 s
    assert "| N=1,000: first install ≤ 1.5x the best status floor | 1.25x | met |" in text
    assert "| N=1,000: first install ≤ 1.5x the best floor | 1.50x | met |" in text  # Jobs


def test_a_status_floor_that_wrote_too_few_fails_the_check() -> None:
    run = with_status_floors(result(), (4, 5.0, 1000), (16, 4.8, 990))
    (problem,) = correctness(run)
    assert "status floor at 16 in flight wrote 990" in problem


def with_watched_floors(base: dict[str, Any], jobs: float, status: float) -> dict[str, Any]:
    def floor(seconds: float) -> dict[str, Any]:
        return {"workers": 16, "floor_s": seconds, "jobs": 1000, "errors": 0, "watched": 1000}

    return {**base, "watched_floor": floor(jobs), "watched_status_floor": floor(status)}


def test_the_herd_and_first_install_are_set_against_the_watched_floors() -> None:
    text = "\n".join(section([with_watched_floors(result(), 4.5, 5.0)]))
    assert "| floor at 16 in flight watching its Jobs (s); herd ÷ it | 4.50; 1.11x |" in text
    assert "watching the backups (s); first install ÷ it | 5.00; 1.20x |" in text
    # The targets stay the issue's: against the best floors.
    assert "| N=1,000: herd ≤ 1.25x the best floor | 1.25x | met |" in text


def test_a_watched_floor_whose_watch_missed_writes_fails_the_check() -> None:
    run = with_watched_floors(result(), 4.5, 5.0)
    assert correctness(run) == []
    run["watched_floor"]["watched"] = 990
    run["watched_floor"]["watch_error"] = "TransportError: WATCH jobs: reset"
    (problem,) = correctness(run)
    assert "watched floor wrote 1000 with 0 errors and its watch saw 990" in problem
    assert "reset" in problem


def test_memory_per_object_is_judged_at_ten_thousand_only() -> None:
    small = result()  # 2,097 B per object at N = 1,000: shown, not judged
    large = {**result(rss_bytes=56 * MIB + 20_000 * 2000), "n": 10_000}
    text = "\n".join(section([small, large]))
    assert "| N=1,000: ≤ 2 KiB per cached object | 2097 B | judged at 10,000 |" in text
    assert "| N=10,000: ≤ 2 KiB per cached object | 2000 B | met |" in text
    over = {**result(rss_bytes=56 * MIB + 20_000 * 2100), "n": 10_000}
    assert "| N=10,000: ≤ 2 KiB per cached object | 2100 B | **missed** |" in "\n".join(
        section([over])
    )


def test_the_servers_concurrency_is_shown_for_the_herd_and_the_floor_at_16() -> None:
    run = result(server={"in_flight": 11.14, "latency_ms": 20.53})
    run["floors"][1]["server"] = {"in_flight": 12.5, "latency_ms": 13.9}
    text = "\n".join(section([run]))
    assert "| Job POSTs at the server: in flight / ms each, herd; floor at 16 | " \
        "11.1 / 20.5; 12.5 / 13.9 |" in text  # fmt: skip
    # Without an audit log there is no such figure: said as such, not as zero.
    assert "| — / —; — / — |" in "\n".join(section([result()]))


def test_the_cores_left_to_the_server_are_shown_for_the_herd_and_the_floor_at_16() -> None:
    # Herd: 1,000 Jobs in 5.0 s, 1.5 cores left → 133 Jobs/s per core; floor at 16: 1,000
    # Jobs in 4.0 s, 1.8 cores left → 139 per core.
    run = result(jobs=1000, machine={"busy_cores": 1.98, "program_cores": 0.42,
                                     "bench_cores": 0.06, "left_cores": 1.5})  # fmt: skip
    run["floors"][1]["machine"] = {"busy_cores": 1.97, "program_cores": 0.12,
                                   "bench_cores": 0.05, "left_cores": 1.8}  # fmt: skip
    text = "\n".join(section([run]))
    assert "herd; floor at 16 | 1.98 / 0.42 / 1.50; 1.97 / 0.12 / 1.80 |" in text
    assert "| Job POSTs per second per core left to the server and etcd, herd; floor at 16 | " \
        "133; 139 |" in text  # fmt: skip
    # A machine without /proc/stat: no figure, said as such.
    assert "| —; — |" in "\n".join(section([result()]))
