"""The kiosk's public status (`Kiosk.status()`): what the health report and the status strip read."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.clocksync import SimulatedClockSync
from kiosk.ports import KioskStatus
from tests.loop.rig import SimulatedKiosk
from tests.simulation.rig import EMPTY_ROOM


def test_a_healthy_kiosk_says_so(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated(EMPTY_ROOM)
    sim.steps(2.0)
    assert sim.kiosk.status() == KioskStatus(sensor_ok=True, camera_ok=True, clock_synced=True, drift_c=None,
                                             warnings=(), thermal_frames_dropped=0, store_failures=0)
    assert sim.kiosk.view.status.warnings == () and sim.kiosk.view.status.clock_synced


def test_a_dead_sensor_and_a_failing_camera_show_in_the_status(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated(EMPTY_ROOM)
    sim.steps(2.0)
    sim.device.unplugged = True
    sim.kiosk.camera.faulty = True  # type: ignore[attr-defined]
    sim.steps(2.0)
    status = sim.kiosk.status()
    assert not status.sensor_ok and not status.camera_ok
    sim.device.unplugged = False
    sim.kiosk.camera.faulty = False  # type: ignore[attr-defined]
    sim.steps(4.0)
    assert sim.kiosk.status().sensor_ok and sim.kiosk.status().camera_ok


def test_an_unsynchronised_clock_is_a_status_and_a_warning(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated(EMPTY_ROOM, clock_sync=SimulatedClockSync(False))
    sim.steps(1.0)
    status = sim.kiosk.status()
    assert not status.clock_synced and status.warnings[0] == "warning_clock"
    assert sim.kiosk.view.status.warnings == status.warnings  # the strip shows what the status says


def test_the_feed_is_handed_the_status_on_every_pass(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated(EMPTY_ROOM)
    sim.steps(1.0)
    assert sim.feed.pump.status == sim.kiosk.status()
