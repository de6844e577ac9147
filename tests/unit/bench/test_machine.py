"""This machine's busy cores over a span (bench.machine): parsing, spans, and the real thing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.machine import MachineCpu, busy_ticks

# user nice system idle iowait irq softirq steal guest guest_nice (proc(5))
STAT = "cpu  100 5 30 1000 40 2 3 7 50 0\ncpu0 50 2 15 500 20 1 1 3 25 0\nintr 1 2 3\n"


def test_busy_time_is_everything_but_idle_and_iowait() -> None:
    # Guest time is part of user time already, so it is not added again.
    assert busy_ticks(STAT) == 100 + 5 + 30 + 2 + 3 + 7


def test_a_line_that_is_not_the_aggregate_is_refused() -> None:
    with pytest.raises(ValueError, match="aggregate"):
        busy_ticks("cpu0 1 2 3 4 5 6 7 8\n")
    with pytest.raises(ValueError):
        busy_ticks("")


def _fake(points: list[tuple[float, float, float]]) -> MachineCpu:
    """A sampler fed (time, machine busy seconds, own CPU seconds) points, one per sample."""
    feed = iter(points)
    current: list[tuple[float, float, float]] = []

    def read_busy() -> float:
        current[:] = [next(feed)]
        return current[0][1]

    machine = MachineCpu(read_busy=read_busy, own_cpu=lambda: current[0][2],
                         clock=lambda: current[0][0])  # fmt: skip
    for _ in points:
        assert machine.sample()
    return machine


def test_a_spans_ends_are_read_between_the_samples_around_them() -> None:
    machine = _fake([(0.0, 0.0, 0.0), (1.0, 1.5, 0.1), (2.0, 3.5, 0.2), (3.0, 5.0, 0.3)])
    exact = machine.busy(1.0, 2.0)
    assert exact is not None
    assert (exact.machine, exact.seconds) == (2.0, 1.0)
    assert exact.own == pytest.approx(0.1)
    # From 0.5 (busy 0.75 s, halfway from 0 to 1.5) to 2.5 (4.25 s): 3.5 s over 2 s.
    between = machine.busy(0.5, 2.5)
    assert between is not None
    assert between.machine == pytest.approx(1.75)
    assert between.own == pytest.approx(0.1)


def test_a_span_the_samples_do_not_enclose_has_no_figure() -> None:
    machine = _fake([(1.0, 0.0, 0.0), (2.0, 1.0, 0.0)])
    assert machine.busy(0.5, 1.5) is None  # began before the first sample
    assert machine.busy(1.5, 2.5) is None  # ended after the last
    assert machine.busy(2.0, 1.0) is None
    assert machine.busy(1.5, 1.5) is None  # no time, no rate


def test_a_machine_without_proc_stat_gives_no_figure(tmp_path: Path) -> None:
    def missing() -> float:
        return busy_ticks((tmp_path / "stat").read_text())

    machine = MachineCpu(read_busy=missing)
    machine.start()  # no sample, so no thread
    machine.stop()
    assert machine.busy(0.0, time.time()) is None


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux only")
def test_the_real_sampler_sees_this_process_keep_a_core_busy() -> None:
    machine = MachineCpu(interval=0.05)
    machine.start()
    try:
        start = time.time()
        while time.time() - start < 0.5:  # spin: this process keeps a core busy
            pass
        end = time.time()
        time.sleep(0.15)  # a sample after the span
    finally:
        machine.stop()
    busy = machine.busy(start, end)
    assert busy is not None
    # However loaded the machine, the spinning thread got some of a core, and the machine's
    # busy time counts it (to within /proc/stat's clock ticks).
    assert busy.own > 0.1
    assert busy.machine >= busy.own - 0.1


def test_a_sample_taken_after_a_span_measures_it_at_once() -> None:
    clock = [0.0]
    machine = MachineCpu(read_busy=lambda: clock[0] * 1.5, own_cpu=lambda: 0.0,
                         clock=lambda: clock[0])  # fmt: skip
    machine.sample()
    clock[0] = 2.0  # the span just ended; the background's next sample is yet to come
    assert machine.busy(0.0, 2.0) is None
    machine.sample()
    busy = machine.busy(0.0, 2.0)
    assert busy is not None
    assert busy.machine == 1.5
