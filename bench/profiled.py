"""Run the operator under cProfile in every thread; write the merged profile at exit.

Role: the profile behind the real-server benchmark's levers (``--profile-operator PATH``).
cProfile sees only the thread that enables it, and the operator's work happens in worker,
informer and sender threads, so every ``threading.Thread`` started after this module loads
gets its own profiler; at exit the profiles (those of still-running daemon threads too) are
merged and dumped with ``pstats`` to ``--out`` (read it with ``python -m pstats``).

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
from typing import Any

from bench.harness import OPERATOR_MODULE

__all__ = ["main"]

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profiled_run(original: Any) -> Any:
    def run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
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
    parser.add_argument("operator_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = [a for a in args.operator_args if a != "--"]
    threading.Thread.run = _profiled_run(threading.Thread.run)  # type: ignore[method-assign]
    main_profile = cProfile.Profile()
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
