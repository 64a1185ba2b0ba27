"""`AdafruitSensor`: the unmodified Adafruit CircuitPython driver behind `ThermalSensor`.

Kept as a second opinion beside the kiosk's own driver (same bus, same emulator): if the two
disagree, one of them is wrong.  The adapter works around the library's sharp edges without
patching it:

* calibration lives in the library's *class* attributes (lists mutated in place, bad-pixel
  lists that only ever grow), so each adapter instantiates a fresh subclass with its own
  copies (`isolated_adafruit_class`);
* the library loops forever on a zero Kta table and divides by zero on a blank EEPROM, so the
  EEPROM is read and checked with `calibration.check_eeprom`/`extract_calibration` first;
* `getFrame` busy-polls with no timeout, so the bus is wrapped in a deadline that raises
  `TimeoutError` (an OSError) from the next transfer once the frame is overdue;
* `getFrame` hard-codes emissivity 0.95; the adapter records each subpage's Ta and re-solves
  To for the configured emissivity from the radiance implied at 0.95:
      T⁴ = Tr⁴ + (T₀.₉₅⁴ − Tr⁴) · 0.95 / ε       (kelvin, Tr = Ta − 8 as the library uses)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kiosk.errors import SensorError
from kiosk.ports import Clock, ThermalFrame

from . import registers as reg
from .calibration import extract_calibration
from .conversion import DEFAULT_EMISSIVITY, OPEN_AIR_TA_SHIFT

ADAFRUIT_EMISSIVITY = 0.95  # hard-coded in adafruit_mlx90640.MLX90640.getFrame
_BAD_PIXEL = -273.15  # what getFrame leaves in a deviating pixel


def isolated_adafruit_class() -> type:
    """A subclass of `adafruit_mlx90640.MLX90640` with private copies of its class-level lists,
    and a `_GetFrameData` that remembers each subpage's frame words (for Ta and the pattern)."""
    import adafruit_mlx90640

    base = adafruit_mlx90640.MLX90640
    fresh: dict[str, Any] = {k: list(v) for k, v in vars(base).items() if isinstance(v, list)}

    def _GetFrameData(self: Any, frameData: list[int]) -> int:  # the library's own names
        result = base._GetFrameData(self, frameData)
        if self.kiosk_frames is not None:
            self.kiosk_frames.append(list(frameData))
        return result

    fresh["_GetFrameData"] = _GetFrameData
    fresh["kiosk_frames"] = None
    return type("IsolatedMLX90640", (base,), fresh)


_STATUS_ADDRESS = bytes([reg.STATUS >> 8, reg.STATUS & 0xFF])


class _DeadlineI2C:
    """A busio.I2C proxy that fails the next transfer once `deadline` (clock.monotonic) passed,
    and pauses `poll_s` after a status read that says "not ready" (tames a busy-poll loop)."""

    def __init__(self, i2c: Any, clock: Clock, poll_s: float = 0.0) -> None:
        self._i2c = i2c
        self._clock = clock
        self.poll_s = poll_s
        self.deadline = math.inf

    def _check(self) -> None:
        if self._clock.monotonic() > self.deadline:
            raise TimeoutError("MLX90640 frame overdue (no data-ready)")

    def try_lock(self) -> bool:
        return bool(self._i2c.try_lock())

    def unlock(self) -> None:
        self._i2c.unlock()

    def writeto(self, address: int, buffer: Any, **kw: Any) -> None:
        self._check()
        self._i2c.writeto(address, buffer, **kw)

    def readfrom_into(self, address: int, buffer: Any, **kw: Any) -> None:
        self._check()
        self._i2c.readfrom_into(address, buffer, **kw)

    def writeto_then_readfrom(self, address: int, out: Any, into: Any, **kw: Any) -> None:
        self._check()
        self._i2c.writeto_then_readfrom(address, out, into, **kw)
        out_view = memoryview(out)[kw.get("out_start", 0):kw.get("out_end")]
        if self.poll_s > 0 and bytes(out_view) == _STATUS_ADDRESS:
            in_view = memoryview(into)[kw.get("in_start", 0):kw.get("in_end")]
            if len(in_view) >= 2 and not in_view[1] & reg.STATUS_DATA_READY:
                self._clock.sleep(self.poll_s)


class AdafruitSensor:
    """A `ThermalSensor` backed by `adafruit_mlx90640` on a busio-like I²C bus.

    `i2c` None opens the Pi's bus through Blinka (`board`/`busio`, imported only then).
    Frames come whole (both subpages, `subpage = -1`), once per two refresh periods.  The
    library busy-polls the status register; the adapter's bus proxy sleeps a little on the
    clock after each not-ready poll, which spares the CPU and the bus (and virtual time).
    """

    def __init__(
        self,
        i2c: Any,
        clock: Clock,
        *,
        address: int = reg.DEFAULT_ADDRESS,
        refresh_hz: float = 4.0,
        emissivity: float = DEFAULT_EMISSIVITY,
        frequency: int = 400_000,
    ) -> None:
        if not 0.1 <= emissivity <= 1.0:
            raise ValueError(f"emissivity must be in 0.1..1.0, got {emissivity}")
        if i2c is None:
            import board
            import busio

            i2c = busio.I2C(board.SCL, board.SDA, frequency=frequency)
        self._clock = clock
        self._period = 1.0 / reg.REFRESH_RATES_HZ[reg.refresh_code(refresh_hz)]
        self._bus = _DeadlineI2C(i2c, clock, poll_s=min(self._period / 50, 0.005))
        self.emissivity = float(emissivity)
        self._check_eeprom(address)
        try:
            self._mlx = isolated_adafruit_class()(self._bus, address)
            self._mlx.refresh_rate = reg.refresh_code(refresh_hz)
        except (OSError, ValueError, RuntimeError, ArithmeticError) as exc:
            raise SensorError(f"adafruit_mlx90640 failed to start: {exc}") from exc
        self._code = reg.refresh_code(refresh_hz)
        self._needs_setup = False
        self._next_at = clock.monotonic()
        self.ambient_c = math.nan

    def _check_eeprom(self, address: int) -> None:
        """Read the EEPROM ourselves first: the library hangs or crashes on impossible contents."""
        buf = bytearray(2 * reg.EEPROM_WORDS)
        start = bytes([reg.EEPROM_START >> 8, reg.EEPROM_START & 0xFF])
        try:
            for _ in range(1000):  # somebody else may hold the bus briefly; never wait forever
                if self._bus.try_lock():
                    break
                self._clock.sleep(0.001)
            else:
                raise SensorError("I²C bus stays locked by another user")
            try:
                self._bus.writeto_then_readfrom(address, start, buf)
            finally:
                self._bus.unlock()
        except OSError as exc:
            raise SensorError(f"MLX90640 I²C error: {exc}") from exc
        extract_calibration(np.frombuffer(bytes(buf), dtype=">u2"))  # SensorError if impossible

    def next_frame_at(self) -> float:
        return self._next_at

    def read_frame(self) -> ThermalFrame:
        self._clock.sleep_until(self._next_at)
        raw = [math.nan] * reg.PIXELS  # a subpage the library did not read stays NaN, not 0 °C
        self._mlx.kiosk_frames = []
        self._bus.deadline = self._clock.monotonic() + 3 * self._period + 0.1
        try:
            if self._needs_setup:  # after a fault the part may have power-cycled to 2 Hz
                self._mlx.refresh_rate = self._code
                self._needs_setup = False
            self._mlx.getFrame(raw)
        except (OSError, RuntimeError, ValueError, ArithmeticError) as exc:
            self._needs_setup = True
            self._next_at = self._clock.monotonic() + self._period
            raise SensorError(f"adafruit_mlx90640 getFrame failed: {exc}") from exc
        finally:
            self._bus.deadline = math.inf
        pixels = np.asarray(raw, dtype=np.float64)
        pixels[pixels <= _BAD_PIXEL + 1e-9] = np.nan
        done = np.zeros(reg.PIXELS, dtype=bool)
        for frame in reversed(self._mlx.kiosk_frames):  # the last read of each subpage is what's in `raw`
            ta = float(self._mlx._GetTa(frame))
            mine = (reg.subpage_pattern(frame[reg.FRAME_CONTROL]) == frame[reg.FRAME_SUBPAGE]) & ~done
            pixels[mine] = correct_emissivity(pixels[mine], ta - OPEN_AIR_TA_SHIFT, self.emissivity)
            done |= mine
        if self._mlx.kiosk_frames:
            self.ambient_c = float(self._mlx._GetTa(self._mlx.kiosk_frames[-1]))
        now = self._clock.monotonic()
        # getFrame returned just after its second subpage; the next frame starts with the
        # subpage after that, one period on.  (Waking later would catch a stale data-ready and
        # a subpage landing mid-read: the library then retries and a frame costs 3 periods.)
        self._next_at = now + 0.8 * self._period
        return ThermalFrame(pixels=pixels.reshape(reg.ROWS, reg.COLS), ambient_c=self.ambient_c,
                            taken_at=now, subpage=-1)

    def close(self) -> None:
        """Nothing to release: the I²C bus object belongs to whoever passed it in (or to Blinka)."""

    def __enter__(self) -> AdafruitSensor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def correct_emissivity(t95_c: np.ndarray, tr_c: float, emissivity: float) -> np.ndarray:
    """Re-solve To for `emissivity` from temperatures computed at 0.95 with reflected `tr_c`."""
    tr4 = (tr_c + 273.15) ** 4
    k4 = tr4 + ((np.asarray(t95_c) + 273.15) ** 4 - tr4) * ADAFRUIT_EMISSIVITY / emissivity
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.sqrt(k4)) - 273.15
