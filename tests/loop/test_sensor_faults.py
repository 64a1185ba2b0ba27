"""Faults through the whole loop: every emulated I²C fault or implausible frame shows FAULT within
one second, the loop retries with back-off, and it recovers by itself when the sensor answers."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from kiosk.ports import Screen
from tests.loop.rig import SimulatedKiosk
from tests.simulation.rig import EMPTY_ROOM


@pytest.mark.parametrize("fault", ["unplugged", "stuck", "glitch", "zero_ram", "nack_mid_read", "silent"])
def test_fault_within_one_second_then_recovery(simulated: Callable[..., SimulatedKiosk], fault: str) -> None:
    sim = simulated(EMPTY_ROOM)
    kiosk, device, clock = sim.kiosk, sim.device, sim.clock
    sim.steps(3.0)
    assert kiosk.view.screen is Screen.ATTRACT
    start = clock.monotonic()
    setattr(device, fault, 10_000 if fault == "nack_mid_read" else True)
    seen = sim.steps(30.0)  # "stuck" needs 4 bit-identical subpages (1 s) to be sure
    faulted = [t for t, screen in seen if screen is Screen.FAULT]
    assert faulted, f"{fault}: no FAULT shown"
    limit = 1.6 + (4 / 4 if fault == "stuck" else 0.0)  # 1 s + one render interval (+ proof of a stall)
    assert faulted[0] - start <= limit
    assert kiosk.view.screen is Screen.FAULT
    attempts = device.subpages_measured
    setattr(device, fault, 0 if fault == "nack_mid_read" else False)
    recovered_at = clock.monotonic()
    seen = sim.steps(6.0)
    ok = [t for t, screen in seen if screen is Screen.ATTRACT]
    assert ok and ok[0] - recovered_at < 4.0, f"{fault}: no recovery"
    assert kiosk.view.screen is Screen.ATTRACT and device.subpages_measured > attempts


def test_failed_reads_back_off(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated(EMPTY_ROOM)
    kiosk, clock = sim.kiosk, sim.clock
    sim.steps(2.0)
    sim.device.unplugged = True
    calls = []
    original = kiosk.sensor.read_frame

    def counted():
        calls.append(clock.monotonic())
        return original()

    kiosk.sensor.read_frame = counted  # type: ignore[method-assign]
    sim.steps(20.0)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert len(calls) < 20  # not hammering a dead bus at the subpage rate (80 reads)
    assert gaps[-1] > gaps[0]  # back-off grows
