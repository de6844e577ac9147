"""Run the operator under cProfile in every thread; write the merged profile at exit.

Role: the profile behind the real-server benchmark's levers (``--profile-operator PATH``).
cProfile sees only the thread that enables it, and the operator's work happens in worker,
informer and sender threads, so every ``threading.Thread`` started after this module loads
gets its own profiler; at exit the profiles (those of still-running daemon threads too) are
merged and dumped with ``pstats`` to ``--out`` (read it with ``python -m pstats``).

The profilers' timer is the thread's own CPU time (``time.thread_time``), not the wall clock:
on a shared machine a thread spends most of its wall time waiting (for the server, for the
GIL, for a core), and a wall-clock profile charges that wait to whatever function the thread
was in — a reconcile helper that takes a lock, a socket read. ``--wall`` keeps the wall clock
(where the time goes, waits included).

Run: ``python -m bench.profiled --out PATH -- <the operator's flags>``
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import pstats
import runpy
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.harness import OPERATOR_MODULE

__all__ = ["main"]

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


_timer: Callable[[], float] = time.thread_time


def _new_profile() -> cProfile.Profile:
    return cProfile.Profile(_timer)


def _profiled_run(original: Any) -> Any:
    def run(self: threading.Thread) -> None:
        profile = _new_profile()
        with _lock:
            _profiles.append(profile)
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    return run


def _dump(path: str) -> None:
    with _lock:
        profiles = list(_profiles)
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    stats.dump_stats(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--wall", action="store_true", help="wall-clock time, waits included")
    parser.add_argument("operator_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = [a for a in args.operator_args if a != "--"]
    global _timer
    _timer = time.perf_counter if args.wall else time.thread_time
    threading.Thread.run = _profiled_run(threading.Thread.run)  # type: ignore[method-assign]
    main_profile = _new_profile()
    with _lock:
        _profiles.append(main_profile)
    atexit.register(_dump, args.out)
    sys.argv = ["dbbackup-operator", *rest]
    main_profile.enable()
    try:
        # The operator's own entry point (``python -m app``), exit code and all.
        runpy.run_module(OPERATOR_MODULE, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        return int(done.code or 0)
    finally:
        main_profile.disable()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
