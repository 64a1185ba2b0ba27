"""The emulated array end to end: scene → RAM words → our driver (and the bus, the faults, time)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.driver import Mlx90640Sensor
from drivers.mlx90640.emulated_bus import EmulatedI2C, EmulatedSMBus
from drivers.mlx90640.emulator import EmulatedTransport, Mlx90640Device, Scene, StaticScene
from drivers.mlx90640.scene import PeopleScene, Person
from drivers.mlx90640.smbus2_transport import Smbus2Transport
from kiosk.clock import VirtualClock
from kiosk.errors import SensorError
from kiosk.ports import ThermalFrame, ThermalSensor


def _device(scene: Scene, clock: VirtualClock, **kw) -> Mlx90640Device:
    return Mlx90640Device(scene, clock=clock, seed=kw.pop("seed", 3), **kw)


def _forehead(scene: PeopleScene, device: Mlx90640Device, forehead_c: float) -> np.ndarray:
    """Pixels entirely on the forehead band, excluding the part's deviating pixels."""
    mask = np.abs(scene.render(0.0)[0] - forehead_c) < 1e-9
    cal = device._cal
    assert cal is not None
    mask.reshape(-1)[list(cal.bad_pixels)] = False
    return mask


@pytest.mark.parametrize("forehead_c", [36.5, 38.4])
@pytest.mark.parametrize("bus", ["transport", "smbus2"])
def test_driver_reads_back_the_forehead(forehead_c: float, bus: str) -> None:
    clock = VirtualClock()
    scene = PeopleScene([Person(0.5, forehead_c)], ambient_c=24.0, emissivity=0.98)
    device = _device(scene, clock, netd_k=0.0)
    transport = EmulatedTransport(device) if bus == "transport" else Smbus2Transport(EmulatedSMBus(device))
    sensor = Mlx90640Sensor(transport, clock=clock, refresh_hz=4, emissivity=0.98)
    assert isinstance(sensor, ThermalSensor)
    first = sensor.read_frame()
    assert np.isnan(first.pixels).sum() >= 384  # one subpage so far
    second = sensor.read_frame()
    assert isinstance(second, ThermalFrame) and {first.subpage, second.subpage} == {0, 1}
    assert second.pixels.shape == (24, 32) and not np.isnan(second.pixels).any()
    forehead = _forehead(scene, device, forehead_c)
    assert forehead.sum() >= 20
    assert np.abs(second.pixels[forehead] - forehead_c).max() < 0.15
    background = scene.render(0.0)[0] == 24.0
    assert np.abs(np.median(second.pixels[background]) - 24.0) < 0.05
    assert second.ambient_c == pytest.approx(24.0 + device.self_heating_c, abs=0.05)  # the die's Ta
    assert second.taken_at == clock.monotonic()


def test_adafruit_library_reads_back_the_forehead_on_the_fake_busio() -> None:
    import adafruit_mlx90640

    from drivers.mlx90640.adafruit_backend import isolated_adafruit_class

    clock = VirtualClock()
    scene = PeopleScene([Person(0.5, 38.4)], ambient_c=24.0, emissivity=0.95)  # getFrame assumes 0.95
    device = _device(scene, clock, netd_k=0.0)
    mlx = isolated_adafruit_class()(EmulatedI2C(device))
    assert isinstance(mlx, adafruit_mlx90640.MLX90640)
    mlx.refresh_rate = adafruit_mlx90640.RefreshRate.REFRESH_4_HZ
    buf = [0.0] * 768
    mlx.getFrame(buf)  # both subpages
    image = np.array(buf).reshape(24, 32)
    forehead = _forehead(scene, device, 38.4)
    assert np.abs(image[forehead] - 38.4).max() < 0.15
    good = image > -273
    assert good.sum() == 768 - len(device._cal.bad_pixels)
    assert np.abs(image[good] - scene.render(0)[0][good]).max() < 0.25  # quantisation, corners included


def test_interleaved_reading_pattern_round_trip() -> None:
    clock = VirtualClock()
    scene = PeopleScene([Person(0.5, 37.0)], ambient_c=22.0)
    device = _device(scene, clock, netd_k=0.0)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, chess=False)
    first = sensor.read_frame()
    assert not device.control & reg.CTRL_CHESS
    rows_seen = np.isfinite(first.pixels).all(axis=1)
    assert rows_seen.sum() == 12 and (rows_seen[::2] != rows_seen[1::2]).all()  # every other row
    frame = sensor.read_frame()
    assert np.abs(frame.pixels[_forehead(scene, device, 37.0)] - 37.0).max() < 0.15


class CountingTransport(EmulatedTransport):
    """The emulated transport, counting status polls."""

    polls = 0

    def read_words(self, address: int, count: int) -> np.ndarray:
        self.polls += address == reg.STATUS
        return super().read_words(address, count)


def test_waiting_for_a_subpage_is_a_few_polls_not_a_busy_loop() -> None:
    clock = VirtualClock()
    transport = CountingTransport(_device(StaticScene(30.0), clock))
    sensor = Mlx90640Sensor(transport, clock=clock, refresh_hz=4)
    sensor.read_frame()
    transport.polls = 0
    for _ in range(20):
        sensor.read_frame()
    assert transport.polls / 20 <= 10  # wake 10 % early, poll every 5 ms, + the overrun check


def test_reading_100_subpages_at_4_hz_takes_25_virtual_seconds_and_little_real_time() -> None:
    clock = VirtualClock()
    device = _device(PeopleScene([Person(0.6, 36.8)]), clock)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, refresh_hz=4)
    start_virtual, start_real = clock.monotonic(), time.perf_counter()
    subpages = []
    for _ in range(100):
        due = sensor.next_frame_at()
        frame = sensor.read_frame()
        # read_frame blocks only briefly past next_frame_at: a few polls, then the 37 ms RAM read
        assert frame.taken_at - due < 0.1 * sensor.period + 0.045
        subpages.append(frame.subpage)
    assert clock.monotonic() - start_virtual == pytest.approx(25.0, abs=0.3)
    assert time.perf_counter() - start_real < 3.0
    assert subpages == [subpages[0], 1 - subpages[0]] * 50  # no subpage lost or read twice
    assert sensor.next_frame_at() > clock.monotonic()


def test_bus_time_is_charged_per_transfer() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(), clock, bus_hz=400_000)
    transport = EmulatedTransport(device)
    t = clock.monotonic()
    transport.read_words(reg.RAM_START, 832)
    bits = 1 + 9 + 18 + 1 + 1 + 9 + 9 * 1664  # start, addr, 2 register bytes, stop, restart, addr, data
    assert clock.monotonic() - t == pytest.approx(bits / 400_000)
    t = clock.monotonic()
    transport.write_word(reg.STATUS, 0x0030)
    assert clock.monotonic() - t == pytest.approx((1 + 9 + 36 + 1) / 400_000)


def test_status_register_semantics() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(), clock)
    transport = EmulatedTransport(device)
    transport.write_word(reg.STATUS, reg.STATUS_CLEAR)  # overwrite on, data-ready off
    clock.sleep_until(device.next_subpage_at)
    status = int(transport.read_words(reg.STATUS, 1)[0])
    assert status & reg.STATUS_DATA_READY and status & reg.STATUS_SUBPAGE_MASK == 0
    transport.write_word(reg.STATUS, 0x0030)
    status = int(transport.read_words(reg.STATUS, 1)[0])
    assert not status & reg.STATUS_DATA_READY and status & reg.STATUS_OVERWRITE_ENABLE
    clock.sleep_until(device.next_subpage_at)
    assert int(transport.read_words(reg.STATUS, 1)[0]) & 0x0009 == 0x0009  # subpage 1 ready
    # With overwrite disabled, the array does not touch RAM until the host collected it.
    transport.write_word(reg.STATUS, 0x0008)  # keep data-ready, overwrite off
    ram = transport.read_words(reg.RAM_START, 832)
    measured = device.subpages_measured
    clock.sleep(3 * device.period)
    transport.read_words(reg.STATUS, 1)  # the device catches up with the clock on each transfer
    assert device.subpages_measured == measured
    np.testing.assert_array_equal(transport.read_words(reg.RAM_START, 832), ram)


def test_a_subpage_landing_mid_read_shows_in_the_tail_of_the_read() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(34.0), clock, netd_k=0.5)
    transport = EmulatedTransport(device)
    transport.write_word(reg.STATUS, reg.STATUS_CLEAR)
    clock.sleep_until(device.next_subpage_at + 0.01)
    before = transport.read_words(reg.RAM_START, 832)
    clock.sleep_until(device.next_subpage_at - 0.02)  # the next lands 20 ms into a 37 ms read
    mixed = transport.read_words(reg.RAM_START, 832)
    after = transport.read_words(reg.RAM_START, 832)
    changed = np.flatnonzero(mixed != before)
    assert changed.size and changed.min() > 300  # the head was clocked out before the new data
    np.testing.assert_array_equal(mixed[changed], after[changed])


def test_refresh_too_fast_for_the_bus_is_an_overrun_error() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(30.0), clock, bus_hz=400_000)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, refresh_hz=64,  # RAM read 37 ms > 15.6 ms
                            adapt_refresh=False)
    with pytest.raises(SensorError, match="overrun"):
        sensor.read_frame()
    fine = Mlx90640Sensor(EmulatedTransport(_device(StaticScene(30.0), clock)), clock=clock, refresh_hz=16)
    for _ in range(8):
        fine.read_frame()


def test_unplugged_raises_sensor_error_and_replugging_recovers() -> None:
    clock = VirtualClock()
    device = _device(PeopleScene([Person(0.5, 36.6)]), clock)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, refresh_hz=4)
    sensor.read_frame()
    device.unplugged = True
    t = clock.monotonic()
    for _ in range(3):
        with pytest.raises(SensorError, match="I²C") as info:
            sensor.read_frame()
        assert isinstance(info.value, OSError)
    assert clock.monotonic() - t >= 2 * sensor.period  # failing retries still let time pass
    device.unplugged = False  # power-cycled: back at 2 Hz
    assert reg.refresh_hz(device.control) == 2.0
    frames = [sensor.read_frame() for _ in range(2)]
    assert reg.refresh_hz(device.control) == 4.0
    assert not np.isnan(frames[-1].pixels).any()


def test_a_silent_reset_is_noticed_and_the_configuration_restored() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(30.0), clock)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, refresh_hz=8)
    sensor.read_frame()
    device.power_cycle()  # a brown-out: no bus error, just the power-on defaults (2 Hz) again
    errors = 0
    for _ in range(4):
        try:
            sensor.read_frame()
        except SensorError:
            errors += 1  # at most the one read that waited for 8 Hz data at 2 Hz
    assert errors <= 1
    assert reg.refresh_hz(device.control) == 8.0
    sensor.read_frame()


def test_stuck_array_is_detected_and_recovers() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(30.0), clock)  # default noise: real frames are never identical
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, frozen_after=16)
    for _ in range(4):
        sensor.read_frame()
    device.stuck = True
    with pytest.raises(SensorError, match="frozen"):
        for _ in range(40):
            sensor.read_frame()
    device.stuck = False
    sensor.read_frame()


def test_silent_array_times_out_without_hanging() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(30.0), clock)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock, refresh_hz=4)
    sensor.read_frame()
    device.silent = True
    t, real = clock.monotonic(), time.perf_counter()
    with pytest.raises(SensorError, match="data-ready"):
        sensor.read_frame()
    assert clock.monotonic() - t < 1.0 and time.perf_counter() - real < 0.5
    device.silent = False
    sensor.read_frame()


def test_glitch_words_are_rejected() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(30.0), clock)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock)
    device.glitch = True
    with pytest.raises(SensorError, match="0x7FFF"):
        sensor.read_frame()
    device.glitch = False
    sensor.read_frame()


@pytest.mark.parametrize("fill", [0x0000, 0xFFFF])
def test_corrupt_eeprom_fails_construction_never_hangs(fill: int) -> None:
    clock = VirtualClock()
    device = _device(StaticScene(), clock, eeprom=np.full(832, fill))
    start = time.perf_counter()
    with pytest.raises(SensorError, match="EEPROM"):
        Mlx90640Sensor(EmulatedTransport(device), clock=clock)
    assert time.perf_counter() - start < 0.5


def test_eeprom_is_read_until_two_reads_agree() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(), clock)
    device.corrupt_reads = 1
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock=clock)
    np.testing.assert_array_equal(sensor.eeprom, device.eeprom)
    device.corrupt_reads = 5
    with pytest.raises(SensorError, match="disagree"):
        Mlx90640Sensor(EmulatedTransport(device), clock=clock)


def test_absent_device_fails_construction() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(), clock)
    device.unplugged = True
    with pytest.raises(SensorError):
        Mlx90640Sensor(EmulatedTransport(device), clock=clock)
    with pytest.raises(SensorError):
        Mlx90640Sensor(Smbus2Transport(EmulatedSMBus(device), address=0x34), clock=clock)


def test_fake_busio_semantics() -> None:
    clock = VirtualClock()
    device = _device(StaticScene(), clock)
    i2c = EmulatedI2C(device)
    assert i2c.try_lock() and not i2c.try_lock()
    i2c.unlock()
    assert i2c.scan() == [0x33]
    buf = bytearray(10)
    i2c.writeto_then_readfrom(0x33, bytearray([0x24, 0x0C, 0xFF]), buf, out_end=2, in_start=4, in_end=6)
    assert buf[:4] == bytearray(4) and buf[6:] == bytearray(4)
    assert int.from_bytes(buf[4:6], "big") == reg.CONTROL_DEFAULT
    i2c.writeto(0x33, bytes([0x80, 0x0D, 0x19, 0x81, 0xEE]), end=4)  # control := 0x1981
    assert device.control == 0x1981
    with pytest.raises(OSError):
        i2c.writeto(0x40, b"")
    device.unplugged = True
    assert i2c.scan() == []


def test_smbus2_transport_on_a_missing_bus_is_a_sensor_error() -> None:
    with pytest.raises(SensorError, match="i2c-97"):
        Smbus2Transport(97)
