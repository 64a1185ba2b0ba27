"""Faults through the whole loop: every emulated I²C fault or implausible frame shows FAULT within
one second, the loop retries with back-off, and it recovers by itself when the sensor answers."""

from __future__ import annotations

import itertools
import tempfile

import pytest

from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.ports import Screen
from kiosk.simulation.runner import build_simulated_kiosk, scenario_config
from kiosk.simulation.scenario import Scenario


def _kiosk(tmp: str):
    scenario = Scenario(name="empty room")
    config = scenario_config(scenario, KioskConfig(), tmp)
    clock = VirtualClock(wall_start=scenario.start)
    kiosk, _world, device = build_simulated_kiosk(scenario, config, clock)
    return kiosk, device, clock


def _run(kiosk, clock, seconds: float) -> list[tuple[float, Screen]]:
    seen = []
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        kiosk.step()
        seen.append((clock.monotonic(), kiosk.view.screen))
    return seen


@pytest.mark.parametrize("fault", ["unplugged", "stuck", "glitch", "zero_ram", "nack_mid_read", "silent"])
def test_fault_within_one_second_then_recovery(fault: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kiosk, device, clock = _kiosk(tmp)
        try:
            _run(kiosk, clock, 3.0)
            assert kiosk.view.screen is Screen.ATTRACT
            start = clock.monotonic()
            setattr(device, fault, 10_000 if fault == "nack_mid_read" else True)
            seen = _run(kiosk, clock, 30.0)  # "stuck" needs 4 bit-identical subpages (1 s) to be sure
            faulted = [t for t, screen in seen if screen is Screen.FAULT]
            assert faulted, f"{fault}: no FAULT shown"
            limit = 1.6 + (4 / 4 if fault == "stuck" else 0.0)  # 1 s + one render interval (+ proof of a stall)
            assert faulted[0] - start <= limit
            assert kiosk.view.screen is Screen.FAULT
            attempts = device.subpages_measured
            setattr(device, fault, 0 if fault == "nack_mid_read" else False)
            recovered_at = clock.monotonic()
            seen = _run(kiosk, clock, 6.0)
            ok = [t for t, screen in seen if screen is Screen.ATTRACT]
            assert ok and ok[0] - recovered_at < 4.0, f"{fault}: no recovery"
            assert kiosk.view.screen is Screen.ATTRACT and device.subpages_measured > attempts
        finally:
            kiosk.close()
            kiosk.outbox.close()


def test_failed_reads_back_off() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kiosk, device, clock = _kiosk(tmp)
        try:
            _run(kiosk, clock, 2.0)
            device.unplugged = True
            calls = []
            original = kiosk.sensor.read_frame

            def counted():
                calls.append(clock.monotonic())
                return original()

            kiosk.sensor.read_frame = counted  # type: ignore[method-assign]
            _run(kiosk, clock, 20.0)
            gaps = [b - a for a, b in itertools.pairwise(calls)]
            assert len(calls) < 20  # not hammering a dead bus at the subpage rate (80 reads)
            assert gaps[-1] > gaps[0]  # back-off grows
        finally:
            kiosk.close()
            kiosk.outbox.close()
