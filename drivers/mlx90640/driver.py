"""The kiosk's own MLX90640 driver: a `ThermalSensor` over a word-level transport.

Why not just Adafruit's driver: it busy-polls the status register, keeps calibration in class
attributes, never times out, and converts pixel by pixel in Python.  This one

* reads the EEPROM twice and compares, and refuses contents no device can have;
* sleeps (on the injected `Clock`) until the next subpage is due, then polls with bounded
  small sleeps and a timeout — never a busy loop, never a hang.  It locks onto the array's
  own timing (`phase.PhaseTracker`), so one status read usually finds data-ready set;
* reads RAM in one transfer, and detects overruns (a new subpage landing during the read);
* rejects glitch words, constant RAM and a frozen array as `SensorError`;
* converts with numpy (`conversion.subpage_temperatures`, per-pixel constants gathered once
  per subpage pattern) and merges subpages into one image — but never a subpage from before an
  outage with one after it: after a failed read, or a gap of more than `STALE_AFTER_PERIODS`
  subpage periods, the other subpage's pixels are NaN until it is measured again;
* times its own EEPROM read at start-up (832 words, as long as a RAM read) and, if the bus is
  slower than the configured rate needs — a Pi's I²C clock follows the core clock and is often
  below what `dtparam` says — runs the array at the fastest rate the bus can keep up with
  instead of overrunning forever.

Every `OSError` from the bus becomes `SensorError`, and the next `read_frame` re-applies the
configuration, because a sensor that was unplugged comes back at its power-on defaults.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from kiosk.errors import SensorError
from kiosk.ports import Clock, ThermalFrame

from . import registers as reg
from .calibration import Calibration, extract_calibration
from .conversion import DEFAULT_EMISSIVITY, OPEN_AIR_TA_SHIFT, die_state, subpage_plan, subpage_temperatures
from .deviating import interpolate_deviating
from .phase import PhaseTracker

ReflectedPolicy = float | Callable[[float], float] | None
TRANSFER_BUDGET = 0.7  # a subpage's RAM read may take at most this share of its period (polls, margin)
STALE_AFTER_PERIODS = 3.0  # the other subpage older than this many periods is not merged (a gap in reading)
_STATUS_TO_CONTROL = reg.CONTROL - reg.STATUS + 1  # status and control in one 14-word read
T = TypeVar("T")
log = logging.getLogger(__name__)
_U16 = np.dtype(np.uint16)
_GLITCH = np.uint16(reg.GLITCH_WORD).tobytes()  # in native byte order, as `ndarray.tobytes` gives words


@runtime_checkable
class Transport(Protocol):
    """Word access to one MLX90640: big-endian 16-bit registers at 16-bit addresses."""

    def read_words(self, address: int, count: int) -> np.ndarray:
        """`count` words from `address` in one bus transaction (uint16)."""
        ...

    def write_word(self, address: int, value: int) -> None: ...

    def close(self) -> None: ...


class Mlx90640Sensor:
    """A `kiosk.ports.ThermalSensor`: (24, 32) °C frames at the array's own pace.

    `refresh_hz` is the subpage rate (chess mode: a full image every two subpages; each frame
    returned carries the latest value of every pixel, NaN until both subpages were seen).
    `ambient_c` of a frame is the die temperature Ta — in open air about 8 °C above the room.
    `tr` is the reflected temperature policy: None = Ta − 8 °C (the reference library's
    open-air rule), a number = fixed °C, or a function of Ta.  `frozen_after` subpages with
    bit-identical RAM mean a stalled array (real pixels always carry noise); None disables it.
    """

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        refresh_hz: float = 4.0,
        emissivity: float = DEFAULT_EMISSIVITY,
        tr: ReflectedPolicy = None,
        chess: bool = True,
        frozen_after: int | None = 4,
        adapt_refresh: bool = True,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._code = reg.refresh_code(refresh_hz)
        self._period = 1.0 / reg.REFRESH_RATES_HZ[self._code]
        self.requested_hz = float(refresh_hz)
        self.transfer_s = math.nan  # measured duration of one 832-word read
        self._chess = chess
        self.emissivity = emissivity
        self.tr = tr
        self._frozen_after = frozen_after
        self._image = np.full(reg.PIXELS, np.nan)
        self._image_at: float | None = None  # when the last subpage went into `_image`
        self._last: dict[int, bytes] = {}  # per subpage, the words of its last conversion
        self._same = 0
        self._words: tuple[np.ndarray, int, int] | None = None  # RAM, control, subpage
        self._plans: dict[tuple[int, bool], object] = {}
        self.polls = 0  # status reads spent waiting for data-ready, for diagnostics and tests
        self._overrun_at: float | None = None
        self._phase = PhaseTracker(self._period)
        self.vdd = math.nan
        self._eeprom = self._read_eeprom()
        self._calibration = extract_calibration(self._eeprom)
        if adapt_refresh:
            self._fit_refresh_to_bus()
        self._next_due = clock.monotonic()
        self._needs_setup = True
        self._bus(self._configure)

    # ------------------------------------------------------------------------------ settings
    @property
    def emissivity(self) -> float:
        return self._emissivity

    @emissivity.setter
    def emissivity(self, value: float) -> None:
        if not 0.1 <= float(value) <= 1.0:
            raise ValueError(f"emissivity must be in 0.1..1.0, got {value}")
        self._emissivity = float(value)

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @property
    def eeprom(self) -> np.ndarray:
        """The EEPROM words read at start (a copy), e.g. for `kiosk thermal dump`."""
        return self._eeprom.copy()

    @property
    def last_words(self) -> np.ndarray | None:
        """The 834 frame words (RAM, control, subpage) behind the last frame, for diagnostics."""
        if self._words is None:
            return None
        ram, control, subpage = self._words
        return np.concatenate([ram.astype(np.int64), [control, subpage]])

    @property
    def period(self) -> float:
        """Seconds per subpage."""
        return self._period

    @property
    def measured_period(self) -> float:
        """Seconds per subpage as measured on the array's own oscillator (a few % off nominal)."""
        return self._phase.measured

    @property
    def refresh_hz(self) -> float:
        """The subpage rate in use (may be below the requested one on a slow bus)."""
        return 1.0 / self._period

    def _fit_refresh_to_bus(self) -> None:
        """Lower the rate until one RAM read fits `TRANSFER_BUDGET` of a subpage period."""
        if not math.isfinite(self.transfer_s):
            return
        code = self._code
        while code > 0 and self.transfer_s > TRANSFER_BUDGET / reg.REFRESH_RATES_HZ[code]:
            code -= 1
        if code != self._code:
            log.warning("I²C reads 832 words in %.0f ms: too slow for %g Hz, running at %g Hz",
                        self.transfer_s * 1000, reg.REFRESH_RATES_HZ[self._code], reg.REFRESH_RATES_HZ[code])
            self._code = code
            self._period = 1.0 / reg.REFRESH_RATES_HZ[code]
            self._phase.set_period(self._period)

    def reflected_c(self, ta_c: float) -> float:
        """The reflected temperature the conversion uses for die temperature `ta_c`."""
        if self.tr is None:
            return ta_c - OPEN_AIR_TA_SHIFT
        if callable(self.tr):
            return float(self.tr(ta_c))
        return float(self.tr)

    # ----------------------------------------------------------------------------------- bus
    def _bus(self, fn: Callable[..., T], *args: object) -> T:
        try:
            return fn(*args)
        except SensorError:
            raise
        except OSError as exc:
            # Reconfigure on the next read (a re-plugged part is back at its defaults), and not
            # before another period: a caller retrying at once must still let time pass.
            self._needs_setup = True
            self._next_due = self._clock.monotonic() + self._period
            raise SensorError(f"MLX90640 I²C error: {exc}") from exc

    def _read(self, address: int, count: int) -> np.ndarray:
        words = self._transport.read_words(address, count)
        if type(words) is not np.ndarray or words.dtype is not _U16:
            words = np.asarray(words, dtype=np.uint16)
        if words.shape != (count,):
            raise SensorError(f"short read at 0x{address:04X}: {words.shape[0]} of {count} words")
        return words

    def _read_eeprom(self) -> np.ndarray:
        """The EEPROM, read until two consecutive reads agree (at most three reads)."""
        first = self._bus(self._read, reg.EEPROM_START, reg.EEPROM_WORDS)
        for _ in range(2):
            started = self._clock.monotonic()
            second = self._bus(self._read, reg.EEPROM_START, reg.EEPROM_WORDS)
            self.transfer_s = self._clock.monotonic() - started  # = a RAM read: same word count
            if np.array_equal(first, second):
                return second
            first = second
        raise SensorError("EEPROM reads disagree: the bus corrupts data (wiring, pull-ups, speed)")

    def _configure(self) -> None:
        control = int(self._read(reg.CONTROL, 1)[0])
        wanted = reg.with_refresh(control, self._code) | reg.CTRL_SUBPAGE_MODE
        wanted &= ~reg.CTRL_SUBPAGE_REPEAT & 0xFFFF
        wanted = wanted | reg.CTRL_CHESS if self._chess else wanted & ~reg.CTRL_CHESS & 0xFFFF
        if wanted != control:
            self._transport.write_word(reg.CONTROL, wanted)
            check = int(self._read(reg.CONTROL, 1)[0])
            if check != wanted:
                raise SensorError(f"control register reads 0x{check:04X} after writing 0x{wanted:04X}")
            self._next_due = self._clock.monotonic() + self._period  # the array restarts its measurement
        else:
            self._next_due = self._clock.monotonic()  # phase unknown: start polling now
        self._transport.write_word(reg.STATUS, reg.STATUS_CLEAR)
        self._needs_setup = False
        self._phase.unlock()

    # ------------------------------------------------------------------------------- frames
    def next_frame_at(self) -> float:
        return self._next_due

    def read_frame(self) -> ThermalFrame:
        self._clock.sleep_until(self._next_due)
        try:
            if self._needs_setup:
                self._bus(self._configure)
                self._clock.sleep_until(self._next_due)
            lo, hi = self._bus(self._wait_ready)
            self._overrun_at = None
            ram, control, subpage = self._bus(self._read_subpage)
        except SensorError:
            self._phase.unlock()
            self._forget_image()
            raise
        if self._overrun_at is not None:  # what we read landed during the first attempt
            lo, hi = None, self._overrun_at
        self._next_due = self._phase.track(lo, hi)
        try:
            return self._convert(ram, control, subpage)
        except SensorError:  # glitch, frozen, implausible: what the image holds is from before it
            self._forget_image()
            raise

    def _forget_image(self) -> None:
        """After an outage the other subpage is stale: NaN until it is measured again."""
        self._image.fill(np.nan)
        self._image_at = None

    # ------------------------------------------------------------------------------- frames
    def _wait_ready(self) -> tuple[float | None, float]:
        """Poll status until data-ready: (start of the last poll that found it clear or None,
        end of the poll that found it set)."""
        clock = self._clock
        start = clock.monotonic()
        timeout = self._period * 1.5 + 0.05
        coarse = min(max(self._period / 40, 0.0005), 0.01)
        step = self._phase.fine_step() if self._phase.locked else coarse
        lo = None
        for i in range(math.ceil(timeout / step) + 2):  # bounded, with a sleep between polls
            before = clock.monotonic()
            self.polls += 1
            if int(self._read(reg.STATUS, 1)[0]) & reg.STATUS_DATA_READY:
                return lo, clock.monotonic()
            lo = before
            now = clock.monotonic()
            if now - start >= timeout:
                break
            clock.sleep(min(step, start + timeout - now))
            if i >= 2:  # the phase was not where we thought: back off to the coarse step
                step = min(2 * step, coarse)
        self._next_due = clock.monotonic()
        self._needs_setup = True  # maybe it reset to its power-on rate: check the configuration
        raise SensorError(f"no data-ready from the MLX90640 within {timeout:.2f} s")

    def _read_subpage(self) -> tuple[np.ndarray, int, int]:
        """Clear data-ready, read RAM in one transfer, and make sure no subpage landed meanwhile:
        (RAM words, control register, subpage)."""
        for attempt in range(2):
            if attempt:  # a subpage landed during the first read: the phase is off, re-measure it
                self._phase.unlock()
                self._overrun_at = self._clock.monotonic()
            self._transport.write_word(reg.STATUS, reg.STATUS_CLEAR)
            ram = self._read(reg.RAM_START, reg.RAM_WORDS)
            regs = self._read(reg.STATUS, _STATUS_TO_CONTROL)  # status … control, one transfer
            after = int(regs[0])
            if not after & reg.STATUS_DATA_READY:
                # `after` names the last subpage measured, i.e. the one now in RAM — even if one
                # landed between the status poll and the clear.
                control = int(regs[-1])
                code = (control & reg.CTRL_REFRESH_MASK) >> reg.CTRL_REFRESH_SHIFT
                if code != self._code or bool(control & reg.CTRL_CHESS) != self._chess:
                    self._needs_setup = True  # the part reset itself (brown-out): configure again
                return ram, control, after & 1
        raise SensorError(
            f"overrun: a new subpage arrived during two RAM reads in a row (bus too slow for "
            f"{1 / self._period:g} Hz)"
        )

    def _convert(self, ram: np.ndarray, control: int, subpage: int) -> ThermalFrame:
        chess = bool(control & reg.CTRL_CHESS)
        cal = self._calibration
        plan = self._plans.get((subpage, chess))
        if plan is None:
            plan = self._plans[(subpage, chess)] = subpage_plan(cal, subpage, chess)
        used = ram[plan.used]  # this subpage's pixels, then Ta/gain/Vdd, then its CP pixel
        n = len(plan.sel)
        # The checks work on the words as bytes: a find, a compare and a memcmp in C, where the
        # numpy equivalents cost several times more in a process that wakes eight times a
        # second with cold caches.
        raw = used.tobytes()
        at = raw.find(_GLITCH)
        while at > 0 and at & 1:  # a match straddling two words is no glitch word: look further
            at = raw.find(_GLITCH, at + 1)
        if at >= 0:
            raise SensorError("glitch: 0x7FFF in the subpage's RAM words")
        if raw[:2] * n == raw[:2 * n]:
            raise SensorError(f"RAM pixels all read 0x{int(used[0]):04X}: no measurement")
        if self._frozen_after is not None:
            self._same = self._same + 1 if self._last.get(subpage) == raw else 0
            self._last[subpage] = raw
            if self._same >= self._frozen_after:
                raise SensorError(f"frozen: RAM unchanged for {self._same} subpages")
        vbe, gain, ptat, vdd_word, cp = struct.unpack_from("=5h", raw, 2 * n)  # conversion.AUX_USED's order
        vdd, ta = die_state(cal, vdd_word, ptat, vbe, control)
        if not (math.isfinite(ta) and -45.0 <= ta <= 130.0 and 2.5 <= vdd <= 4.0):
            raise SensorError(f"implausible die state: Ta {ta:.1f} °C, Vdd {vdd:.2f} V")
        to = subpage_temperatures(cal, plan, used[:n].view(np.int16), gain, cp, emissivity=self._emissivity,
                                  tr=self.reflected_c(ta), vdd=vdd, ta=ta)
        now = self._clock.monotonic()
        if self._image_at is not None and now - self._image_at > STALE_AFTER_PERIODS * self._period:
            self._image.fill(np.nan)  # nobody read for a while: the other subpage is from before the gap
        image = self._image
        image[plan.sel] = to  # only this subpage's pixels; the other keeps its latest values
        self._image_at = now
        if plan.bad:  # from same-subpage neighbours only, all just written
            interpolate_deviating(image, plan.bad, plan.all_bad, chess=chess)
        self._words = (ram, control, subpage)
        self.vdd = vdd
        return ThermalFrame(
            pixels=image.reshape(reg.ROWS, reg.COLS).copy(),
            ambient_c=ta,
            taken_at=now,
            subpage=subpage,
        )

    # ------------------------------------------------------------------------------ lifetime
    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Mlx90640Sensor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
