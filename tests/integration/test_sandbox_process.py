"""Supervising a child process: prefixed log streaming, SIGTERM then SIGKILL, the sandbox's
signal handling. Real subprocesses (small Python scripts), real signals."""

from __future__ import annotations

import io
import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest

from app.sandbox_process import ChildProcess, Console, ShutdownSignals

READY = "child ready"


def _script(body: str) -> list[str]:
    return [sys.executable, "-u", "-c", textwrap.dedent(body)]


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        threading.Event().wait(0.02)


def test_output_is_streamed_line_by_line_with_a_prefix() -> None:
    out = io.StringIO()
    child = ChildProcess(
        _script("import sys; print('one'); print('two', file=sys.stderr); print('three')"),
        Console(out),
        prefix="op | ",
    )
    child.start()
    _wait_for(lambda: child.poll() is not None)
    assert child.stop(timeout=5) == 0
    lines = out.getvalue().splitlines()
    assert sorted(lines) == ["op | one", "op | three", "op | two"]
    assert lines.index("op | one") < lines.index("op | three")


def test_stop_sends_sigterm_and_waits_for_a_graceful_exit() -> None:
    out = io.StringIO()
    child = ChildProcess(
        _script(
            f"""
            import signal, sys, time
            def bye(signum, frame):
                print("got", signal.Signals(signum).name)
                sys.exit(0)
            signal.signal(signal.SIGTERM, bye)
            print({READY!r})
            while True:
                time.sleep(0.05)
            """
        ),
        Console(out),
        prefix="",
    )
    child.start()
    _wait_for(lambda: READY in out.getvalue())
    assert child.stop(timeout=10) == 0
    assert "got SIGTERM" in out.getvalue()
    assert "killing" not in out.getvalue()


def _started_stubborn_child(out: io.StringIO, prefix: str) -> ChildProcess:
    """A started child that ignores SIGTERM (only SIGKILL stops it)."""
    child = ChildProcess(
        _script(
            f"""
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print({READY!r})
            while True:
                time.sleep(0.05)
            """
        ),
        Console(out),
        prefix=prefix,
    )
    child.start()
    _wait_for(lambda: READY in out.getvalue())
    return child


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    out = io.StringIO()
    child = _started_stubborn_child(out, prefix="op | ")
    started = time.monotonic()
    assert child.stop(timeout=0.5) == -signal.SIGKILL
    assert 0.4 < time.monotonic() - started < 5
    assert "op | did not stop in time: killing it" in out.getvalue()


def test_hurry_kills_without_waiting_the_full_timeout() -> None:
    out = io.StringIO()
    child = _started_stubborn_child(out, prefix="")
    hurry = threading.Event()
    timer = threading.Timer(0.2, hurry.set)
    timer.start()
    started = time.monotonic()
    assert child.stop(timeout=60, hurry=hurry) == -signal.SIGKILL
    assert time.monotonic() - started < 5
    timer.join()


def test_the_child_runs_in_its_own_session() -> None:
    """A terminal's Ctrl-C goes to the sandbox's process group only, not the operator's."""
    out = io.StringIO()
    child = ChildProcess(_script("import os; print(os.getsid(0))"), Console(out), prefix="")
    child.start()
    _wait_for(lambda: child.poll() is not None)
    assert child.stop(timeout=5) == 0
    assert int(out.getvalue().strip()) == child.pid != os.getsid(0)


def test_first_signal_stops_second_hurries_and_handlers_are_restored(
    capfd: pytest.CaptureFixture[str],
) -> None:
    before = signal.getsignal(signal.SIGINT)
    signals = ShutdownSignals().install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        _wait_for(signals.stop.is_set)
        assert not signals.hurry.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        _wait_for(signals.hurry.is_set)
    finally:
        signals.restore()
    assert signal.getsignal(signal.SIGINT) is before
    assert "second SIGINT: stopping without waiting" in capfd.readouterr().err


def test_console_writes_whole_lines_from_many_threads() -> None:
    out = io.StringIO()
    console = Console(out)

    def chatter(n: int) -> None:
        for i in range(200):
            console.say(f"t{n} {i}")

    threads = [threading.Thread(target=chatter, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 800
    assert all(line.split(" ")[0] in ("t0", "t1", "t2", "t3") for line in lines)
