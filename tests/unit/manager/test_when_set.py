"""when_set: a stop Event wakes a blocking loop once, without the loop polling for it."""

from __future__ import annotations

import threading

from manager.runnable import when_set


def test_the_action_runs_once_the_event_is_set_and_not_before() -> None:
    stop, woken = threading.Event(), threading.Event()
    thread = when_set(stop, woken.set, "test-stop")
    assert not woken.wait(0.1)
    stop.set()
    assert woken.wait(5)
    thread.join(5)
    assert not thread.is_alive()


def test_an_event_already_set_runs_the_action_at_once() -> None:
    stop, woken = threading.Event(), threading.Event()
    stop.set()
    when_set(stop, woken.set, "test-stop")
    assert woken.wait(5)
