"""``make bench`` / ``make bench-quick``: run the workloads, append JSON lines, check, report.

Role: the benchmark's command line. For each N it runs the operator's workloads (with the
floor on the same emulator) and, unless ``--no-kopf``, the kopf peer's; every run appends one
JSON line (the figures, the machine, the commit, the command) to ``--out``. ``--check`` fails
(exit 1) on a correctness problem only — duplicates, missed runs, errors, writes after a
restart, a backup never reaching status — never on speed. ``--report`` renders
``docs/performance.md`` and its chart from the lines of this invocation.

Run: ``.venv/bin/python -m bench.run --n 1000 --n 10000 --report``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT
from bench.workloads import Plan, machine, run_operator

DEFAULT_OUT = ROOT / "bench/results/bench.jsonl"
# The virtual clock's speed. Everything the operator times runs on it, including the cache sync
# timeout (controller-runtime's 2 min): at x60 that is 2 real seconds, too short for 10k objects.
FAST_SPEED = 60.0  # N <= FAST_SPEED_MAX_N: a virtual hour of idle in one real minute
FAST_SPEED_MAX_N = 2_000
SLOW_SPEED = 10.0  # up to SLOW_SPEED_MAX_N: the 2 min sync timeout is 12 real seconds
SLOW_SPEED_MAX_N = 10_000
SLOWEST_SPEED = 2.0  # larger N (50k takes ~15 s to sync): the sync timeout is 60 real seconds


def default_speed(n: int) -> float:
    if n <= FAST_SPEED_MAX_N:
        return FAST_SPEED
    return SLOW_SPEED if n <= SLOW_SPEED_MAX_N else SLOWEST_SPEED


def latest(path: Path) -> list[dict[str, Any]]:
    """The last line per (program, N) of a results file, in N then program order."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            result = json.loads(line)
            found[(result["program"], result["n"])] = result
    return [found[k] for k in sorted(found, key=lambda k: (k[1], k[0] != "operator"))]


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=False)  # fmt: skip
    except OSError:
        return ""
    return out.stdout.strip()


def correctness(result: dict[str, Any]) -> list[str]:
    """What is wrong with one run of the operator (empty: nothing). The kopf peer's results
    are figures, not our correctness: they are reported, never failed on."""
    problems: list[str] = []
    if result["program"] != "operator":
        return problems
    if "error" in result:
        return [f"{result['program']} n={result['n']}: {result['error']}"]
    herd = result.get("herd", {})
    tag = f"{result['program']} n={result['n']}"
    for key in ("duplicates", "missed", "errors"):
        if herd.get(key):
            problems.append(f"{tag}: herd {key} = {herd[key]}")
    restart = result.get("restart")
    if restart is not None and restart.get("write_count"):
        problems.append(f"{tag}: {restart['write_count']} writes after restart {restart['writes']}")
    floor = result.get("floor")
    if floor is not None and (floor.get("errors") or floor.get("jobs") != result["n"]):
        jobs, errors = floor.get("jobs"), floor.get("errors")
        problems.append(f"{tag}: floor created {jobs} Jobs with {errors} errors")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, action="append", help="backups (repeatable)")
    parser.add_argument("--speed", type=float, default=None,
                        help=f"virtual clock speed (default {FAST_SPEED:g} up to N = "
                        f"{FAST_SPEED_MAX_N:,}, {SLOW_SPEED:g} up to {SLOW_SPEED_MAX_N:,}, "
                        f"else {SLOWEST_SPEED:g})")  # fmt: skip
    parser.add_argument("--idle", type=float, default=60.0, help="real seconds of idle")
    parser.add_argument("--no-kopf", action="store_true", help="skip the kopf peer")
    parser.add_argument("--only-kopf", action="store_true", help="run the kopf peer alone")
    parser.add_argument(
        "--cold-budget",
        type=float,
        default=0.0,
        help="real seconds reserved for the cold start (default: from N)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 on a correctness problem")
    parser.add_argument("--report", action="store_true", help="render docs/performance.md")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSONL",
        help="only render docs/performance.md from a results file's latest lines",
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        from bench.report import render

        render(latest(args.render))
        return 0
    sizes = args.n or [1000]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    env = machine()
    command = " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])])
    results: list[dict[str, Any]] = []
    for n in sizes:
        plan = Plan(n=n, speed=args.speed or default_speed(n), idle=args.idle,
                    cold_budget=args.cold_budget)  # fmt: skip
        programs = [] if args.only_kopf else [("operator", run_operator)]
        if not args.no_kopf:
            from bench.peers.kopf_run import run_kopf

            programs.append(("kopf", run_kopf))
        for name, runner in programs:
            began = time.time()
            try:
                result = runner(plan)
            except Exception as exc:  # recorded, reported and (with --check) failed below
                result = {"program": name, "n": n, "error": f"{type(exc).__name__}: {exc}"}
            result.update(machine=env, commit=_commit(), command=command, at=began,
                          wall_s=time.time() - began)  # fmt: skip
            results.append(result)
            with args.out.open("a") as f:
                f.write(json.dumps(result) + "\n")
            print(summary(result), flush=True)
    if args.report:
        from bench.report import render

        render(results)
    problems = [p for r in results for p in correctness(r)]
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if args.check and problems else 0


def summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{result['program']} n={result['n']}: ERROR {result['error']}"
    cold, herd = result.get("cold_start", {}), result.get("herd", {})
    line = (f"{result['program']} n={result['n']}: synced {cold.get('synced_s', 0):.2f}s, "
            f"all status {cold.get('all_status_s', 0):.2f}s, peak RSS "
            f"{cold.get('peak_rss_bytes', 0) / 2**20:.0f} MiB; herd {herd.get('herd_s', 0):.2f}s "
            f"(p50 {herd.get('lag', {}).get('p50', 0):.2f}s), dup {herd.get('duplicates')}, "
            f"missed {herd.get('missed')}")  # fmt: skip
    if "floor" in result:
        line += f"; floor {result['floor']['floor_s']:.2f}s"
    return line


if __name__ == "__main__":
    raise SystemExit(main())
