"""The kiosk loop in real time: sensor and decoder in worker threads, the screen at a steady rate.

Real clock, real emulated pipeline (MLX90640 registers → driver, rendered phone → zbar → THP1),
one part slowed down or hung the way real hardware can be.  Plus the loop's heartbeat, and the
virtual-clock path staying inline.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from kiosk.clock import RealClock
from kiosk.loop import LoopWatch
from kiosk.ports import Screen, ScreenView
from tests.loop.rig import SimulatedKiosk
from tests.simulation.rig import one_green

ONE_GREEN = one_green(arrive_s=0.5)


class RecordingDisplay:
    """A display that notes when (real time) each frame was drawn and what it showed."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, Screen]] = []

    def render(self, view: ScreenView) -> None:
        self.frames.append((time.monotonic(), view.screen))

    def close(self) -> None:
        pass

    def longest_gap(self, after: float = 0.0) -> float:
        times = [t for t, _ in self.frames if t >= after]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


class SlowSensor:
    """The thermal sensor on a slow or disturbed bus: every read blocks `delay_s` longer."""

    def __init__(self, inner, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.hang = threading.Event()  # set: the next read hangs (a driver stuck in the kernel)
        self.release = threading.Event()

    def next_frame_at(self) -> float:
        return self.inner.next_frame_at()

    def read_frame(self):
        if self.hang.is_set():
            self.release.wait(30)
        time.sleep(self.delay_s)
        return self.inner.read_frame()

    def close(self) -> None:
        self.release.set()
        self.inner.close()


def _real_kiosk(simulated: Callable[..., SimulatedKiosk], *, threaded: bool | None = None,
                sensor_delay_s: float = 0.0):
    scenario = ONE_GREEN.model_copy(update={"start": time.time()})
    display = RecordingDisplay()
    sim = simulated(scenario, clock=RealClock(), display=display, threaded=threaded)
    sim.kiosk.sensor = SlowSensor(sim.kiosk.sensor, sensor_delay_s)
    return sim.kiosk, sim.world, display


def _run(kiosk, seconds: float, until=lambda: False) -> None:
    end = time.monotonic() + seconds
    try:
        kiosk.run(until=lambda: time.monotonic() > end or until())
    finally:
        kiosk.close()


def test_real_time_is_threaded_and_decides_as_inline(simulated: Callable[..., SimulatedKiosk]) -> None:
    kiosk, world, display = _real_kiosk(simulated)
    assert kiosk.threaded  # a real clock: workers
    parts: set[str] = set()
    beats: list[float] = []
    kiosk.on_progress.append(lambda part, now: parts.add(part))
    kiosk.on_beat.append(beats.append)
    _run(kiosk, 12.0, until=lambda: world.finished())
    assert [(r.visitor, r.decision) for r in world.records()] == [("v01", "PASS")]
    assert Screen.PASS in [s for _, s in display.frames]
    assert parts == {"thermal", "camera", "ui"}
    assert len(beats) >= len(display.frames) > 0
    assert kiosk.loop_watch.beats == len(beats)
    assert not kiosk.workers.thermal.alive and not kiosk.workers.camera.alive  # close() stopped them


def test_a_slow_bus_does_not_freeze_the_screen(simulated: Callable[..., SimulatedKiosk]) -> None:
    """Each thermal read blocks 0.3 s: threaded, frames keep coming every 1/fps; inline, the screen waits."""
    threaded, _world, display = _real_kiosk(simulated, sensor_delay_s=0.3)
    _run(threaded, 3.0)
    fps = threaded.config.display.fps
    start = display.frames[0][0]
    drawn = len(display.frames)
    assert drawn >= 0.5 * fps * 3.0, drawn  # near the frame rate (generous: a shared CI machine)
    assert display.longest_gap(after=start + 0.5) < 0.25
    assert threaded.loop_watch.stalls == 0

    inline, _world, slow_display = _real_kiosk(simulated, threaded=False, sensor_delay_s=0.3)
    _run(inline, 3.0)
    assert slow_display.longest_gap() >= 0.3  # the old loop: frozen while the bus is read


def test_a_hung_sensor_shows_fault_and_stops_thermal_progress(simulated: Callable[..., SimulatedKiosk]) -> None:
    kiosk, _world, display = _real_kiosk(simulated)
    last: dict[str, float] = {}
    kiosk.on_progress.append(lambda part, now: last.__setitem__(part, now))
    kiosk.sensor.hang.set()  # the very first read never returns
    alive: list[bool] = []
    _run(kiosk, 2.5, until=lambda: alive.append(kiosk.loop_watch.is_alive()) and False)
    screens = [s for _, s in display.frames]
    assert Screen.FAULT in screens  # sensor_fault_after_s = 1.0: the screen says so, live
    assert display.longest_gap(after=display.frames[0][0] + 0.5) < 0.25
    assert "thermal" not in last and "ui" in last  # the watchdog sees which part is dead
    assert all(alive) and kiosk.loop_watch.stalls == 0  # the loop itself never stopped


def test_virtual_time_stays_inline_and_feeds_the_hooks(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated(ONE_GREEN)
    kiosk, world = sim.kiosk, sim.world
    assert not kiosk.threaded

    said: list[Screen] = []

    class Voice:
        def say(self, screen: Screen) -> None:
            said.append(screen)

        def close(self) -> None:
            pass

    kiosk.presenter.voice = Voice()
    parts: list[str] = []
    kiosk.on_progress.append(lambda part, now: parts.append(part))
    steps = 0
    while not world.finished() and steps < 5000:
        kiosk.step()
        steps += 1
    kiosk.close()
    assert [r.decision for r in world.records()] == ["PASS"]
    assert kiosk.loop_watch.beats == steps
    assert {"thermal", "camera", "ui"} <= set(parts)
    assert Screen.PASS in said
    assert not kiosk.workers.started  # no thread was ever started


def test_loop_watch_reports_stalls_and_liveness() -> None:
    now = [100.0]
    watch = LoopWatch(stall_s=0.5, now=lambda: now[0])
    assert watch.is_alive()
    watch.beat()
    for gap in (0.05, 0.05, 0.7, 0.1):
        now[0] += gap
        watch.beat()
    assert watch.stalls == 1 and watch.beats == 5
    assert watch.longest_gap == pytest.approx(0.7)
    assert list(watch.gaps) == pytest.approx([0.05, 0.05, 0.7, 0.1])
    assert watch.last_beat == pytest.approx(100.9)
    now[0] += 0.4
    assert watch.is_alive() and watch.stalled_for() == pytest.approx(0.4)
    now[0] += 0.2
    assert not watch.is_alive()  # stuck: a watchdog feeder stops here
    with pytest.raises(ValueError):
        LoopWatch(stall_s=0)
