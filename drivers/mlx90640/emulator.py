"""A register-level MLX90640: EEPROM, RAM, status and control registers on a virtual I²C bus.

The emulated array measures subpages at its refresh rate on a `Clock`.  At each subpage's
completion time it renders the scene *at that time* and writes RAM by inverting the datasheet
model (`ram.render_subpage`), so a driver that reads the words correctly gets the scene's
temperatures back — and a driver that gets the maths wrong does not.  It then sets data-ready
and the subpage number in the status register; writing 0x0030 there clears data-ready, as
hosts do.

Every bus transfer costs the time it takes on the wire (9 bits per byte with its ACK, plus
start, repeated start and stop) via `clock.sleep`: instant on a `VirtualClock`, but
time-accurate, so a driver that reads too slowly for its refresh rate sees the overruns a
real one would.  A subpage completing in the middle of a RAM read shows up in the read, with
the bytes clocked after that moment coming from the new subpage.

Faults can be switched on and off at run time: `unplugged` (every transfer fails like a NACK;
re-plugging power-cycles the part), `stuck` (the engine keeps signalling data-ready but RAM no
longer changes), `silent` (data-ready never comes), `glitch` (the next subpages carry a 0x7FFF
word), `zero_ram` (subpages land as all-zero RAM, as after a failed conversion), `nack_mid_read`
(the next N long reads stop with a NACK part-way through, after the bytes already clocked),
`corrupt_reads` (the next N reads have one bit flipped), `corrupt_eeprom()` (the EEPROM
contents garbled, as a part damaged by ESD), and `power_cycle()` (a brown-out: back to the
power-on defaults without a bus error).

The scene's room temperature drives the die: Ta = room + `self_heating_c` (8 °C, the open-air
offset the reference library assumes), and the room is also the reflected temperature, so a
driver using the library's Tr = Ta − 8 reads the scene exactly.  A room that drifts (see
`scene.SlowDrift`) is followed by the die with a thermal lag `die_lag_s` (0 = at once), so while
the room warms or cools the die is not exactly 8 °C above it — as on a real kiosk.

Bus fronts onto a device: `EmulatedTransport` here (for `Mlx90640Sensor`), `EmulatedI2C` and
`EmulatedSMBus` in `emulated_bus`.
"""

from __future__ import annotations

import errno
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from kiosk.errors import SensorError
from kiosk.ports import Clock

from . import registers as reg
from .calibration import Calibration, extract_calibration
from .eeprom import encode_eeprom, random_parameters
from .ram import render_subpage

DEFAULT_BUS_HZ = 400_000
DEFAULT_NETD_K = 0.1  # noise-equivalent temperature difference, K rms at 4 Hz
SELF_HEATING_C = 8.0  # in open air the die runs this much above the room (the reference's Tr = Ta − 8)


@runtime_checkable
class Scene(Protocol):
    """What the array looks at, at a given time."""

    def render(self, t_monotonic: float) -> tuple[np.ndarray, np.ndarray | float, float]:
        """(object temperatures (24, 32) °C, emissivity scalar or (24, 32), room temperature °C)."""
        ...


@dataclass(frozen=True, slots=True)
class StaticScene:
    """A scene that never changes: a uniform temperature, or a fixed (24, 32) image."""

    object_c: np.ndarray | float = 24.0
    emissivity: np.ndarray | float = 0.98
    ambient_c: float = 24.0

    def render(self, t_monotonic: float) -> tuple[np.ndarray, np.ndarray | float, float]:
        image = np.broadcast_to(np.asarray(self.object_c, dtype=np.float64), (reg.ROWS, reg.COLS))
        return image, self.emissivity, self.ambient_c


class Mlx90640Device:
    """The device behind the bus.  Bus fronts call `transact`; tests flip the fault attributes.

    `eeprom` defaults to a device synthesised from `seed`; `netd_k` is the pixel noise (K rms at
    4 Hz, scaled with √rate; 0 for exact round trips); `bus_hz` the I²C clock the transfers are
    timed at.  The seed also drives the noise, so a run is reproducible.
    """

    def __init__(
        self,
        scene: Scene,
        *,
        clock: Clock,
        eeprom: np.ndarray | None = None,
        seed: int = 0,
        netd_k: float = DEFAULT_NETD_K,
        self_heating_c: float = SELF_HEATING_C,
        vdd: float = 3.3,
        bus_hz: float = DEFAULT_BUS_HZ,
        address: int = reg.DEFAULT_ADDRESS,
        die_lag_s: float = 0.0,
    ) -> None:
        self.scene = scene
        self.clock = clock
        self.address = address
        self.bus_hz = float(bus_hz)
        self.netd_k = float(netd_k)
        self.self_heating_c = float(self_heating_c)
        self.vdd = float(vdd)
        rng = np.random.default_rng(seed)
        if eeprom is None:
            eeprom = encode_eeprom(random_parameters(np.random.default_rng(rng.integers(2**32))))
        self.eeprom = np.asarray(eeprom, dtype=np.uint16).copy()
        self._noise = np.random.default_rng(rng.integers(2**32))
        try:
            self._cal: Calibration | None = extract_calibration(self.eeprom)
        except SensorError:
            self._cal = None  # a part with a garbled EEPROM still answers; it just measures nonsense
        self.stuck = False
        self.silent = False
        self.glitch = False
        self.zero_ram = False
        self.nack_mid_read = 0
        self.corrupt_reads = 0
        self.die_lag_s = float(die_lag_s)
        self._die_room: tuple[float, float] | None = None  # (time, room temperature the die has reached)
        self.subpages_measured = 0
        self._unplugged = False
        self._power_on()

    # -------------------------------------------------------------------------------- state
    def _power_on(self) -> None:
        self.ram = np.zeros(reg.RAM_WORDS, dtype=np.uint16)
        self.status = 0
        self.control = int(self.eeprom[reg.EE_CONTROL_DEFAULT - reg.EEPROM_START]) & reg.CTRL_VALID_MASK
        self.i2c_config = 0
        self._pointer = 0
        self._next_subpage = 0
        self._restart_measurement()

    def _restart_measurement(self) -> None:
        self._period = 1.0 / reg.refresh_hz(self.control)
        self._next_event = self.clock.monotonic() + self._period

    def corrupt_eeprom(self, *, seed: int = 0) -> None:
        """Garble the EEPROM (random words): a driver must refuse it at start, never hang on it."""
        rng = np.random.default_rng(seed)
        self.eeprom = rng.integers(0, 0x10000, reg.EEPROM_WORDS).astype(np.uint16)
        try:
            self._cal = extract_calibration(self.eeprom)
        except SensorError:
            self._cal = None

    def _die_ambient(self, t: float, room_c: float) -> float:
        """The room temperature the die has caught up with (first-order lag of `die_lag_s`)."""
        if self.die_lag_s <= 0 or self._die_room is None:
            self._die_room = (t, room_c)
            return room_c
        t0, followed = self._die_room
        followed += (room_c - followed) * (1.0 - math.exp(-max(0.0, t - t0) / self.die_lag_s))
        self._die_room = (t, followed)
        return followed

    def power_cycle(self) -> None:
        """Back to power-on defaults (2 Hz, RAM cleared) as after a brown-out; the bus keeps working."""
        self._power_on()

    @property
    def unplugged(self) -> bool:
        """True while the part is off the bus.  Plugging it back in power-cycles it."""
        return self._unplugged

    @unplugged.setter
    def unplugged(self, value: bool) -> None:
        if self._unplugged and not value:
            self._power_on()
        self._unplugged = bool(value)

    @property
    def period(self) -> float:
        """Seconds per subpage at the current refresh rate."""
        return self._period

    @property
    def next_subpage_at(self) -> float:
        """When (clock.monotonic) the measurement in progress completes."""
        return self._next_event

    # ------------------------------------------------------------------------- measurement
    def _advance(self, now: float) -> list[float]:
        """Complete every subpage due by `now`; returns their completion times."""
        if self._unplugged:
            return []
        behind = now - self._next_event
        if behind > 2 * self._period:  # long idle: only the last two subpages can still be seen
            skip = int(behind // self._period) - 1
            self._next_event += skip * self._period
            self._next_subpage ^= skip & 1
        done = []
        while self._next_event <= now and len(done) < 4:
            done.append(self._next_event)
            self._complete(self._next_event)
            self._next_event += self._period
        return done

    def _complete(self, t: float) -> None:
        if self.control & reg.CTRL_SUBPAGE_REPEAT:
            subpage = ((self.control & reg.CTRL_SUBPAGE_SELECT_MASK) >> reg.CTRL_SUBPAGE_SELECT_SHIFT) & 1
        else:
            subpage = self._next_subpage
            self._next_subpage ^= 1
        if self.silent:
            return
        if self.status & reg.STATUS_DATA_READY and not self.status & reg.STATUS_OVERWRITE_ENABLE:
            return  # the host has not collected the last subpage and overwrite is off
        if self.zero_ram:
            self.ram = np.zeros(reg.RAM_WORDS, dtype=np.uint16)
        elif not self.stuck and self._cal is not None:
            self._measure(t, subpage)
        self.status = (self.status & ~reg.STATUS_SUBPAGE_MASK) | subpage | reg.STATUS_DATA_READY
        self.subpages_measured += 1

    def _measure(self, t: float, subpage: int) -> None:
        assert self._cal is not None
        object_c, emissivity, ambient_c = self.scene.render(t)
        object_c = np.asarray(object_c, dtype=np.float64).reshape(-1)
        if self.netd_k > 0:
            sigma = self.netd_k * math.sqrt(1.0 / self._period / 4.0)  # white noise: ∝ √bandwidth
            object_c = object_c + self._noise.normal(0.0, sigma, object_c.shape)
        die_room = self._die_ambient(t, float(ambient_c))
        self.ram = render_subpage(
            self._cal, self.ram, subpage=subpage, control=self.control, object_c=object_c,
            emissivity=emissivity, ta_c=die_room + self.self_heating_c, tr_c=ambient_c, vdd=self.vdd,
        )
        if self.glitch:
            pixels = np.flatnonzero(reg.subpage_pattern(self.control) == subpage)
            self.ram[int(self._noise.choice(pixels))] = reg.GLITCH_WORD

    # ---------------------------------------------------------------------------- registers
    def _words(self, address: int, count: int) -> np.ndarray:
        """Register contents from `address` on (unmapped addresses read 0)."""
        for start, end, store in (
            (reg.RAM_START, reg.RAM_END, self.ram),
            (reg.EEPROM_START, reg.EEPROM_END, self.eeprom),
        ):
            if start <= address and address + count <= end:
                return store[address - start:address - start + count].copy()
        return np.array([self._word(address + i) for i in range(count)], dtype=np.uint16)

    def _word(self, address: int) -> int:
        address &= 0xFFFF
        if reg.RAM_START <= address < reg.RAM_END:
            return int(self.ram[address - reg.RAM_START])
        if reg.EEPROM_START <= address < reg.EEPROM_END:
            return int(self.eeprom[address - reg.EEPROM_START])
        registers = {reg.STATUS: self.status, reg.CONTROL: self.control, reg.I2C_CONFIG: self.i2c_config}
        return registers.get(address, 0)

    def _write(self, address: int, value: int) -> None:
        if address == reg.STATUS:
            keep = self.status & (reg.STATUS_SUBPAGE_MASK | (value & reg.STATUS_DATA_READY))
            self.status = keep | (value & (reg.STATUS_OVERWRITE_ENABLE | reg.STATUS_START_MEASUREMENT))
        elif address == reg.CONTROL:
            old = self.control
            self.control = value & reg.CTRL_VALID_MASK
            if (old ^ self.control) & reg.CTRL_REFRESH_MASK:
                self._restart_measurement()
        elif address == reg.I2C_CONFIG:
            self.i2c_config = value
        # RAM is read-only and EEPROM writes need an erase/unlock sequence: both ignored.

    # ---------------------------------------------------------------------------------- bus
    def _bits(self, n_write: int, n_read: int) -> int:
        bits = 1 + 9 + 9 * n_write + 1  # start, address+R/W, data bytes (each with ACK), stop
        if n_read:
            bits += 1 + 9 + 9 * n_read  # repeated start, address+R, data bytes
        return bits

    def transact(self, write: bytes, read_len: int = 0) -> bytes:
        """One I²C transaction: write bytes (register address, then data words), then read.

        Raises OSError(EREMOTEIO) like a NACK while unplugged.  Costs bus time on the clock.
        """
        clock = self.clock
        start = clock.monotonic()
        self._advance(start)
        if self._unplugged:
            clock.sleep(self._bits(0, 0) / self.bus_hz)
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no ACK from 0x{self.address:02X})")
        if len(write) >= 2:
            self._pointer = (write[0] << 8) | write[1]
            for i in range(2, len(write) - 1, 2):
                self._write(self._pointer, (write[i] << 8) | write[i + 1])
                self._pointer = (self._pointer + 1) & 0xFFFF
        if not read_len:
            clock.sleep(self._bits(len(write), 0) / self.bus_hz)
            self._advance(clock.monotonic())
            return b""
        n_words = (read_len + 1) // 2
        if self.nack_mid_read > 0 and read_len >= 64:  # a long read cut off by noise or a loose wire
            self.nack_mid_read -= 1
            clock.sleep(self._bits(len(write), read_len // 2) / self.bus_hz)
            self._advance(clock.monotonic())
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (NACK mid-read from 0x{self.address:02X})")
        before = self._words(self._pointer, n_words).astype(">u2").tobytes()[:read_len]
        clock.sleep(self._bits(len(write), read_len) / self.bus_hz)
        completed = self._advance(clock.monotonic())
        data = before
        if completed:  # bytes clocked out after the subpage landed come from the new data
            header = self._bits(len(write), 0) + 1 + 9
            k = math.ceil(((completed[0] - start) * self.bus_hz - header) / 9)
            k = max(0, min(read_len, k + (k & 1)))  # words are latched whole
            after = self._words(self._pointer, n_words).astype(">u2").tobytes()[:read_len]
            data = before[:k] + after[k:]
        if self.corrupt_reads > 0:
            self.corrupt_reads -= 1
            flip = bytearray(data)
            flip[int(self._noise.integers(len(flip)))] ^= 1 << int(self._noise.integers(8))
            data = bytes(flip)
        return data


class EmulatedTransport:
    """The word-level transport `Mlx90640Sensor` uses, onto an emulated device."""

    def __init__(self, device: Mlx90640Device) -> None:
        self.device = device

    def read_words(self, address: int, count: int) -> np.ndarray:
        data = self.device.transact(bytes([address >> 8 & 0xFF, address & 0xFF]), 2 * count)
        return np.frombuffer(data, dtype=">u2").astype(np.uint16)

    def write_word(self, address: int, value: int) -> None:
        self.device.transact(bytes([address >> 8 & 0xFF, address & 0xFF, value >> 8 & 0xFF, value & 0xFF]))

    def close(self) -> None:
        """Nothing to release; present so that every transport closes the same way."""
