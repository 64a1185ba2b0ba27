"""CPU seconds per minute of streaming at 8 Hz, in real time: our driver vs Adafruit's getFrame loop.

Both read the same register-level emulator on the real clock (every transfer takes its wire time
at 400 kHz, as on a Pi) for `--seconds` each:

* ours: `Mlx90640Sensor.read_frame()` in a loop — it sleeps until just after the data-ready it
  predicts from the array's measured phase and period (so one status read usually finds it set;
  every few subpages it wakes early on purpose to re-measure), reads RAM in one transfer and
  converts with numpy;
* Adafruit: the unmodified library's `getFrame()` in a loop (two subpages per call), which polls
  the status register back to back and converts pixel by pixel in Python.

CPU is `time.process_time()`.  The emulator's measurement model (rendering the scene and
inverting the datasheet model, `Mlx90640Device._measure`) is measured and subtracted: on a Pi
the sensor does that.  The per-transfer work of the emulated bus stays in, as the stand-in for
what each transfer costs on a Pi (Blinka or smbus2 in Python, the ioctl, the interrupt): a loop
that polls thousands of times a second pays it thousands of times.  Results are scaled to one
minute.

Run: .venv/bin/python bench/thermal_cpu.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.adafruit_backend import isolated_adafruit_class
from drivers.mlx90640.driver import Mlx90640Sensor
from drivers.mlx90640.emulated_bus import EmulatedI2C
from drivers.mlx90640.emulator import EmulatedTransport, Mlx90640Device
from drivers.mlx90640.scene import PeopleScene, Person
from kiosk.clock import RealClock
from kiosk.errors import SensorError

_ERRORS = {"ours": 0, "adafruit": 0}


class _Metered(Mlx90640Device):
    """The emulator, keeping count of the CPU it spends itself."""

    cpu = 0.0

    def _measure(self, t: float, subpage: int) -> None:
        c = time.process_time()
        try:
            super()._measure(t, subpage)
        finally:
            self.cpu += time.process_time() - c


def _device(clock: RealClock) -> _Metered:
    return _Metered(PeopleScene([Person(0.6, 36.8)], ambient_c=23.0), clock=clock, seed=3)


def run_ours(seconds: float) -> tuple[float, int, float]:
    clock = RealClock()
    device = _device(clock)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock, refresh_hz=8)
    sensor.read_frame()  # settle on the schedule
    device.cpu = 0.0
    subpages = 0
    cpu0, end = time.process_time(), time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sensor.read_frame()
            subpages += 1
        except SensorError:  # an overrun when this shared machine deschedules us: counted, not fatal
            _ERRORS["ours"] += 1
    total = time.process_time() - cpu0
    return total - device.cpu, subpages, device.cpu


def run_adafruit(seconds: float) -> tuple[float, int, float]:
    clock = RealClock()
    device = _device(clock)
    mlx = isolated_adafruit_class()(EmulatedI2C(device))
    mlx.refresh_rate = reg.refresh_code(8)
    buf = [0.0] * 768
    mlx.getFrame(buf)
    device.cpu = 0.0
    subpages = 0
    cpu0, end = time.process_time(), time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            mlx.getFrame(buf)
            subpages += 2
        except RuntimeError:  # "Too many retries" / "Frame data error"
            _ERRORS["adafruit"] += 1
    total = time.process_time() - cpu0
    return total - device.cpu, subpages, device.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    s = args.seconds
    ours, n_ours, emu_ours = run_ours(s)
    theirs, n_theirs, emu_theirs = run_adafruit(s)
    per_min = 60.0 / s
    print(f"streaming 8 Hz subpages in real time for {s:.0f} s each (scaled to one minute; emulator CPU "
          f"subtracted: {emu_ours * per_min:.2f} s / {emu_theirs * per_min:.2f} s per minute)")
    print(f"  ours     (read_frame loop): {ours * per_min:7.3f} CPU s/min, {n_ours / s:5.2f} subpages/s")
    print(f"  adafruit (getFrame loop)  : {theirs * per_min:7.3f} CPU s/min, {n_theirs / s:5.2f} subpages/s")
    print(f"  read errors: ours {_ERRORS['ours']}, adafruit {_ERRORS['adafruit']}")
    print(f"  ratio: ours uses {theirs / max(ours, 1e-9):.1f}x less CPU (aim >= 20x)")


if __name__ == "__main__":
    main()
