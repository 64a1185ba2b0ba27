"""`AdafruitSensor`: the unmodified library as a `ThermalSensor`, checked against our own driver."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers.mlx90640.adafruit_backend import AdafruitSensor, correct_emissivity, isolated_adafruit_class
from drivers.mlx90640.driver import Mlx90640Sensor
from drivers.mlx90640.emulated_bus import EmulatedI2C
from drivers.mlx90640.emulator import EmulatedTransport, Mlx90640Device, StaticScene
from drivers.mlx90640.scene import PeopleScene, Person
from kiosk.clock import VirtualClock
from kiosk.errors import SensorError
from kiosk.ports import ThermalSensor


def _setup(emissivity: float = 0.98, **kw):
    clock = VirtualClock()
    scene = PeopleScene([Person(0.5, 38.4)], ambient_c=24.0, emissivity=emissivity)
    device = Mlx90640Device(scene, clock=clock, seed=4, **kw)
    return clock, scene, device


def test_emissivity_correction_agrees_with_our_driver() -> None:
    """Scene and both drivers at 0.98: Adafruit's 0.95 frame, corrected, equals ours."""
    clock, scene, device = _setup(0.98, netd_k=0.0)
    ours = Mlx90640Sensor(EmulatedTransport(device), clock=clock, emissivity=0.98, frozen_after=None)
    adafruit = AdafruitSensor(EmulatedI2C(device), clock=clock, emissivity=0.98)
    assert isinstance(adafruit, ThermalSensor)
    theirs = adafruit.read_frame()
    for _ in range(2):
        mine = ours.read_frame()  # same static scene, no noise: the same words as Adafruit read
    assert theirs.subpage == -1 and theirs.pixels.shape == (24, 32)
    good = np.isfinite(theirs.pixels)
    assert good.sum() == 768 - len(device._cal.bad_pixels)  # deviating pixels are NaN, not −273.15
    np.testing.assert_allclose(theirs.pixels[good], mine.pixels[good], atol=0.01, rtol=0)
    assert theirs.ambient_c == pytest.approx(mine.ambient_c, abs=1e-6)
    forehead = (scene.render(0)[0] == 38.4) & good
    assert np.abs(theirs.pixels[forehead] - 38.4).max() < 0.15
    # ... and the correction mattered: at its hard-coded 0.95 the library reads skin ~0.4 °C high.
    buf = [0.0] * 768
    adafruit._mlx.getFrame(buf)
    uncorrected = np.array(buf).reshape(24, 32)
    assert (uncorrected[forehead] - 38.4).mean() > 0.2


def test_correct_emissivity_is_identity_at_0_95_and_monotonic() -> None:
    t = np.array([20.0, 30.0, 36.5, 40.0])
    np.testing.assert_allclose(correct_emissivity(t, 24.0, 0.95), t, atol=1e-9)
    lower = correct_emissivity(t, 24.0, 0.98)
    assert (lower[1:] < t[1:]).all()  # warmer than the surroundings: a better emitter reads cooler
    assert correct_emissivity(np.array([24.0]), 24.0, 0.5)[0] == pytest.approx(24.0)


def test_each_adapter_has_its_own_calibration() -> None:
    """The library keeps calibration in class attributes; the adapter must not share them."""
    clock = VirtualClock()
    a = Mlx90640Device(StaticScene(30.0), clock=clock, seed=1)
    b = Mlx90640Device(StaticScene(30.0), clock=clock, seed=2, address=0x34)
    first = isolated_adafruit_class()(EmulatedI2C(a))
    offsets = list(first.offset)
    bad = list(first.brokenPixels) + list(first.outlierPixels)
    second = isolated_adafruit_class()(EmulatedI2C(b), address=0x34)
    assert list(first.offset) == offsets and list(first.brokenPixels) + list(first.outlierPixels) == bad
    assert list(second.offset) != offsets


def test_unplugged_is_a_sensor_error_and_replugging_recovers() -> None:
    clock, _, device = _setup()
    sensor = AdafruitSensor(EmulatedI2C(device), clock=clock, refresh_hz=4)
    sensor.read_frame()
    device.unplugged = True
    with pytest.raises(SensorError):
        sensor.read_frame()
    device.unplugged = False  # back at 2 Hz: the adapter re-applies 4 Hz
    frame = sensor.read_frame()
    assert np.isfinite(frame.pixels).sum() >= 760
    assert (device.control >> 7) & 7 == 0b011


def test_silent_array_does_not_hang_the_library() -> None:
    clock, _, device = _setup()
    sensor = AdafruitSensor(EmulatedI2C(device), clock=clock, refresh_hz=4)
    device.silent = True
    start = time.perf_counter()
    with pytest.raises(SensorError, match="overdue"):
        sensor.read_frame()
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("fill", [0x0000, 0xFFFF])
def test_corrupt_eeprom_is_refused_before_the_library_sees_it(fill: int) -> None:
    clock = VirtualClock()
    device = Mlx90640Device(StaticScene(), clock=clock, eeprom=np.full(832, fill))
    start = time.perf_counter()
    with pytest.raises(SensorError, match="EEPROM"):
        AdafruitSensor(EmulatedI2C(device), clock=clock)
    assert time.perf_counter() - start < 0.5


def test_absent_device_is_a_sensor_error() -> None:
    clock, _, device = _setup()
    device.unplugged = True
    with pytest.raises(SensorError):
        AdafruitSensor(EmulatedI2C(device), clock=clock)


@pytest.mark.parametrize("backend", ["native", "adafruit"])
def test_build_emulated_sensor_for_simulations(backend: str) -> None:
    from drivers.mlx90640.simulated import build_emulated_sensor
    from kiosk.config import ThermalConfig

    clock = VirtualClock()
    scene = PeopleScene([Person(0.5, 37.5)], ambient_c=22.0)
    sensor, device = build_emulated_sensor(scene, clock, ThermalConfig(), backend=backend, seed=2)
    assert isinstance(sensor, ThermalSensor)
    frames = [sensor.read_frame() for _ in range(3)]
    forehead = (scene.render(0)[0] == 37.5) & np.isfinite(frames[-1].pixels)
    assert np.abs(frames[-1].pixels[forehead] - 37.5).max() < 0.5  # with sensor noise
    device.unplugged = True
    with pytest.raises(SensorError):
        sensor.read_frame()


def test_adafruit_adapter_does_not_hammer_the_bus_while_waiting() -> None:
    clock, _, device = _setup()
    sensor = AdafruitSensor(EmulatedI2C(device), clock, refresh_hz=4)
    sensor.read_frame()
    start_virtual, start_real = clock.monotonic(), time.perf_counter()
    for _ in range(10):
        sensor.read_frame()
    assert clock.monotonic() - start_virtual == pytest.approx(5.0, abs=0.3)  # 2 subpages at 4 Hz each
    assert time.perf_counter() - start_real < 2.0
