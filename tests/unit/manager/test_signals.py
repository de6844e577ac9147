"""The signal handler, exercised in child processes with real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent(
    """
    import sys, time
    from manager.signals import setup_signal_handler

    stop = setup_signal_handler()
    print("ready", flush=True)
    if sys.argv[1] == "graceful":
        stop.wait(20)
        print("stopping", flush=True)
        sys.exit(0 if stop.is_set() else 3)
    # "stuck": ignore the first signal's Event, as a wedged shutdown would.
    stop.wait(20)
    print("draining", flush=True)
    time.sleep(20)
    sys.exit(4)
    """
)


def spawn(mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def wait_line(proc: subprocess.Popen[str], expected: str) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == expected


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_first_signal_sets_the_event(sig: signal.Signals) -> None:
    with spawn("graceful") as proc:
        proc.send_signal(sig)
        wait_line(proc, "stopping")
        assert proc.wait(10) == 0


def test_second_signal_exits_at_once_with_1() -> None:
    with spawn("stuck") as proc:
        proc.send_signal(signal.SIGTERM)
        wait_line(proc, "draining")
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(10) == 1
        assert time.monotonic() - started < 5
        assert proc.stderr is not None
        assert "second SIGINT received" in proc.stderr.read()


def test_may_be_installed_once() -> None:
    code = (
        "from manager.signals import setup_signal_handler\n"
        "setup_signal_handler()\n"
        "try:\n    setup_signal_handler()\nexcept RuntimeError:\n    raise SystemExit(7)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=20).returncode == 7
