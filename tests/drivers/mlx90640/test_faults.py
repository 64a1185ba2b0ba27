"""Every injectable emulator fault reaches the driver as a clear `SensorError`, and the driver
recovers by itself; the bus speed decides the refresh rate; a drifting room is followed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.adafruit_backend import AdafruitSensor
from drivers.mlx90640.driver import Mlx90640Sensor
from drivers.mlx90640.emulated_bus import EmulatedI2C, EmulatedSMBus
from drivers.mlx90640.emulator import EmulatedTransport, Mlx90640Device, StaticScene
from drivers.mlx90640.scene import PeopleScene, SlowDrift
from drivers.mlx90640.smbus2_transport import Smbus2Transport
from kiosk.clock import VirtualClock
from kiosk.errors import SensorError


def _rig(scene=None, **kw):
    clock = VirtualClock()
    device = Mlx90640Device(scene or StaticScene(30.0), clock=clock, seed=kw.pop("seed", 5), **kw)
    return clock, device


def _recovers(sensor: Mlx90640Sensor, tries: int = 40) -> None:
    for _ in range(tries):
        try:
            frame = sensor.read_frame()
        except SensorError:
            continue
        assert np.isfinite(frame.pixels).sum() > 300
        return
    pytest.fail("the driver did not recover")


def test_all_zero_ram_is_a_sensor_error_and_recovers() -> None:
    clock, device = _rig()
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock)
    sensor.read_frame()
    device.zero_ram = True
    with pytest.raises(SensorError, match="0x0000"):
        for _ in range(3):
            sensor.read_frame()
    device.zero_ram = False
    _recovers(sensor)


def test_nack_mid_frame_is_a_sensor_error_that_costs_bus_time_and_recovers() -> None:
    clock, device = _rig()
    sensor = Mlx90640Sensor(Smbus2Transport(EmulatedSMBus(device)), clock)  # the real smbus2 message path
    sensor.read_frame()
    device.nack_mid_read = 1
    t = clock.monotonic()
    with pytest.raises(SensorError, match="NACK mid-read") as info:
        for _ in range(3):
            sensor.read_frame()
    assert isinstance(info.value, OSError)
    assert clock.monotonic() > t  # the half-read took its time on the wire
    _recovers(sensor)


def test_corrupt_eeprom_is_refused_at_start_by_both_drivers() -> None:
    clock, device = _rig()
    device.corrupt_eeprom(seed=3)
    started = time.perf_counter()
    with pytest.raises(SensorError, match="EEPROM"):
        Mlx90640Sensor(EmulatedTransport(device), clock)
    with pytest.raises(SensorError):
        AdafruitSensor(EmulatedI2C(device), clock)
    assert time.perf_counter() - started < 1.0  # a clear fault, never a hang


def test_nack_stuck_glitch_each_recover_on_the_same_driver() -> None:
    clock, device = _rig()
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock, frozen_after=8)
    sensor.read_frame()
    for fault in ("unplugged", "stuck", "glitch"):
        setattr(device, fault, True)
        with pytest.raises(SensorError):
            for _ in range(30):
                sensor.read_frame()
        setattr(device, fault, False)
        _recovers(sensor)


@pytest.mark.parametrize(("bus_hz", "wanted", "expected"), [
    (400_000, 8, 8.0),  # 832 words ≈ 38 ms: fits 70 % of 125 ms
    (100_000, 8, 4.0),  # ≈ 150 ms: only 4 Hz leaves room (250 ms)
    (50_000, 16, 2.0),  # ≈ 300 ms: 2 Hz (≤ 350 ms) is the fastest that fits
    (1_000_000, 16, 16.0),
])
def test_refresh_rate_follows_the_measured_transfer_time(bus_hz: int, wanted: int, expected: float) -> None:
    clock, device = _rig(bus_hz=bus_hz)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock, refresh_hz=wanted)
    assert sensor.transfer_s == pytest.approx(832 * 2 * 9 / bus_hz, rel=0.02)
    assert sensor.refresh_hz == expected and sensor.requested_hz == wanted
    for _ in range(6):  # and at that rate the slow bus reads without a single overrun
        sensor.read_frame()
    assert reg.refresh_hz(device.control) == expected


def test_slow_bus_at_a_forced_rate_reproduces_overruns() -> None:
    clock, device = _rig(bus_hz=100_000)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock, refresh_hz=8, adapt_refresh=False)
    errors = 0
    for _ in range(10):
        try:
            sensor.read_frame()
        except SensorError as exc:
            assert "overrun" in str(exc)
            errors += 1
    assert errors > 0


def test_drifting_room_is_seen_and_the_die_lags_behind() -> None:
    clock = VirtualClock()
    drift = SlowDrift(base_c=22.0, amplitude_c=3.0, period_s=600.0, t0=clock.monotonic())
    scene = PeopleScene([], ambient_c=drift)
    device = Mlx90640Device(scene, clock=clock, seed=2, die_lag_s=120.0)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock, refresh_hz=1)
    rooms, dies = [], []
    for _ in range(150):  # a quarter cycle: the room warms by 3 °C
        frame = sensor.read_frame()
        rooms.append(float(np.nanmedian(frame.pixels)))
        dies.append(frame.ambient_c - 8.0)
    assert rooms[-1] - rooms[0] == pytest.approx(drift(clock.monotonic()) - 22.0, abs=0.3)
    assert 0.3 < rooms[-1] - dies[-1] < 3.0  # the die has not caught up with the warming room


# ------------------------------------------------------------------------------ no stale subpage
def _after_outage(fault: str) -> np.ndarray:
    """The first frame after `fault` ends, the scene having warmed from 30 to 36 °C during it."""
    clock, device = _rig(StaticScene(30.0))
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock)
    for _ in range(4):
        before = sensor.read_frame()
    assert np.isfinite(before.pixels).all() and abs(float(np.nanmedian(before.pixels)) - 30.0) < 1.0
    device.scene = StaticScene(36.0)  # a person arrived while the sensor was out
    setattr(device, fault, True)
    with pytest.raises(SensorError):
        for _ in range(40):
            sensor.read_frame()
    setattr(device, fault, False)
    for _ in range(40):
        try:
            return sensor.read_frame().pixels
        except SensorError:
            continue
    pytest.fail("the driver did not recover")


@pytest.mark.parametrize("fault", ["unplugged", "silent", "stuck", "glitch", "zero_ram"])
def test_after_an_outage_the_first_image_never_mixes_in_the_other_subpage_from_before(fault: str) -> None:
    """Pixels from before the outage (30 °C) are NaN, not merged with the new subpage (36 °C)."""
    pixels = _after_outage(fault)
    finite = pixels[np.isfinite(pixels)]
    assert 300 <= finite.size <= 384  # one subpage: the other waits for its own fresh measurement
    assert float(finite.min()) > 34.0  # nothing of the 30 °C scene from before
    assert np.isnan(pixels).sum() >= 384


def test_a_gap_in_reading_does_not_merge_stale_pixels_either() -> None:
    clock, device = _rig(StaticScene(30.0))
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock)
    for _ in range(4):
        sensor.read_frame()
    device.scene = StaticScene(36.0)
    clock.sleep(5.0)  # nobody read for 20 subpage periods
    first = sensor.read_frame().pixels
    assert float(np.nanmin(first)) > 34.0 and np.isnan(first).sum() >= 384
    second = sensor.read_frame().pixels  # the other subpage, now fresh: a whole image again
    assert np.isfinite(second).all() and float(second.min()) > 34.0


def test_reading_without_gaps_still_merges_both_subpages() -> None:
    clock, device = _rig(StaticScene(30.0))
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock)
    frames = [sensor.read_frame() for _ in range(6)]
    assert all(np.isfinite(f.pixels).all() for f in frames[1:])  # after the first, always whole


def test_the_adafruit_backend_reads_both_subpages_fresh_every_frame() -> None:
    """getFrame reads two subpages per call into an image that starts NaN: nothing survives an outage."""
    clock, device = _rig(StaticScene(30.0))
    sensor = AdafruitSensor(EmulatedI2C(device), clock)
    sensor.read_frame()
    device.scene = StaticScene(36.0)
    device.unplugged = True
    with pytest.raises(SensorError):
        sensor.read_frame()
    device.unplugged = False
    for _ in range(10):
        try:
            pixels = sensor.read_frame().pixels
            break
        except SensorError:
            continue
    assert float(np.nanmin(pixels)) > 34.0
