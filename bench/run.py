"""``make bench`` / ``make bench-quick``: run the workloads, append JSON lines, check, report.

Role: the benchmark's command line. For each N it runs the operator's workloads (with the
floor on the same emulator) and, unless ``--no-kopf``, the kopf peer's; every run appends one
JSON line (the figures, the machine, the commit, the command) to ``--out``. ``--check`` fails
(exit 1) on a correctness problem only — duplicates, missed runs, errors, writes after a
restart, a backup never reaching status — never on speed. ``--report`` renders
``docs/performance.md`` and its chart from the lines of this invocation.

With ``--kubeconfig`` the runs go to a real API server instead (:mod:`bench.real`): the
operator runs as the identity of ``--operator-kubeconfig`` with ``--leader-elect``, the floor
after it at 4, 16 and 32 requests in flight; lags come from ``--audit-log`` when given, else
from a watch. ``--report`` then renders the real-server section of ``docs/performance.md``
and leaves the emulator's figures as they are.

Run: ``.venv/bin/python -m bench.run --n 1000 --n 10000 --report``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.harness import ROOT
from bench.workloads import Plan, machine, run_operator

DEFAULT_OUT = ROOT / "bench/results/bench.jsonl"
DEFAULT_REAL_OUT = ROOT / "bench/results/real.jsonl"
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
    if result.get("seed_errors"):
        problems.append(f"{tag}: {result['seed_errors']} backups refused while seeding")
    recorded = herd.get("events_recorded")
    if recorded is not None and recorded + int(herd.get("events_dropped") or 0) < result["n"]:
        problems.append(
            f"{tag}: {recorded} SuccessfulCreate Events recorded, "
            f"{herd.get('events_dropped')} counted as dropped: some lost silently"
        )
    floor = result.get("floor")
    if floor is not None and (floor.get("errors") or floor.get("jobs") != result["n"]):
        jobs, errors = floor.get("jobs"), floor.get("errors")
        problems.append(f"{tag}: floor created {jobs} Jobs with {errors} errors")
    for status in result.get("status_floors") or ():
        if status.get("errors") or status.get("jobs") != result["n"]:
            workers, wrote, errors = status.get("workers"), status.get("jobs"), status.get("errors")
            problems.append(
                f"{tag}: status floor at {workers} in flight wrote {wrote} with {errors} errors"
            )
    for key in ("watched_floor", "watched_status_floor"):
        watched = result.get(key)
        if watched is None:
            continue
        wrote, seen = watched.get("jobs"), watched.get("watched")
        if watched.get("errors") or wrote != result["n"] or seen != result["n"]:
            problems.append(
                f"{tag}: {key.replace('_', ' ')} wrote {wrote} with {watched.get('errors')} "
                f"errors and its watch saw {seen} {watched.get('watch_error') or ''}".rstrip()
            )
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
    real = parser.add_argument_group("a real API server (instead of the emulator)")
    real.add_argument("--kubeconfig", type=Path, help="admin kubeconfig: seeding and cleanup")
    real.add_argument("--operator-kubeconfig", type=Path,
                      help="the operator's own (its ServiceAccount's) kubeconfig")  # fmt: skip
    real.add_argument("--audit-log", type=Path, help="the server's audit log (JSON lines)")
    real.add_argument("--operator-arg", action="append", default=[],
                      help="an extra flag for the operator (repeatable)")  # fmt: skip
    real.add_argument("--profile-operator", type=Path, metavar="PATH",
                      help="the operator under cProfile (all threads), dumped to PATH")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
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
        lines = latest(args.render)
        _render(lines, real=any(r.get("server") == "kube-apiserver" for r in lines))
        return 0
    sizes = args.n or [1000]
    if args.kubeconfig is not None:
        return _main_real(args, sizes, argv)
    args.out = args.out or DEFAULT_OUT
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
            result = _recorded(partial(runner, plan), {"program": name, "n": n}, env, command)
            results.append(result)
            _append(args.out, result, summary(result))
    return _finish(args, results, real=False)


def _main_real(args: argparse.Namespace, sizes: list[int], argv: list[str] | None) -> int:
    from bench.real import Target, run_real

    if args.operator_kubeconfig is None:
        raise SystemExit("--kubeconfig needs --operator-kubeconfig (the operator's identity)")
    target = Target(kubeconfig=args.kubeconfig, operator_kubeconfig=args.operator_kubeconfig,
                    audit_log=args.audit_log, operator_args=tuple(args.operator_arg),
                    profile=args.profile_operator)  # fmt: skip
    out: Path = args.out or DEFAULT_REAL_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    env = machine()
    # The command as written on the page: the kubeconfig and log paths are the reader's own.
    command = "python -m bench.run " + " ".join(_redacted(argv if argv is not None
                                                          else sys.argv[1:]))  # fmt: skip
    results: list[dict[str, Any]] = []
    for n in sizes:
        label = {"program": "operator", "server": "kube-apiserver", "n": n}
        result = _recorded(partial(run_real, n, target), label, env, command)
        results.append(result)
        _append(out, result, real_summary(result))
    return _finish(args, results, real=True)


def _recorded(
    run: Callable[[], dict[str, Any]], label: dict[str, Any], env: dict[str, Any], command: str
) -> dict[str, Any]:
    """One run's figures with the machine, commit, command and times; a run that raised is
    recorded as ``label`` and its error, reported and (with --check) failed by :func:`_finish`."""
    began = time.time()
    try:
        result = run()
    except Exception as exc:
        result = {**label, "error": f"{type(exc).__name__}: {exc}"}
    result.update(machine=env, commit=_commit(), command=command, at=began,
                  wall_s=time.time() - began)  # fmt: skip
    return result


def _append(out: Path, result: dict[str, Any], line: str) -> None:
    """Append ``result`` to the results file and print its one-line summary."""
    with out.open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(line, flush=True)


def _render(results: list[dict[str, Any]], *, real: bool) -> None:
    """Render docs/performance.md: the real-server section, or the emulator's figures."""
    if real:
        from bench.real_report import render_real

        render_real(results)
    else:
        from bench.report import render

        render(results)


def _finish(args: argparse.Namespace, results: list[dict[str, Any]], *, real: bool) -> int:
    """Report (``--report``) and check: exit 1 under ``--check`` when a run went wrong."""
    if args.report:
        _render(results, real=real)
    problems = [p for r in results for p in correctness(r)]
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if args.check and problems else 0


_PATH_FLAGS = {"--kubeconfig": "ADMIN", "--operator-kubeconfig": "OPERATOR",
               "--audit-log": "AUDIT_LOG", "--out": "OUT",
               "--profile-operator": "PROFILE"}  # fmt: skip


def _redacted(argv: list[str]) -> list[str]:
    """``argv`` with file arguments replaced by what they are (no machine's paths on a page)."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        flag = arg.split("=", 1)[0]
        if flag in _PATH_FLAGS and "=" in arg:
            out.append(f"{flag}={_PATH_FLAGS[flag]}")
        elif i > 0 and argv[i - 1] in _PATH_FLAGS:
            out.append(_PATH_FLAGS[argv[i - 1]])
        else:
            out.append(arg)
    return out


def real_summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"real n={result['n']}: ERROR {result['error']}"
    cold, herd, floor = result["cold_start"], result["herd"], result["floor"]
    took = cold["all_status_s"]
    install = f"all status {took:.2f}s ({took / floor['floor_s']:.2f}x the Job floor"
    status = result.get("status_floor")
    if status is not None:
        install += (f", {took / status['floor_s']:.2f}x the status floor "
                    f"{status['floor_s']:.2f}s at {status['workers']}")  # fmt: skip
    return (f"real n={result['n']}: {install}); herd "
            f"{herd['herd_s']:.2f}s vs floor {floor['floor_s']:.2f}s at {floor['workers']} in "
            f"flight ({herd['herd_s'] / floor['floor_s']:.2f}x); dup {herd['duplicates']}, "
            f"missed {herd['missed']}; events {herd['events_recorded']} (dropped "
            f"{herd['events_dropped']}); RSS {herd['rss_bytes'] / 2**20:.0f} MiB")  # fmt: skip


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
