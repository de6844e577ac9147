"""manager.backlog.Backlog: the gate closes when ``high`` steps are pending and opens again
only once they have drained to ``low`` (what makes a worker compute its passes in bursts)."""

from __future__ import annotations

import threading
import time

import pytest

from manager.backlog import Backlog


def _entering(backlog: Backlog) -> tuple[threading.Thread, threading.Event]:
    entered = threading.Event()

    def enter() -> None:
        backlog.enter()
        entered.set()

    thread = threading.Thread(target=enter, daemon=True)
    thread.start()
    return thread, entered


def test_the_gate_closes_when_full_and_opens_only_at_the_low_mark() -> None:
    backlog = Backlog(high=4, low=1)
    for _ in range(4):
        backlog.enter()  # up to the high mark nobody waits
    thread, entered = _entering(backlog)
    assert not entered.wait(0.1)
    backlog.leave()
    backlog.leave()  # 2 pending, above the low mark: still closed
    assert not entered.wait(0.1) and backlog.pending() == 2
    backlog.leave()  # 1 pending: open; the waiter counts itself in
    assert entered.wait(5)
    thread.join(5)
    assert backlog.pending() == 2


def test_an_open_gate_takes_steps_until_the_high_mark_again() -> None:
    backlog = Backlog(high=3, low=0)
    for _ in range(3):
        backlog.enter()
    for _ in range(3):
        backlog.leave()
    for _ in range(3):
        backlog.enter()  # the whole burst again without waiting
    thread, entered = _entering(backlog)
    assert not entered.wait(0.1)
    for _ in range(3):
        backlog.leave()
    assert entered.wait(5)
    thread.join(5)


def _count(events: list[threading.Event], want: int) -> int:
    """How many of ``events`` are set once ``want`` are, or after 5 s; and a moment later."""
    deadline = time.monotonic() + 5
    while sum(e.is_set() for e in events) < want and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # room for one too many to show
    return sum(e.is_set() for e in events)


def test_waiters_released_together_do_not_overfill_it() -> None:
    backlog = Backlog(high=2, low=0)
    backlog.enter()
    backlog.enter()
    waiters = [_entering(backlog) for _ in range(4)]
    entered = [e for _, e in waiters]
    backlog.leave()
    backlog.leave()
    assert _count(entered, 2) == 2 and backlog.pending() == 2  # closed again behind two
    backlog.leave()
    backlog.leave()
    assert _count(entered, 4) == 4 and backlog.pending() == 2
    for thread, _ in waiters:
        thread.join(5)


@pytest.mark.parametrize(("high", "low"), [(2, 2), (1, 3), (3, -1)])
def test_bounds_must_leave_room_for_a_burst(high: int, low: int) -> None:
    with pytest.raises(ValueError, match="low < high"):
        Backlog(high=high, low=low)
