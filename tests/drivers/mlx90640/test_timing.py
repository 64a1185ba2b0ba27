"""The driver locks onto the array's own timing: one status read per subpage, no overruns, and
never a RAM read before data-ready — also when the part's oscillator is a few percent off."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.driver import Mlx90640Sensor
from drivers.mlx90640.emulator import EmulatedTransport, Mlx90640Device
from drivers.mlx90640.scene import PeopleScene, Person
from kiosk.clock import VirtualClock


class _OffClock(Mlx90640Device):
    """A part whose subpage period is `factor` × nominal (its internal oscillator is off)."""

    factor = 1.0

    def _restart_measurement(self) -> None:
        super()._restart_measurement()
        self._period *= self.factor
        self._next_event = self.clock.monotonic() + self._period


class _Checked(EmulatedTransport):
    """Records the status reads and refuses a RAM read not preceded by a data-ready status."""

    def __init__(self, device: Mlx90640Device) -> None:
        super().__init__(device)
        self.status_reads = 0
        self.ready_seen = False

    def read_words(self, address: int, count: int) -> np.ndarray:
        words = super().read_words(address, count)
        if address == reg.STATUS and count == 1:
            self.status_reads += 1
            self.ready_seen = bool(int(words[0]) & reg.STATUS_DATA_READY)
        elif address == reg.RAM_START:
            assert self.ready_seen, "RAM read before data-ready"
        return words

    def write_word(self, address: int, value: int) -> None:
        super().write_word(address, value)


@pytest.mark.parametrize("factor", [1.0, 0.97, 1.03])
@pytest.mark.parametrize("hz", [4, 8, 16])
def test_one_status_read_per_subpage_once_locked(factor: float, hz: int) -> None:
    clock = VirtualClock()
    device = _OffClock(PeopleScene([Person(0.6, 36.8)]), clock=clock, seed=3)
    device.factor = factor
    transport = _Checked(device)
    sensor = Mlx90640Sensor(transport, clock, refresh_hz=hz)
    for _ in range(40):  # acquire the phase, then the period
        sensor.read_frame()
    polls, start = transport.status_reads, clock.monotonic()
    subpages = [sensor.read_frame().subpage for _ in range(400)]  # raises on any overrun
    assert subpages == [subpages[0], 1 - subpages[0]] * 200  # none lost, none read twice
    assert clock.monotonic() - start == pytest.approx(400 * factor / hz, rel=0.01)
    assert (transport.status_reads - polls) / 400 < 1.15
    assert sensor.measured_period == pytest.approx(factor / hz, rel=1e-3)  # the measured period


def test_a_late_caller_still_reads_the_latest_subpage_and_relocks() -> None:
    clock = VirtualClock()
    device = Mlx90640Device(PeopleScene([Person(0.6, 36.8)]), clock=clock, seed=3)
    transport = _Checked(device)
    sensor = Mlx90640Sensor(transport, clock, refresh_hz=8)
    for _ in range(40):
        sensor.read_frame()
    clock.sleep(0.3)  # the caller was busy for more than two subpages
    sensor.read_frame()
    polls = transport.status_reads
    for _ in range(100):
        sensor.read_frame()
    assert (transport.status_reads - polls) / 100 < 1.2
